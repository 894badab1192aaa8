"""The daily report: figures of one Lagos day from aggregate queries, stored once per day
(regenerating replaces), audited, and e-mailed to Finance with CSV and XLSX attached."""

import logging
from datetime import date

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from arrears.models import Bucket, PortfolioSnapshot, WriteOff, WriteOffStatus
from arrears.overdue import bucket_of
from core import audit
from core.clock import lagos_day_bounds, lagos_today, previous_lagos_day
from core.errors import DomainError
from ledger.selectors import trial_balance, unbalanced_entries
from loans.models import ApplicationHistory, ApplicationStatus, Installment, Loan, LoanStatus
from members.models import User
from members.roles import FINANCE
from payments.models import Payment, PaymentChannel, PaymentStatus
from reports import exports
from reports.models import DailyReport
from servicing.models import Restructure, RestructureStatus

logger = logging.getLogger(__name__)

APPLICATION_EVENTS = (
    ApplicationStatus.SUBMITTED,
    ApplicationStatus.APPROVED,
    ApplicationStatus.REJECTED,
    ApplicationStatus.CANCELLED,
)
# Portfolio at risk 30: outstanding principal of loans more than 30 days past due.
PAR30_BUCKETS = (Bucket.DPD_31_60, Bucket.DPD_61_90, Bucket.DPD_90_PLUS)


def application_figures(day: date) -> dict[str, int]:
    """Applications that reached each status during the day (one history row per change)."""
    start, end = lagos_day_bounds(day)
    counts = ApplicationHistory.objects.filter(created_at__gte=start, created_at__lt=end).aggregate(
        **{
            status.value: Count("application_id", filter=Q(to_status=status), distinct=True)
            for status in APPLICATION_EVENTS
        }
    )
    return {key: value or 0 for key, value in counts.items()}


def disbursement_figures(day: date) -> dict[str, int]:
    # disbursed_on is the Lagos day of the payout (indexed).
    figures = Loan.objects.filter(disbursed_on=day).aggregate(
        count=Count("pk"),
        principal=Sum("principal", default=0),
        paid_out=Sum("disbursed_amount", default=0),
    )
    return figures


def collection_figures(day: date) -> dict:
    """Successful payments received during the day, in total and by channel."""
    start, end = lagos_day_bounds(day)
    rows = (
        Payment.objects.filter(
            status=PaymentStatus.SUCCESSFUL, received_at__gte=start, received_at__lt=end
        )
        .exclude(channel=PaymentChannel.CREDIT)  # money we already held: not collected today
        .values("channel")
        .annotate(count=Count("pk"), amount=Sum("amount"))
        .order_by()
    )
    by_channel = {
        channel.value: {"count": 0, "amount": 0}
        for channel in PaymentChannel
        if channel != PaymentChannel.CREDIT
    }
    for row in rows:  # one row per channel (at most four), not per payment
        by_channel[row["channel"]] = {"count": row["count"], "amount": row["amount"]}
    return {
        "count": sum(c["count"] for c in by_channel.values()),
        "amount": sum(c["amount"] for c in by_channel.values()),
        "by_channel": by_channel,
    }


def par_figures(day: date) -> dict | None:
    """The day's snapshot from the overdue run, or None when there is none."""
    rows = PortfolioSnapshot.objects.filter(snapshot_date=day).values(
        "bucket", "loans", "outstanding_principal"
    )
    buckets = {
        row["bucket"]: {
            "loans": row["loans"],
            "outstanding_principal": row["outstanding_principal"],
        }
        for row in rows  # five buckets
    }
    if not buckets:
        return None
    for bucket in Bucket:
        buckets.setdefault(bucket.value, {"loans": 0, "outstanding_principal": 0})
    return {
        "buckets": {b.value: buckets[b.value] for b in Bucket},
        "total_outstanding": sum(b["outstanding_principal"] for b in buckets.values()),
        "par30_outstanding": sum(buckets[b.value]["outstanding_principal"] for b in PAR30_BUCKETS),
    }


def restructured_figures(day: date) -> dict:
    """Restructured loans reported apart (hardship: new terms): those approved during the day,
    and the active restructured loans per arrears bucket on ``day`` (computed when the report
    is made, from each loan's oldest overdue date), with their PAR30."""
    start, end = lagos_day_bounds(day)
    approved = Restructure.objects.filter(
        status=RestructureStatus.APPROVED, decided_at__gte=start, decided_at__lt=end
    ).count()
    rows = (
        Installment.objects.filter(
            loan__status=LoanStatus.ACTIVE, loan__restructured_at__isnull=False
        )
        .annotate(bucket=bucket_of("loan__arrears_since", day))
        .values("bucket")
        .annotate(
            loans=Count("loan_id", distinct=True),
            principal=Sum(F("principal") - F("paid_principal")),
        )
        .order_by()
    )
    buckets = {b.value: {"loans": 0, "outstanding_principal": 0} for b in Bucket}
    for row in rows:  # at most five buckets
        buckets[row["bucket"]] = {
            "loans": row["loans"],
            "outstanding_principal": row["principal"] or 0,
        }
    return {
        "approved_today": approved,
        "loans": sum(b["loans"] for b in buckets.values()),
        "outstanding_principal": sum(b["outstanding_principal"] for b in buckets.values()),
        "buckets": buckets,
        "par30_outstanding": sum(buckets[b.value]["outstanding_principal"] for b in PAR30_BUCKETS),
    }


def write_off_figures(day: date) -> dict[str, int]:
    start, end = lagos_day_bounds(day)
    return WriteOff.objects.filter(
        status=WriteOffStatus.APPROVED, decided_at__gte=start, decided_at__lt=end
    ).aggregate(count=Count("pk"), amount=Sum("amount", default=0))


def ledger_figures() -> dict:
    """The trial balance when the report is generated (the ledger as a whole, not the day)."""
    balance = trial_balance()
    unbalanced = len(unbalanced_entries())
    return {
        "balanced": balance["balanced"] and unbalanced == 0,
        "total_debit": balance["total_debit"],
        "total_credit": balance["total_credit"],
        "unbalanced_entries": unbalanced,
    }


def daily_figures(day: date) -> dict:
    """Every figure of the report; counts and kobo amounts are integers (JSON-safe)."""
    return {
        "date": day.isoformat(),
        "applications": application_figures(day),
        "disbursed": disbursement_figures(day),
        "collections": collection_figures(day),
        "par": par_figures(day),
        "restructured": restructured_figures(day),
        "write_offs": write_off_figures(day),
        "ledger": ledger_figures(),
    }


@transaction.atomic
def generate_daily_report(*, report_date: date, actor=None) -> DailyReport:
    """Compute and store the report of a finished Lagos day; a second run replaces it."""
    if report_date >= lagos_today():
        raise DomainError(
            f"The report for {report_date:%d %b %Y} can only be made once that Lagos day is over."
        )
    figures = daily_figures(report_date)
    report, created = DailyReport.objects.update_or_create(
        report_date=report_date,
        defaults={"figures": figures, "generated_at": timezone.now()},
    )
    audit.record(
        actor=actor,
        action="report.daily_generated" if created else "report.daily_regenerated",
        obj=report,
        changes={"report_date": report_date.isoformat()},
    )
    return report


def finance_recipients() -> list[str]:
    """Active Finance staff, plus any extra addresses from FINANCE_REPORT_EMAILS."""
    staff = User.objects.filter(is_active=True, is_staff=True, groups__name=FINANCE).values_list(
        "email", flat=True
    )
    addresses = dict.fromkeys([*staff, *settings.FINANCE_REPORT_EMAILS])
    return [a for a in addresses if a]


def send_daily_report(*, report: DailyReport) -> int:
    """E-mail the report to Finance with both files attached; returns the number of recipients."""

    recipients = finance_recipients()
    if not recipients:
        logger.warning("daily report not e-mailed: no finance recipients")
        return 0
    context = {
        "report": report,
        "rows": exports.report_rows(report.figures),
        "reports_url": settings.SITE_URL.rstrip("/") + reverse("reports:list"),
    }
    stem = f"allaweeplus-daily-{report.report_date:%Y-%m-%d}"
    message = EmailMultiAlternatives(
        subject=f"[AllaweePlus] Daily report {report.report_date:%d %b %Y}",
        body=render_to_string("reports/email/daily_report.txt", context),
        to=recipients,
    )
    message.attach(f"{stem}.csv", exports.report_csv(report), "text/csv")
    message.attach(f"{stem}.xlsx", exports.report_xlsx(report), exports.XLSX_CONTENT_TYPE)
    message.send()
    DailyReport.objects.filter(pk=report.pk).update(emailed_at=timezone.now())
    logger.info("daily report e-mailed", extra={"event": "report.daily_emailed"})
    return len(recipients)


def run_daily_report(*, report_date: date | None = None, email: bool = True) -> DailyReport:
    """Generate (yesterday in Lagos by default) and, once committed, e-mail the report."""

    report = generate_daily_report(report_date=report_date or previous_lagos_day())
    if email:
        send_daily_report(report=report)
    return report
