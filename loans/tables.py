import django_tables2 as tables
from django.utils.html import format_html

from core.money import format_naira
from core.table_render import LocalDateTimeColumn
from loans.models import Application


class ApplicationTable(tables.Table):
    reference = tables.Column(
        linkify=lambda record: record.get_staff_url(), order_by=("reference",)
    )
    applicant_name = tables.Column(verbose_name="Applicant", order_by=("applicant_name", "id"))
    product = tables.Column(accessor="product__name", orderable=False)
    amount = tables.Column(order_by=("amount", "id"), attrs={"td": {"class": "text-end"}})
    tenure_months = tables.Column(verbose_name="Months", orderable=False)
    deployment_state = tables.Column(verbose_name="State", orderable=False)
    status = tables.Column(order_by=("status", "-created_at"))
    recommendation = tables.Column(verbose_name="Assessment", orderable=False)
    created_at = LocalDateTimeColumn(
        format="d M Y H:i", verbose_name="Submitted", order_by=("created_at", "id")
    )

    class Meta:
        model = Application
        fields = (
            "reference",
            "applicant_name",
            "product",
            "amount",
            "tenure_months",
            "deployment_state",
            "status",
            "recommendation",
            "created_at",
        )
        order_by = ("-created_at",)

    def render_amount(self, value):
        return format_naira(value)

    def render_recommendation(self, value, record):
        flag = (
            format_html(' <span class="badge bg-warning text-dark">{}</span>', "flagged")
            if record.is_flagged
            else ""
        )
        return format_html("{}{}", record.get_recommendation_display() or "—", flag)

    def render_status(self, value, record):
        return record.get_status_display()
