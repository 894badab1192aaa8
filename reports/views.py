from datetime import date

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache

from core import audit
from core.db_router import iterate_from_replica, reading_from_replica
from core.permissions import StaffPermissionRequiredMixin, staff_perm_required
from core.tables import HtmxTableView
from reports import exports
from reports.forms import RangeExportForm
from reports.models import DailyReport
from reports.selectors import dashboard_for
from reports.tables import DailyReportFilter, DailyReportTable

VIEW_REPORTS = "reports.view_dailyreport"


def home(request):
    if not request.user.is_authenticated:
        return render(request, "portal/home.html")
    if request.user.is_staff:
        return redirect("backoffice")
    return redirect("members:dashboard")


@never_cache
@login_required
def backoffice(request):
    if not request.user.is_staff:
        raise PermissionDenied("The back office is for staff.")
    # Figures come from a shared cache entry; never cache this page itself (per-user menu).
    return render(request, "portal/backoffice.html", {"dashboard": dashboard_for(request.user)})


class ReportListView(StaffPermissionRequiredMixin, HtmxTableView):
    permission_required = (VIEW_REPORTS,)
    table_class = DailyReportTable
    filterset_class = DailyReportFilter
    template_name = "reports/report_list.html"
    page_title = "Daily reports"

    def get_queryset(self):
        return DailyReport.objects.all()

    def get(self, request, *args, **kwargs):
        with reading_from_replica():
            response = super().get(request, *args, **kwargs)
            # Rendered here: a template response left lazy would run the table's query
            # after this block, on the primary.
            return response.render()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["export_form"] = RangeExportForm()
        return context


def _report_for(day: str) -> DailyReport:
    try:
        report_date = date.fromisoformat(day)
    except ValueError:
        raise Http404("No such day.") from None
    return get_object_or_404(DailyReport, report_date=report_date)


@staff_perm_required(VIEW_REPORTS)
def download_report(request, day: str, fmt: str):
    with reading_from_replica():
        report = _report_for(day)
        if fmt == "csv":
            body, content_type = exports.report_csv(report), "text/csv; charset=utf-8"
        else:
            body, content_type = exports.report_xlsx(report), exports.XLSX_CONTENT_TYPE
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="allaweeplus-daily-{report.report_date:%Y-%m-%d}.{fmt}"'
    )
    return response


@staff_perm_required(VIEW_REPORTS)
def export_range(request):
    """A date range as CSV, streamed row by row: a year of payments never sits in memory."""
    if not request.GET:
        return render(request, "reports/export.html", {"form": RangeExportForm()})
    form = RangeExportForm(request.GET)
    if not form.is_valid():
        return render(request, "reports/export.html", {"form": form}, status=400)
    kind, start, end = (form.cleaned_data[k] for k in ("kind", "start", "end"))
    audit.record(
        actor=request.user,
        action="report.exported",
        changes={"kind": kind, "start": start.isoformat(), "end": end.isoformat()},
    )
    response = StreamingHttpResponse(
        iterate_from_replica(exports.range_export_lines(kind, start, end)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="allaweeplus-{kind}-{start:%Y%m%d}-{end:%Y%m%d}.csv"'
    )
    return response
