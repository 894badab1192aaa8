"""The suspense account: a bank credit nobody can match to a loan is booked to suspense
(Dr cash at bank, Cr suspense), so the money is in the books while finance finds out whose it
is; finance then assigns it to a member's active loan (a bank-transfer repayment, and Dr
suspense, Cr cash at bank so the cash is counted once) or sends it back
(``payments.services.refunds.request_suspense_refund``).

Every write checks ``payments.reconcile_statement``, locks the line and is audited. The
line's status says where it is: ``suspense`` while held, ``matched`` once assigned,
``refunded`` once the refund transfer succeeded.
"""

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from core import audit
from core.clock import lagos_today
from core.errors import Conflict, DomainError
from ledger import chart
from ledger.models import EntryKind, Posting
from ledger.posting import credit, debit, post_entry
from loans.models import Loan, LoanStatus
from payments.models import (
    LIVE_REFUND_STATUSES,
    LineStatus,
    PaymentChannel,
    Refund,
    StatementLine,
)
from payments.reconciliation.selectors import value_datetime
from payments.reconciliation.services import _lock_open_line, _require
from payments.services.repayment import record_payment


def suspense_lines():
    """The deposits held in suspense, oldest first, with any refund waiting on them."""
    return (
        StatementLine.objects.filter(status=LineStatus.SUSPENSE)
        .select_related("statement", "resolved_by")
        .order_by("value_date", "id")
    )


def suspense_balance() -> int:
    """What the ledger holds in the suspense account, as a positive number (a liability)."""
    total = Posting.objects.filter(account__code=chart.SUSPENSE).aggregate(
        total=Sum("amount", default=0)
    )["total"]
    return -total


def suspense_lines_total() -> int:
    return suspense_lines().aggregate(total=Sum("amount", default=0))["total"]


@transaction.atomic
def book_to_suspense(*, line: StatementLine, actor, reason: str = "") -> StatementLine:
    """An unmatched statement credit goes to suspense: the bank holds the money, we owe it
    to someone we do not know yet."""
    _require(actor)
    line = _lock_open_line(line, actor)
    if line.amount <= 0:
        raise DomainError(
            "Only money coming in (a credit on the statement) can be held in suspense."
        )
    before = line.status
    post_entry(
        kind=EntryKind.ADJUSTMENT,
        lines=[debit(chart.CASH_BANK, line.amount), credit(chart.SUSPENSE, line.amount)],
        effective_date=line.value_date,
        memo=f"Unidentified deposit, statement line {line.pk}",
        idempotency_key=f"suspense:{line.pk}",
        actor=actor,
    )
    line.status = LineStatus.SUSPENSE
    line.suggested_loan = None
    line.suggested_payment = None
    line.match_reason = " ".join((reason or "").split())[:200]
    line.resolved_by = actor
    line.resolved_at = timezone.now()
    line.save(
        update_fields=[
            "status",
            "suggested_loan",
            "suggested_payment",
            "match_reason",
            "resolved_by",
            "resolved_at",
        ]
    )
    audit.record(
        actor=actor,
        action="statement_line.suspense_booked",
        obj=line,
        changes={"status": [before, LineStatus.SUSPENSE], "amount": line.amount},
    )
    return line


def lock_suspense_line(line: StatementLine, actor) -> StatementLine:
    """The line under a row lock, still held in suspense and with no refund under way
    (two finance users assigning, or assigning while refunding: one wins)."""
    _require(actor)
    line = StatementLine.objects.select_for_update().get(pk=line.pk)
    if line.status != LineStatus.SUSPENSE:
        raise Conflict(
            f"This deposit is no longer in suspense ({line.get_status_display().lower()}); "
            "nothing was changed."
        )
    live = Refund.objects.filter(statement_line=line, status__in=LIVE_REFUND_STATUSES).first()
    if live is not None:
        raise Conflict(
            f"Refund {live.reference} of this deposit is {live.get_status_display().lower()}; "
            "reject it or wait for it to fail before assigning the money."
        )
    return line


def _active_loan(reference: str) -> Loan:
    reference = (reference or "").strip().upper()
    if not reference:
        raise DomainError(
            "Enter a loan reference, e.g. LN7KQ2M4XP.", fields={"loan_reference": "Required"}
        )
    loan = Loan.objects.filter(reference=reference).select_related("member").first()
    if loan is None:
        raise DomainError(
            f"There is no loan with reference {reference}.", fields={"loan_reference": "Unknown"}
        )
    if loan.status != LoanStatus.ACTIVE:
        raise DomainError(
            f"Loan {loan.reference} is {loan.get_status_display().lower()}; money in suspense "
            "goes to an active loan (or back to the sender).",
            fields={"loan_reference": "Not active"},
        )
    return loan


@transaction.atomic
def assign_from_suspense(*, line: StatementLine, actor, loan_reference: str) -> StatementLine:
    """The deposit turns out to be a member's repayment: record it on their active loan and
    take it out of suspense, in one transaction.

    ``record_payment`` posts Dr cash at bank for the repayment, but the cash was already
    counted when the line was booked to suspense; the second entry (Dr suspense, Cr cash at
    bank) moves it out of suspense so the bank balance counts it once."""
    line = lock_suspense_line(line, actor)
    loan = _active_loan(loan_reference)
    payment = record_payment(
        loan=loan,
        amount=line.amount,
        channel=PaymentChannel.BANK_TRANSFER,
        reference=f"STMT-{line.fingerprint[:20]}",
        provider="bank",
        actor=actor,
        received_at=value_datetime(line.value_date),
        reason=f"From suspense, bank statement line {line.pk}: {line.narration}"[:2000],
        evidence=(line.bank_reference or f"statement {line.statement_id}")[:200],
        raw_payload={
            "statement_line": line.pk,
            "value_date": line.value_date.isoformat(),
            "narration": line.narration,
            "bank_reference": line.bank_reference,
            "from_suspense": True,
        },
    )
    dims = {"loan_id": loan.pk, "member_id": loan.member_id}
    post_entry(
        kind=EntryKind.ADJUSTMENT,
        lines=[debit(chart.SUSPENSE, line.amount), credit(chart.CASH_BANK, line.amount, **dims)],
        effective_date=lagos_today(),
        loan=loan,
        payment=payment,
        memo=f"Suspense line {line.pk} assigned to {loan.reference}",
        idempotency_key=f"suspense_assign:{line.pk}",
        actor=actor,
    )
    line.status = LineStatus.MATCHED
    line.payment = payment
    line.suggested_loan = loan
    line.resolved_by = actor
    line.resolved_at = timezone.now()
    line.save(update_fields=["status", "payment", "suggested_loan", "resolved_by", "resolved_at"])
    audit.record(
        actor=actor,
        action="statement_line.suspense_assigned",
        obj=line,
        changes={
            "status": [LineStatus.SUSPENSE, LineStatus.MATCHED],
            "loan": loan.reference,
            "payment": payment.reference,
            "amount": line.amount,
        },
    )
    return line


def mark_refunded(*, line_id: int, refund: Refund) -> None:
    """The refund of a suspense deposit succeeded (called under the refund's lock, in the
    transaction that posts Dr suspense, Cr cash at provider)."""
    line = StatementLine.objects.select_for_update().get(pk=line_id)
    if line.status != LineStatus.SUSPENSE:
        raise Conflict(
            f"Statement line {line.pk} is {line.get_status_display().lower()}, not in "
            f"suspense, yet refund {refund.reference} paid it; finance must investigate."
        )
    line.status = LineStatus.REFUNDED
    line.resolved_at = timezone.now()
    line.save(update_fields=["status", "resolved_at"])
    audit.record(
        actor=None,
        action="statement_line.suspense_refunded",
        obj=line,
        changes={
            "status": [LineStatus.SUSPENSE, LineStatus.REFUNDED],
            "refund": refund.reference,
            "amount": line.amount,
        },
    )
