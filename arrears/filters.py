import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q

from arrears.models import Bucket
from arrears.selectors import bucket_dates
from core.clock import lagos_today
from core.forms import QuickSelect
from loans.filters import product_choices
from members.validators import STATE_CHOICES

IN_ARREARS = [(value, label) for value, label in Bucket.choices if value != Bucket.CURRENT]


class CollectionsFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search",
        label="Search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Loan reference or name"}),
    )
    bucket = django_filters.ChoiceFilter(
        widget=QuickSelect, choices=IN_ARREARS, method="in_bucket", label="Days past due"
    )
    deployment_state = django_filters.ChoiceFilter(
        widget=QuickSelect,
        field_name="application__deployment_state",
        choices=STATE_CHOICES,
        label="State",
    )
    product = django_filters.ChoiceFilter(
        widget=QuickSelect, choices=product_choices, field_name="product_id"
    )
    officer = django_filters.ModelChoiceFilter(
        widget=QuickSelect,
        queryset=get_user_model().objects.filter(is_staff=True).order_by("email"),
        label="Officer",
    )

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(reference=value.upper()) | Q(application__applicant_name__icontains=value)
        )

    def in_bucket(self, queryset, name, value):
        earliest, latest = bucket_dates(value, lagos_today())
        queryset = queryset.filter(arrears_since__lte=latest)
        return queryset.filter(arrears_since__gte=earliest) if earliest else queryset
