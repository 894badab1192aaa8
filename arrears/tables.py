import django_tables2 as tables
from django.urls import reverse

from arrears.models import Bucket
from arrears.selectors import bucket_for
from core.clock import lagos_today
from core.money import format_naira
from core.table_render import LocalDateColumn, LocalDateTimeColumn
from loans.models import Loan


class CollectionsTable(tables.Table):
    reference = tables.Column(
        verbose_name="Loan",
        linkify=lambda record: reverse("arrears:loan", args=[record.reference]),
        order_by=("reference",),
    )
    applicant = tables.Column(
        accessor="application__applicant_name", verbose_name="Member", orderable=False
    )
    state = tables.Column(
        accessor="application__deployment_state", verbose_name="State", orderable=False
    )
    product = tables.Column(accessor="product__name", orderable=False)
    officer = tables.Column(accessor="officer__email", orderable=False, default="—")
    days_past_due = tables.Column(
        accessor="arrears_since", verbose_name="Days past due", order_by=("-arrears_since", "-id")
    )
    bucket = tables.Column(accessor="arrears_since", verbose_name="Bucket", orderable=False)
    overdue_amount = tables.Column(
        verbose_name="Overdue", orderable=False, attrs={"td": {"class": "text-end"}}
    )
    last_contact_at = LocalDateTimeColumn(
        verbose_name="Last contact", format="d M H:i", orderable=False, default="never"
    )
    promise_date = LocalDateColumn(
        verbose_name="Promised for", format="d M Y", orderable=False, default="—"
    )

    class Meta:
        model = Loan
        fields = ()
        sequence = (
            "reference",
            "applicant",
            "state",
            "product",
            "officer",
            "days_past_due",
            "bucket",
            "overdue_amount",
            "last_contact_at",
            "promise_date",
        )
        order_by = ("-days_past_due",)

    def render_days_past_due(self, value):
        return (lagos_today() - value).days

    def render_bucket(self, value):
        return Bucket(bucket_for((lagos_today() - value).days)).label

    def render_overdue_amount(self, value):
        return format_naira(value or 0)
