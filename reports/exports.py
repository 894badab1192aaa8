"""The daily report as rows (section, item, value) for people, CSV, XLSX and e-mail; and the
date-range exports, streamed row by row."""

from collections.abc import Iterator
from datetime import date

from django.db.models import F

from arrears.models import Bucket
from core.clock import LAGOS, lagos_day_bounds
from core.exports import XLSX_CONTENT_TYPE, csv_bytes, csv_lines, xlsx_bytes
from core.money import kobo_to_decimal
from payments.models import Payment, PaymentChannel, PaymentStatus
from reports.models import DailyReport

__all__ = ["XLSX_CONTENT_TYPE", "report_csv", "report_rows", "report_xlsx"]

REPORT_HEADER = ("Section", "Figure", "Value")


def naira(kobo: int):
    """Exact naira (Decimal, two places) for the files; figures stay integer kobo in JSON."""
    return kobo_to_decimal(kobo)


def report_rows(figures: dict) -> list[tuple[str, str, object]]:
    apps = figures["applications"]
    disbursed = figures["disbursed"]
    collections = figures["collections"]
    rows = [
        ("Report", "Lagos day", figures["date"]),
        ("Applications", "Submitted", apps["submitted"]),
        ("Applications", "Approved", apps["approved"]),
        ("Applications", "Rejected", apps["rejected"]),
        ("Applications", "Cancelled", apps["cancelled"]),
        ("Disbursed", "Loans", disbursed["count"]),
        ("Disbursed", "Principal (NGN)", naira(disbursed["principal"])),
        ("Disbursed", "Paid out (NGN)", naira(disbursed["paid_out"])),
        ("Collections", "Successful payments", collections["count"]),
        ("Collections", "Collected (NGN)", naira(collections["amount"])),
    ]
    for channel in PaymentChannel:
        if channel == PaymentChannel.CREDIT:
            continue
        figures_of = collections["by_channel"].get(channel.value, {"count": 0, "amount": 0})
        rows.append(("Collections", f"{channel.label}: payments", figures_of["count"]))
        rows.append(
            ("Collections", f"{channel.label}: collected (NGN)", naira(figures_of["amount"]))
        )
    par = figures["par"]
    if par is None:
        rows.append(("Portfolio at risk", "Snapshot", "no snapshot"))
    else:
        for bucket in Bucket:
            b = par["buckets"][bucket.value]
            rows.append(("Portfolio at risk", f"{bucket.label}: loans", b["loans"]))
            rows.append(
                (
                    "Portfolio at risk",
                    f"{bucket.label}: outstanding principal (NGN)",
                    naira(b["outstanding_principal"]),
                )
            )
        rows.append(
            ("Portfolio at risk", "PAR30 outstanding (NGN)", naira(par["par30_outstanding"]))
        )
    restructured = figures.get("restructured")  # reports made before restructures had none
    if restructured is not None:
        section = "Restructured loans (reported apart)"
        rows += [
            (section, "Restructures approved that day", restructured["approved_today"]),
            (section, "Active restructured loans", restructured["loans"]),
            (
                section,
                "Outstanding principal (NGN)",
                naira(restructured["outstanding_principal"]),
            ),
        ]
        for bucket in Bucket:
            b = restructured["buckets"][bucket.value]
            rows.append((section, f"{bucket.label}: loans", b["loans"]))
            rows.append(
                (
                    section,
                    f"{bucket.label}: outstanding principal (NGN)",
                    naira(b["outstanding_principal"]),
                )
            )
        rows.append((section, "PAR30 outstanding (NGN)", naira(restructured["par30_outstanding"])))
    write_offs = figures["write_offs"]
    rows += [
        ("Write-offs", "Approved", write_offs["count"]),
        ("Write-offs", "Written off (NGN)", naira(write_offs["amount"])),
        ("Ledger", "Trial balance balanced", "yes" if figures["ledger"]["balanced"] else "NO"),
        ("Ledger", "Total debits (NGN)", naira(figures["ledger"]["total_debit"])),
        ("Ledger", "Total credits (NGN)", naira(figures["ledger"]["total_credit"])),
    ]
    return rows


def report_csv(report: DailyReport) -> bytes:
    return csv_bytes(REPORT_HEADER, report_rows(report.figures))


def report_xlsx(report: DailyReport) -> bytes:
    return xlsx_bytes(
        [(f"{report.report_date:%Y-%m-%d}", REPORT_HEADER, report_rows(report.figures))]
    )


# --- Date-range exports (streamed) -----------------------------------------------------------

PAYMENTS_HEADER = (
    "Reference",
    "Received (Lagos)",
    "Channel",
    "Status",
    "Amount (NGN)",
    "Loan",
)
REPORTS_HEADER = (
    "Lagos day",
    "Submitted",
    "Approved",
    "Rejected",
    "Cancelled",
    "Disbursed loans",
    "Disbursed principal (NGN)",
    "Collected payments",
    "Collected (NGN)",
    "PAR30 outstanding (NGN)",
    "Written off (NGN)",
    "Ledger balanced",
    "Generated at (Lagos)",
)
CHUNK = 2000


def payment_rows(start: date, end: date) -> Iterator[tuple]:
    """Successful and reversed payments received in [start, end] (Lagos days), read in chunks
    by a server-side cursor on PostgreSQL."""
    since, _ = lagos_day_bounds(start)
    _, until = lagos_day_bounds(end)
    rows = (
        Payment.objects.filter(
            received_at__gte=since,
            received_at__lt=until,
            status__in=[PaymentStatus.SUCCESSFUL, PaymentStatus.REVERSED],
        )
        .order_by("received_at", "id")
        .values_list("reference", "received_at", "channel", "status", "amount", "loan__reference")
    )
    for reference, received_at, channel, status, amount, loan in rows.iterator(chunk_size=CHUNK):
        yield (
            reference,
            received_at.astimezone(LAGOS).strftime("%Y-%m-%d %H:%M:%S"),
            channel,
            status,
            naira(amount),
            loan or "",
        )


def daily_report_rows(start: date, end: date) -> Iterator[tuple]:
    rows = (
        DailyReport.objects.filter(report_date__gte=start, report_date__lte=end)
        .order_by(F("report_date").asc())
        .values_list("report_date", "figures", "generated_at")
    )
    for report_date, f, generated_at in rows.iterator(chunk_size=500):
        par = f["par"]
        yield (
            report_date.isoformat(),
            f["applications"]["submitted"],
            f["applications"]["approved"],
            f["applications"]["rejected"],
            f["applications"]["cancelled"],
            f["disbursed"]["count"],
            naira(f["disbursed"]["principal"]),
            f["collections"]["count"],
            naira(f["collections"]["amount"]),
            "no snapshot" if par is None else naira(par["par30_outstanding"]),
            naira(f["write_offs"]["amount"]),
            "yes" if f["ledger"]["balanced"] else "NO",
            generated_at.astimezone(LAGOS).strftime("%Y-%m-%d %H:%M"),
        )


RANGE_EXPORTS = {
    "payments": ("Payments received", PAYMENTS_HEADER, payment_rows),
    "reports": ("Daily reports", REPORTS_HEADER, daily_report_rows),
}


def range_export_lines(kind: str, start: date, end: date) -> Iterator[str]:
    _label, header, rows = RANGE_EXPORTS[kind]
    return csv_lines(header, rows(start, end))
