"""Back-office forms of reconciliation: a bank's column mapping and the statement upload."""

from datetime import datetime

from django import forms

from payments.models import ColumnMapping
from payments.reconciliation.services import MAPPING_FIELDS


class ColumnMappingForm(forms.ModelForm):
    class Meta:
        model = ColumnMapping
        fields = MAPPING_FIELDS
        labels = {
            "bank_name": "Bank",
            "date_column": "Value date column",
            "amount_column": "Signed amount column",
            "credit_column": "Credit column",
            "debit_column": "Debit column",
            "narration_column": "Narration column",
            "reference_column": "Reference column",
            "date_format": "Date format",
        }
        help_texts = {
            "amount_column": "One column with credits positive and debits negative; or leave "
            "empty and give the credit (and debit) columns.",
            "date_format": "As the bank writes dates: %d/%m/%Y for 28/04/2025, %d-%b-%Y for "
            "28-Apr-2025. ISO dates (2025-04-28) are always understood.",
            "reference_column": "Optional.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-control")

    def clean_date_format(self):
        fmt = self.cleaned_data["date_format"].strip()
        sample = datetime(2025, 4, 28)  # noqa: DTZ001 (a calendar date, no time zone)
        try:
            round_trip = datetime.strptime(sample.strftime(fmt), fmt)  # noqa: DTZ007
        except ValueError:
            round_trip = None
        if "%" not in fmt or round_trip is None or round_trip.date() != sample.date():
            raise forms.ValidationError(
                "Not a full date format: use codes such as %d (day), %m or %b (month) and "
                "%Y (year), e.g. %d/%m/%Y."
            )
        return fmt

    def clean(self):
        data = super().clean()
        amount, credit, debit = (
            data.get("amount_column"),
            data.get("credit_column"),
            data.get("debit_column"),
        )
        if amount and (credit or debit):
            raise forms.ValidationError(
                "Give either one signed amount column or credit/debit columns, not both."
            )
        if not amount and not credit:
            raise forms.ValidationError(
                "Give the signed amount column, or the credit column (and the debit column)."
            )
        return data


class UploadForm(forms.Form):
    mapping = forms.ModelChoiceField(
        queryset=ColumnMapping.objects.all(),
        label="Bank (column mapping)",
        empty_label=None,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    file = forms.FileField(
        label="Statement file (CSV or XLSX, at most 5 MB)",
        widget=forms.ClearableFileInput(
            attrs={"class": "form-control", "accept": ".csv,.xlsx,text/csv"}
        ),
    )
