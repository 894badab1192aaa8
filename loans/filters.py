import django_filters
from django import forms
from django.db.models import Q

from core.filters import DateFilter, LocalDayFilter
from core.forms import NairaField, QuickSelect
from loans.models import Application, ApplicationStatus, Loan, LoanProduct, LoanStatus
from loans.selectors import cached_active_products, search_applications
from members.validators import STATE_CHOICES


def product_choices():
    """From the products cache: no query (and no server-side cursor) per page view."""
    return [(str(p.pk), p.name) for p in cached_active_products()]


class NairaFilter(django_filters.Filter):
    field_class = NairaField


class ApplicationFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search",
        label="Search",
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Reference, name, phone, state code"}
        ),
    )
    status = django_filters.ChoiceFilter(widget=QuickSelect, choices=ApplicationStatus.choices)
    product = django_filters.ChoiceFilter(
        widget=QuickSelect, choices=product_choices, field_name="product_id"
    )
    deployment_state = django_filters.ChoiceFilter(
        widget=QuickSelect, choices=STATE_CHOICES, label="State"
    )
    submitted_from = LocalDayFilter(field_name="created_at", label="From")
    submitted_to = LocalDayFilter(field_name="created_at", label="To", until=True)
    amount_min = NairaFilter(field_name="amount", lookup_expr="gte", label="Amount from (₦)")
    amount_max = NairaFilter(field_name="amount", lookup_expr="lte", label="Amount to (₦)")
    flagged = django_filters.BooleanFilter(
        field_name="is_flagged",
        label="Flagged",
        widget=QuickSelect(choices=[("", "Any"), ("true", "Flagged"), ("false", "Not flagged")]),
    )

    class Meta:
        model = Application
        fields = [
            "q",
            "status",
            "product",
            "deployment_state",
            "submitted_from",
            "submitted_to",
            "amount_min",
            "amount_max",
            "flagged",
        ]

    def search(self, queryset, name, value):
        return search_applications(queryset, value)


class LoanFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Reference")
    status = django_filters.ChoiceFilter(widget=QuickSelect, choices=LoanStatus.choices)
    product = django_filters.ModelChoiceFilter(
        widget=QuickSelect, queryset=LoanProduct.objects.all()
    )
    state = django_filters.ChoiceFilter(
        widget=QuickSelect,
        field_name="application__deployment_state",
        choices=STATE_CHOICES,
        label="State",
    )
    disbursed_from = DateFilter(field_name="disbursed_on", lookup_expr="gte")
    disbursed_to = DateFilter(field_name="disbursed_on", lookup_expr="lte")
    created_from = DateFilter(field_name="created_at", lookup_expr="date__gte")
    created_to = DateFilter(field_name="created_at", lookup_expr="date__lte")

    class Meta:
        model = Loan
        fields = [
            "q",
            "status",
            "product",
            "state",
            "disbursed_from",
            "disbursed_to",
            "created_from",
            "created_to",
        ]

    def search(self, queryset, name, value):
        term = (value or "").strip().upper()
        if not term:
            return queryset
        return queryset.filter(Q(reference=term) | Q(application__reference=term))
