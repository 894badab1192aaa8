from django import forms

from core.forms import REASON_MIN_LENGTH, NairaField
from servicing.models import WaiverComponent


class WaiverForm(forms.Form):
    """A waiver as staff type it: what, how much in naira (``core.money``), and why."""

    component = forms.ChoiceField(
        choices=WaiverComponent.choices,
        label="What to waive",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    amount = NairaField(
        min_kobo=1,
        label="Amount to waive (₦)",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "class": "form-control"}),
    )
    reason = forms.CharField(
        min_length=REASON_MIN_LENGTH,
        max_length=2000,
        label="Reason (kept in the loan's history)",
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
        error_messages={
            "required": "Give the reason.",
            "min_length": f"Give the reason in at least {REASON_MIN_LENGTH} characters.",
        },
    )


class WaiverDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Refuse")])
    note = forms.CharField(required=False, max_length=2000)
