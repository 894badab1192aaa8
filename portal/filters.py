"""Filters shared by the back-office tables."""

from datetime import datetime, time, timedelta

import django_filters
from django import forms
from django.utils import timezone


class LocalDayFilter(django_filters.DateFilter):
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
