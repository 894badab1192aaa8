from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from core.forms import DateInput, NairaField
from members.banks import BANK_CHOICES
from members.models import DocumentKind, Member
from members.service_year import service_dates
from members.validators import (
    STATE_CHOICES,
    normalise_phone,
    parse_state_code,
    validate_bvn,
    validate_nuban,
)

MIN_AGE, MAX_AGE = 18, 35


def _age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


class WriteOnlyTextInput(forms.TextInput):
    """Visible while typed, never sent back: a refused form must not put the BVN into the
    page (browser cache, history, screenshots); the member types it again."""

    def format_value(self, value):
        return None


class MemberProfileForm(forms.Form):
    """The KYC profile. Validation only; ``members.services.update_member_profile`` saves."""

    full_name = forms.CharField(max_length=150, help_text="As on your BVN and bank account.")
    date_of_birth = forms.DateField(widget=DateInput)
    phone = forms.CharField(
        max_length=20,
        help_text="Nigerian mobile number, e.g. 0803 123 4567.",
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    bvn = forms.CharField(
        label="BVN",
        max_length=11,
        min_length=11,
        required=False,
        help_text="11 digits. Stored encrypted; shown only as its last 4 digits.",
        widget=WriteOnlyTextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    state_code = forms.CharField(
        label="NYSC state code", max_length=20, help_text="e.g. LA/23A/1234"
    )
    deployment_state = forms.ChoiceField(
        choices=[("", "—")] + list(STATE_CHOICES),
        required=False,
        help_text="Taken from your state code if left empty.",
    )
    ppa_name = forms.CharField(label="Place of primary assignment (PPA)", max_length=200)
    service_start = forms.DateField(
        widget=DateInput,
        required=False,
        help_text="We use your batch's NYSC calendar; type a date only if your call-up "
        "letter says otherwise.",
    )
    monthly_allowance = NairaField(
        label="Monthly allowance (₦)", min_kobo=0, max_kobo=10_000_000_00, initial=77_000_00
    )
    other_income = NairaField(
        label="Other monthly income (₦)", required=False, min_kobo=0, max_kobo=10_000_000_00
    )
    bank_code = forms.ChoiceField(
        label="Bank", choices=[("", "Choose your bank")] + list(BANK_CHOICES)
    )
    account_number = forms.CharField(
        label="Account number (NUBAN)",
        max_length=10,
        min_length=10,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )

    def __init__(self, *args, member: Member, today: date | None = None, **kwargs):
        self.member = member
        self.today = today or timezone.localdate()
        if "initial" not in kwargs:
            kwargs["initial"] = self.initial_from(member)
        super().__init__(*args, **kwargs)
        self.fields["bvn"].required = not member.bvn_hash
        if member.bvn_last4:
            self.fields["bvn"].help_text = f"On file: {member.bvn_masked}. Leave empty to keep it."
        for name, field in self.fields.items():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)
            if field.help_text:
                field.widget.attrs["aria-describedby"] = f"id_{name}_helptext"

    def _post_clean(self):
        super()._post_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = widget.attrs.get("class", "") + " is-invalid"
                widget.attrs["aria-invalid"] = "true"

    @staticmethod
    def initial_from(member: Member) -> dict:
        return {
            "full_name": member.full_name,
            "date_of_birth": member.date_of_birth,
            "phone": member.phone,
            "state_code": member.state_code,
            "deployment_state": member.deployment_state,
            "ppa_name": member.ppa_name,
            "service_start": member.service_start,
            "monthly_allowance": member.monthly_allowance,
            "other_income": member.other_income,
            "bank_code": member.bank_code,
            "account_number": member.account_number,
        }

    def clean_full_name(self):
        name = " ".join(self.cleaned_data["full_name"].split())
        if len(name.split(" ")) < 2:
            raise ValidationError("Enter your first name and surname.", code="incomplete")
        return name

    def clean_date_of_birth(self):
        born = self.cleaned_data["date_of_birth"]
        age = _age_on(born, self.today)
        if not MIN_AGE <= age <= MAX_AGE:
            raise ValidationError(
                f"Corps members are between {MIN_AGE} and {MAX_AGE}; check your date of birth.",
                code="age",
            )
        return born

    def clean_phone(self):
        return normalise_phone(self.cleaned_data["phone"])

    def clean_bvn(self):
        value = self.cleaned_data.get("bvn", "")
        if not value:
            return ""
        return validate_bvn(value)

    def clean_state_code(self):
        code = parse_state_code(self.cleaned_data["state_code"])
        self.parsed_state_code = code
        return str(code)

    def clean_account_number(self):
        value = self.cleaned_data["account_number"].strip()
        if not value.isdigit():
            raise ValidationError("An account number is 10 digits.", code="invalid")
        return value

    def clean(self):
        data = super().clean()
        bank, account = data.get("bank_code"), data.get("account_number")
        if bank and account:
            try:
                validate_nuban(account, bank)
            except ValidationError as exc:
                self.add_error("account_number", exc)
        code = getattr(self, "parsed_state_code", None)
        if code is not None:
            if not data.get("deployment_state"):
                data["deployment_state"] = code.state
            self._apply_service_dates(data, code)
        if data.get("other_income") is None:
            data["other_income"] = 0
        return data

    def _apply_service_dates(self, data: dict, code) -> None:
        """The dates come from the batch's calendar entry, never from a typed date: one that
        disagrees is kept as the member's claim for the officer. With no calendar entry
        nothing is guessed (applications say why they cannot go ahead)."""
        dates = service_dates(code, data.get("service_start"))
        self.service_dates = dates
        data["service_batch"] = dates.batch
        data["claimed_service_start"] = dates.claimed_start
        data["service_start"] = dates.start
        member = self.member
        # A passing-out staff moved (an extension) stays while the batch is the same.
        same_batch = dates.batch is not None and member.service_batch_id == dates.batch.pk
        data["passing_out"] = (
            member.passing_out if same_batch and member.passing_out else dates.passing_out
        )

    def identity_values(self) -> dict:
        """What ``members.lookups.identity_conflicts`` checks against other members. The
        form itself never looks other members up: that is counted and audited there."""
        return {
            key: self.cleaned_data.get(key)
            for key in ("phone", "bvn", "state_code", "bank_code", "account_number")
        }

    def profile_data(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("bvn", None)
        code = getattr(self, "parsed_state_code", None)
        if code is not None:
            data["batch"] = code.batch
            data["stream"] = code.stream
        return data


class DocumentUploadForm(forms.Form):
    kind = forms.ChoiceField(choices=DocumentKind.choices, label="Document")
    file = forms.FileField(help_text="PDF, JPEG or PNG, up to 5 MB.")


class KycRejectForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
        min_length=5,
        max_length=1000,
        help_text="Shown to the member.",
    )
