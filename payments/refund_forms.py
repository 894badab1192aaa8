"""Forms of the refund and suspense pages (amounts in naira, cleaned to kobo)."""

from django import forms

from core.forms import NairaField
from members.banks import BANK_CHOICES


class CreditRefundForm(forms.Form):
    amount = NairaField(
        label="Amount to refund (₦)",
        min_kobo=1,
        widget=forms.TextInput(
            attrs={"class": "form-control", "inputmode": "decimal", "autocomplete": "off"}
        ),
    )


class AssignForm(forms.Form):
    loan_reference = forms.CharField(
        label="Loan reference",
        max_length=20,
        widget=forms.TextInput(
            attrs={"class": "form-control form-control-sm", "autocomplete": "off"}
        ),
    )


class SuspenseRefundForm(forms.Form):
    bank_code = forms.ChoiceField(
        label="Sender's bank",
        choices=[("", "Choose the bank"), *BANK_CHOICES],
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    account_number = forms.CharField(
        label="Sender's account number",
        max_length=12,
        widget=forms.TextInput(
            attrs={"class": "form-control form-control-sm", "inputmode": "numeric"}
        ),
    )
    account_name = forms.CharField(
        label="Account holder's name",
        max_length=150,
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}),
    )
    reason = forms.CharField(
        label="Why it goes back",
        min_length=5,
        max_length=500,
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}),
    )


class RejectForm(forms.Form):
    reason = forms.CharField(
        label="Reason to reject",
        min_length=5,
        max_length=500,
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}),
    )
