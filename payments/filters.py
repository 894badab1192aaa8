import django_filters
from django.db.models import Q

from core.filters import DateFilter
from core.forms import QuickSelect
from loans.models import Loan
from payments.models import Payment, PaymentChannel, PaymentStatus


class PaymentFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Reference")
    status = django_filters.ChoiceFilter(widget=QuickSelect, choices=PaymentStatus.choices)
    channel = django_filters.ChoiceFilter(widget=QuickSelect, choices=PaymentChannel.choices)
    loan = django_filters.CharFilter(field_name="loan__reference", label="Loan reference")
    received_from = DateFilter(field_name="created_at", lookup_expr="date__gte")
    received_to = DateFilter(field_name="created_at", lookup_expr="date__lte")

    class Meta:
        model = Payment
        fields = ["q", "status", "channel", "loan", "received_from", "received_to"]

    def search(self, queryset, name, value):
        term = (value or "").strip()
        if not term:
            return queryset
        return queryset.filter(Q(reference=term) | Q(loan__reference=term.upper()))


class DisbursementQueueFilter(django_filters.FilterSet):
    reference = django_filters.CharFilter(method="by_reference", label="Loan reference")

    class Meta:
        model = Loan
        fields = ["reference"]

    def by_reference(self, queryset, name, value):
        # References are stored upper case: an exact match uses the unique index.
        return queryset.filter(reference=value.strip().upper()) if value.strip() else queryset
