"""Filters shared by the back-office tables (and the API's filters, which run the same
FilterSets).

Every value here comes from a query string, so each filter's field refuses what the database
or the date arithmetic behind it cannot take, as a form error: a date outside
``FILTER_DATES`` (``9999-12-31`` plus a day, or ``0001-01-01`` in Lagos converted to UTC,
overflowed into 500s) and an id that is not 1 to 2**63 - 1 written in ASCII digits (a
``NumberFilter`` is a ``DecimalField``, which read ``1e999999`` and handed it to the
database)."""

import re
from datetime import date, datetime, time, timedelta

import django_filters
from django import forms
from django.utils import timezone

# Wider than any date this lender has or will have, narrow enough that a day either side is
# still a date and a Lagos midnight is still a UTC instant.
FILTER_DATES = (date(1900, 1, 1), date(2999, 12, 31))
MAX_ID = 2**63 - 1
_ASCII_ID = re.compile(r"[0-9]{1,19}", re.ASCII)


# Old ``?page=N`` links: a page number is ASCII digits, at most this many pages deep (an
# OFFSET reads everything before it); anything else is page 1.
MAX_PAGE_NUMBER = 100_000
_PAGE_NUMBER = re.compile(r"[1-9][0-9]{0,5}", re.ASCII)


def query_id(value) -> int | None:
    """A database id read from a query string (``?statement=12``), or None: ASCII digits,
    1 to 2**63 - 1. ``str.isdigit()`` is no test (``"١٢٣".isdigit()`` is true) and an
    unchecked id of 400 digits overflows in the query."""
    if not isinstance(value, str) or not _ASCII_ID.fullmatch(value):
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None


def query_page_number(value) -> int:
    """A page number read from a query string; 1 for anything that is not one."""
    if not isinstance(value, str) or not _PAGE_NUMBER.fullmatch(value):
        return 1
    return min(int(value), MAX_PAGE_NUMBER)


class FilterDateField(forms.DateField):
    """A date typed into a filter, inside ``FILTER_DATES``."""

    def to_python(self, value):
        day = super().to_python(value)
        if day is not None and not FILTER_DATES[0] <= day <= FILTER_DATES[1]:
            first, last = FILTER_DATES
            raise forms.ValidationError(
                f"Enter a date between {first:%d/%m/%Y} and {last:%d/%m/%Y}.", code="out_of_range"
            )
        return day


class IdField(forms.IntegerField):
    """A database id typed into a filter: ASCII digits only, 1 to 2**63 - 1."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)

    def to_python(self, value):
        if isinstance(value, str) and value.strip() and not _ASCII_ID.fullmatch(value.strip()):
            raise forms.ValidationError("Enter an id: the digits 0–9 only.", code="invalid")
        return super().to_python(value)


class DateFilter(django_filters.DateFilter):
    field_class = FilterDateField


class IdFilter(django_filters.NumberFilter):
    field_class = IdField


class LocalDayFilter(DateFilter):
    """A date typed by staff (Lagos) compared with a timestamp column as a range of instants:
    ``created_at >= 2026-03-01 00:00 Lagos``, which an index on the column serves. Django's
    ``created_at__date__gte`` converts every row's timestamp instead (no index)."""

    def __init__(self, *, until: bool = False, **kwargs):
        self.until = until
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}))
        super().__init__(**kwargs)

    def filter(self, qs, value):
        if not value:
            return qs
        day = value + timedelta(days=1) if self.until else value
        instant = timezone.make_aware(datetime.combine(day, time.min))
        lookup = "lt" if self.until else "gte"
        return qs.filter(**{f"{self.field_name}__{lookup}": instant})
