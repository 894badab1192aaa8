from datetime import date

from django.http import Http404
from ninja import Router, Schema

from api.errors import ERROR_RESPONSES, ApiError
from core.db_router import reading_from_replica
from reports.exports import report_rows
from reports.models import DailyReport

router = Router(tags=["reports"])


class ReportLineOut(Schema):
    section: str
    figure: str
    value: str  # counts as digits, money as naira decimal strings ("150000.00")


class DailyReportOut(Schema):
    report_date: date
    generated_at: str
    lines: list[ReportLineOut]


@router.get("/reports/daily/{report_date}", response={200: DailyReportOut, **ERROR_RESPONSES})
def daily_report(request, report_date: date):
    """Finance: the stored daily report of a Lagos day, the same lines as its CSV."""
    user = request.auth
    if not (user.is_staff and user.has_perm("reports.view_dailyreport")):
        raise ApiError(403, "forbidden", "You do not have permission to read daily reports.")
    with reading_from_replica():
        report = DailyReport.objects.filter(report_date=report_date).first()
    if report is None:
        raise Http404("No report for that day")
    return {
        "report_date": report.report_date,
        "generated_at": report.generated_at.isoformat(),
        "lines": [
            {"section": section, "figure": figure, "value": str(value)}
            for section, figure, value in report_rows(report.figures)
        ],
    }
