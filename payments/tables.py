import django_tables2 as tables
from django.urls import reverse

from core.money import format_naira
from core.table_render import LocalDateTimeColumn


class DisbursementQueueTable(tables.Table):
    reference = tables.Column(
        linkify=lambda record: reverse("payments:staff_loan", args=[record.reference])
    )
    member = tables.Column(accessor="member__full_name", verbose_name="Member", orderable=False)
    disbursed_amount = tables.Column(verbose_name="Pay out", orderable=False)
    account = tables.Column(
        accessor="member__account_name_confirmed", verbose_name="Account", orderable=False
    )
    approved_at = LocalDateTimeColumn(format="d M Y H:i", orderable=False)

    class Meta:
        fields = ("reference", "member", "disbursed_amount", "account", "approved_at")

    def render_disbursed_amount(self, value):
        return format_naira(value)

    def render_account(self, value):
        return "confirmed" if value else "needs check"
