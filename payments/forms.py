from django import forms

from core.forms import NairaField


class PayForm(forms.Form):
    amount = NairaField(
        label="Amount to pay (₦)",
        min_kobo=1,
        widget=forms.TextInput(attrs={"class": "form-control", "inputmode": "decimal"}),
    )


class ManualPaymentForm(forms.Form):
    amount = NairaField(
        label="Amount (₦)", min_kobo=1, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    reason = forms.CharField(
        min_length=5, max_length=500, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    evidence = forms.CharField(
        label="Evidence (bank or receipt reference)",
        max_length=200,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )


class BankReferenceForm(forms.Form):
    bank_reference = forms.CharField(
        min_length=6, max_length=80, widget=forms.TextInput(attrs={"class": "form-control"})
    )
