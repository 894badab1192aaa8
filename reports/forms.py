from datetime import timedelta

from django import forms

from reports.exports import RANGE_EXPORTS

MAX_RANGE_DAYS = 366


class RangeExportForm(forms.Form):
    kind = forms.ChoiceField(
        label="What", choices=[(k, label) for k, (label, _h, _r) in RANGE_EXPORTS.items()]
    )
    start = forms.DateField(
        label="From (Lagos day)", widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(label="To (Lagos day)", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if start > end:
                raise forms.ValidationError("The start date must be on or before the end date.")
            if end - start >= timedelta(days=MAX_RANGE_DAYS):
                raise forms.ValidationError(
                    f"Export at most {MAX_RANGE_DAYS} days at a time; split a longer range."
                )
        return cleaned
