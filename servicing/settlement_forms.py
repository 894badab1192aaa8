"""Forms of the settlement, prepayment and credit pages (amounts in naira, parsed to kobo)."""

from django import forms

from core.forms import NairaField
from loans.reschedule import MODE_LABELS


class QuoteDateForm(forms.Form):
    on = forms.DateField(
        label="Settle on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}),
        help_text="Today or a day in the next 30 days.",
    )


class PrepaymentForm(forms.Form):
    amount = NairaField(
        label="Amount to pay now (₦)",
        min_kobo=1,
        widget=forms.TextInput(attrs={"class": "form-control", "inputmode": "decimal"}),
    )
    mode = forms.ChoiceField(
        label="What should the extra do?",
        choices=[(str(mode), label) for mode, label in MODE_LABELS.items()],
        widget=forms.RadioSelect,
    )
