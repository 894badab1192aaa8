import django_filters
import django_tables2 as tables
from django.utils.html import format_html

from core.money import format_naira
from core.table_render import LocalDateColumn, LocalDateTimeColumn
from reports.models import DailyReport


class DailyReportFilter(django_filters.FilterSet):
    report_date = django_filters.DateFromToRangeFilter(
        label="Lagos day (from – to)",
        widget=django_filters.widgets.DateRangeWidget(attrs={"type": "date"}),
    )

    class Meta:
        model = DailyReport
        fields = ["report_date"]


class DailyReportTable(tables.Table):
    report_date = LocalDateColumn(format="D j M Y", verbose_name="Lagos day")
    submitted = tables.Column(
        accessor="figures__applications__submitted", verbose_name="Submitted", orderable=False
    )
    disbursed = tables.Column(
        accessor="figures__disbursed__paid_out", verbose_name="Paid out", orderable=False
    )
    collected = tables.Column(
        accessor="figures__collections__amount", verbose_name="Collected", orderable=False
    )
    balanced = tables.Column(
        accessor="figures__ledger__balanced", verbose_name="Ledger balanced", orderable=False
    )
    generated_at = LocalDateTimeColumn(format="j M Y H:i", orderable=False)
    downloads = tables.TemplateColumn(
        template_name="reports/_download_links.html", verbose_name="Download", orderable=False
    )

    class Meta:
        model = DailyReport
        fields = ("report_date", "submitted", "disbursed", "collected", "balanced", "generated_at")
        order_by = ("-report_date",)

    def render_disbursed(self, value):
        return format_naira(value)

    def render_collected(self, value):
        return format_naira(value)

    def render_balanced(self, value):
        return "yes" if value else format_html("<strong class='text-danger'>{}</strong>", "NO")
