from django import forms

from core.forms import NairaField
from loans.models import LoanProduct
from loans.selectors import active_products


class QuoteForm(forms.Form):
    """Product, amount and tenure. Validation only; the rules live in loans.eligibility."""

    product = forms.ModelChoiceField(
        queryset=LoanProduct.objects.none(),
        empty_label=None,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    amount = NairaField(
        label="Amount (₦)",
        min_kobo=1_00,
        max_kobo=100_000_000_00,
        widget=forms.TextInput(attrs={"class": "form-control", "inputmode": "decimal"}),
    )
    tenure = forms.TypedChoiceField(
        label="Repay over",
        coerce=int,
        choices=(),
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        products = active_products()
        self.fields["product"].queryset = products
        tenures = sorted({t for p in products for t in p.tenures})
        self.fields["tenure"].choices = [(t, f"{t} month{'s' if t > 1 else ''}") for t in tenures]


class ConsentForm(forms.Form):
    consent = forms.BooleanField(
        label="I have read the key facts above, including the total cost, the due dates and "
        "the late-fee rule, and I accept them.",
        error_messages={"required": "Tick the box to confirm you accept the key facts."},
    )
    key_facts_hash = forms.CharField(widget=forms.HiddenInput, max_length=64)


class ApproveForm(forms.Form):
    amount = NairaField(
        label="Approve amount (₦)",
        required=False,
        min_kobo=1_00,
        help_text="Leave empty to approve the amount asked for; you may lower it.",
        widget=forms.TextInput(attrs={"class": "form-control", "inputmode": "decimal"}),
    )
    tenure = forms.TypedChoiceField(
        label="Tenure (months)",
        coerce=int,
        required=False,
        empty_value=None,
        choices=(),
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, *args, application=None, **kwargs):
        super().__init__(*args, **kwargs)
        if application is not None:
            self.fields["tenure"].choices = [("", "As asked")] + [
                (t, f"{t}") for t in application.product.tenures if t <= application.tenure_months
            ]


class InfoRequestForm(forms.Form):
    message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
        min_length=10,
        max_length=2000,
        label="Information needed (sent to the member)",
    )


class NoteForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
        max_length=5000,
        label="Internal note",
    )
