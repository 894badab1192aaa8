"""Reconciliation reads: the lines of a statement and its totals against the ledger."""

from datetime import date, datetime, time, timedelta

from django.db.models import Max, Min, Q, Sum
from django.utils import timezone

from ledger import chart
from ledger.models import Posting
from payments.models import LineStatus, PaymentChannel, StatementImport, StatementLine


def value_datetime(value_date: date) -> datetime:
    return timezone.make_aware(datetime.combine(value_date, time.min))


def statement_lines(*, statement: StatementImport | None = None, status: str | None = None):
    lines = StatementLine.objects.select_related("suggested_loan__member", "payment", "resolved_by")
    if statement is not None:
        lines = lines.filter(statement=statement)
    if status:
        lines = lines.filter(status=status)
    return lines.order_by("value_date", "id")


def reconciliation_totals(statement: StatementImport | None = None) -> dict:
    """Statement credits against what the ledger holds as bank-transfer repayments received
    in the same dates (postings on cash at bank, net of reversals), and the difference."""
    lines = StatementLine.objects.all()
    if statement is not None:
        lines = lines.filter(statement=statement)
    credit = Q(amount__gt=0)
    sums = lines.aggregate(
        date_from=Min("value_date"),
        date_to=Max("value_date"),
        statement_credits=Sum("amount", filter=credit, default=0),
        statement_debits=Sum("amount", filter=Q(amount__lt=0), default=0),
        matched=Sum("amount", filter=credit & Q(status=LineStatus.MATCHED), default=0),
        suggested=Sum("amount", filter=credit & Q(status=LineStatus.SUGGESTED), default=0),
        unmatched=Sum("amount", filter=credit & Q(status=LineStatus.UNMATCHED), default=0),
        ignored=Sum("amount", filter=credit & Q(status=LineStatus.IGNORED), default=0),
        suspense=Sum("amount", filter=credit & Q(status=LineStatus.SUSPENSE), default=0),
        refunded=Sum("amount", filter=credit & Q(status=LineStatus.REFUNDED), default=0),
    )
    ledger_total = 0
    if sums["date_from"] is not None:
        # Deposits booked to suspense count as cash received on their value date; one later
        # assigned to a loan is a bank-transfer repayment whose suspense transfer (linked to
        # the payment) takes the booking back out, so it counts once.
        repayments = Q(
            entry__payment__channel=PaymentChannel.BANK_TRANSFER,
            entry__payment__received_at__gte=value_datetime(sums["date_from"]),
            entry__payment__received_at__lt=value_datetime(sums["date_to"] + timedelta(days=1)),
        )
        suspense = Q(
            entry__idempotency_key__startswith="suspense:",
            entry__effective_date__range=(sums["date_from"], sums["date_to"]),
        )
        ledger_total = Posting.objects.filter(
            repayments | suspense, account__code=chart.CASH_BANK
        ).aggregate(total=Sum("amount", default=0))["total"]
    sums["statement_debits"] = -sums["statement_debits"]
    sums["ledger_bank_repayments"] = ledger_total
    sums["difference"] = sums["statement_credits"] - ledger_total
    sums["to_resolve"] = sums["suggested"] + sums["unmatched"]
    return sums
