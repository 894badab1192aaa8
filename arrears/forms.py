from django import forms

from arrears.models import ContactChannel, ContactOutcome
from core.forms import DateInput, NairaField


class StyledForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            is_select = isinstance(field.widget, forms.Select)
            css = "form-select" if is_select else "form-control"
            field.widget.attrs.setdefault("class", f"{css} form-control-sm")


class ContactForm(StyledForm):
    channel = forms.ChoiceField(choices=ContactChannel.choices, label="How")
    outcome = forms.ChoiceField(choices=ContactOutcome.choices)
    promise_date = forms.DateField(required=False, widget=DateInput, label="Promised for")
    promise_amount = NairaField(required=False, min_kobo=1, label="Promised amount (₦)")
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean(self):
        data = super().clean()
        if data.get("outcome") == ContactOutcome.PROMISED and not data.get("promise_date"):
            self.add_error("promise_date", "A promise to pay needs the date the member promised.")
        return data


class WriteOffRequestForm(StyledForm):
    reason = forms.CharField(
        min_length=20, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class DecisionForm(forms.Form):
    note = forms.CharField(required=False, max_length=2000)


class AllowanceDelayForm(StyledForm):
    starts_on = forms.DateField(widget=DateInput, label="From")
    ends_on = forms.DateField(widget=DateInput, label="To (inclusive)")
    reason = forms.CharField(min_length=10, max_length=300)
