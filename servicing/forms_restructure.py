from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator

from core.forms import REASON_MIN_LENGTH
from loans.schedule import MAX_TENURE_MONTHS
from servicing.models import ArrearsTreatment


class RestructureForm(forms.Form):
    """New terms as an officer types them: months, holiday, what happens to the arrears, why."""

    new_installments = forms.IntegerField(
        min_value=1,
        max_value=MAX_TENURE_MONTHS,
        label="Number of new monthly installments",
        widget=forms.NumberInput(attrs={"class": "form-control", "inputmode": "numeric"}),
    )
    holiday_months = forms.IntegerField(
        min_value=0,
        initial=0,
        label="Payment holiday (months with nothing to pay)",
        widget=forms.NumberInput(attrs={"class": "form-control", "inputmode": "numeric"}),
    )
    arrears_treatment = forms.ChoiceField(
        choices=ArrearsTreatment.choices,
        label="Unpaid interest and charges in arrears",
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        min_length=REASON_MIN_LENGTH,
        max_length=2000,
        label="Why the member needs new terms (kept in the loan's history)",
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
        error_messages={
            "required": "Give the reason.",
            "min_length": f"Give the reason in at least {REASON_MIN_LENGTH} characters.",
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        most = settings.RESTRUCTURE_MAX_HOLIDAY_MONTHS
        field = self.fields["holiday_months"]
        field.help_text = f"At most {most}."
        field.validators.append(MaxValueValidator(most))
        field.widget.attrs["max"] = most


class RestructureConsentForm(forms.Form):
    consent = forms.BooleanField(
        label="I have read the new key facts and accept the new terms.",
        error_messages={"required": "Tick the box to confirm you accept the new terms."},
    )
    terms_hash = forms.CharField(widget=forms.HiddenInput, max_length=64)


class RestructureDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", "Approve"), ("reject", "Refuse"), ("withdraw", "Withdraw")]
    )
    note = forms.CharField(required=False, max_length=2000)
