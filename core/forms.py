from django import forms
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

from core.money import MAX_AMOUNT_TEXT_LENGTH, MoneyError, format_naira, parse_naira


class NairaField(forms.CharField):
    """A naira amount typed by a person (``150000``, ``150,000.50``, ``₦150,000.00``) cleaned
    to int kobo by ``core.money.parse_naira``; every refusal is a form error in words.

    Also the field of the amount filters (``NairaFilter``), so a query string meets the same
    parser as a form."""

    def __init__(self, *, min_kobo: int | None = 0, max_kobo: int | None = None, **kwargs):
        self.min_kobo, self.max_kobo = min_kobo, max_kobo
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal"}))
        # CharField would strip first: whatever arrives meets the parser's length cap before
        # any other work (the parser strips what it accepts).
        kwargs["strip"] = False
        super().__init__(**kwargs)
        # The browser stops at the parser's cap; the parser checks it again.
        self.widget.attrs.setdefault("maxlength", str(MAX_AMOUNT_TEXT_LENGTH))

    def _below_minimum(self):
        return forms.ValidationError(
            f"The amount must be at least {format_naira(self.min_kobo)}.", code="min_value"
        )

    def prepare_value(self, value):
        if isinstance(value, int):
            return format_naira(value, sign=False)
        return value

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        try:
            kobo = parse_naira(value, allow_negative=self.min_kobo is None or self.min_kobo < 0)
        except MoneyError as exc:
            if exc.code == "required":  # only blanks: as empty as an empty field
                return None
            if exc.code == "negative":
                raise self._below_minimum() from None
            raise forms.ValidationError(exc.message, code=exc.code) from None
        if self.min_kobo is not None and kobo < self.min_kobo:
            raise self._below_minimum()
        if self.max_kobo is not None and kobo > self.max_kobo:
            raise forms.ValidationError(
                f"The amount must be at most {format_naira(self.max_kobo)}.", code="max_value"
            )
        return kobo


class DateInput(forms.DateInput):
    """HTML date inputs only display ISO dates, whatever the site's locale."""

    input_type = "date"

    def __init__(self, attrs=None, format="%Y-%m-%d"):  # noqa: A002 - Django's argument name
        super().__init__(attrs, format)


def _attrs_html(attrs) -> str:
    # django/forms/widgets/attrs.html
    return "".join(
        f" {conditional_escape(name)}"
        + ("" if value is True else f'="{conditional_escape(str(value))}"')
        for name, value in attrs.items()
        if value is not False
    )


class QuickSelect(forms.Select):
    """``Select`` with the markup of Django's templates, built in Python: the stock widget
    renders a template include per option, ~1.4 ms for the 37 states of a filter form, on
    every list page view. Used for the back-office filters."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        out = [
            f'<select name="{conditional_escape(widget["name"])}"{_attrs_html(widget["attrs"])}>'
        ]
        for group_name, group_choices, _index in widget["optgroups"]:
            if group_name:
                out.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
            for option in group_choices:
                out.append(
                    f'\n  <option value="{conditional_escape(str(option["value"]))}"'
                    f"{_attrs_html(option['attrs'])}>{conditional_escape(option['label'])}</option>\n"
                )  # the stock option template ends in a newline
            if group_name:
                out.append("\n  </optgroup>")
        out.append("\n</select>")
        # Every name, value and label above is escaped.
        return mark_safe("".join(out))  # noqa: S308


REASON_MIN_LENGTH = 10


class ReasonForm(forms.Form):
    """The reason a member of staff gives for a decision (rejecting an application, reversing
    a payment): at least ``REASON_MIN_LENGTH`` characters, so the audit trail says why."""

    reason = forms.CharField(
        min_length=REASON_MIN_LENGTH,
        max_length=2000,
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
        error_messages={
            "required": "Give the reason.",
            "min_length": f"Give the reason in at least {REASON_MIN_LENGTH} characters.",
        },
    )

    def __init__(self, *args, label: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if label:
            self.fields["reason"].label = label
