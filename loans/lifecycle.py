"""The loan lifecycle: the only code that changes a loan's or an installment's status.

Payout, cancellation, repayment, closure, reversal, the overdue run and write-off all call a
function here (the overdue run calls the set-based twins ``mark_overdue`` and
``update_arrears_since``). Each single-object change checks the transition map below and
leaves its audit event (a loan's audit events are its status history); the maps hold what the
code does, including closed → active when a repayment is reversed.
"""

from datetime import date, datetime

from django.db import connection
from django.utils import timezone

from core import audit
from core.clock import lagos_today
from core.errors import check_transition
from loans.models import (
    INSTALLMENT_UNPAID_SCHEDULED,
    Installment,
    InstallmentStatus,
    Loan,
    LoanStatus,
)

LOAN_TRANSITIONS = {
    LoanStatus.PENDING_DISBURSEMENT: {LoanStatus.ACTIVE, LoanStatus.CANCELLED},
    LoanStatus.ACTIVE: {LoanStatus.CLOSED, LoanStatus.WRITTEN_OFF},
    # A reversed repayment makes a repaid loan owe again.
    LoanStatus.CLOSED: {LoanStatus.ACTIVE},
    LoanStatus.WRITTEN_OFF: set(),
    LoanStatus.CANCELLED: set(),
}

# An installment's status follows its amounts (``installment_status``): a repayment moves it
# forward, a reversal back, the overdue run marks it overdue once its due date has passed.
# Nothing moves an installment out of overdue but paying it in full: its due date stays past.
INSTALLMENT_TRANSITIONS = {
    InstallmentStatus.PENDING: {
        InstallmentStatus.PARTIALLY_PAID,
        InstallmentStatus.PAID,
        InstallmentStatus.OVERDUE,
    },
    InstallmentStatus.PARTIALLY_PAID: {
        InstallmentStatus.PENDING,
        InstallmentStatus.PAID,
        InstallmentStatus.OVERDUE,
    },
    InstallmentStatus.OVERDUE: {InstallmentStatus.PAID},
    InstallmentStatus.PAID: {
        InstallmentStatus.PENDING,
        InstallmentStatus.PARTIALLY_PAID,
        InstallmentStatus.OVERDUE,
    },
    InstallmentStatus.WAIVED: set(),
}

# The statuses the overdue run moves to overdue (paid ones owe nothing, so never qualify).
OVERDUE_FROM = [InstallmentStatus.PENDING, InstallmentStatus.PARTIALLY_PAID]


def check_loan_transition(loan: Loan, target: str) -> None:
    """Refuse early (before money moves) a change the map does not allow."""
    check_transition(LOAN_TRANSITIONS, loan.status, target, what="loan")


def _move_loan(loan: Loan, target: str) -> str:
    before = loan.status
    check_loan_transition(loan, target)
    loan.status = target
    return before


# --- Loans: one object at a time (the caller holds the row lock) -----------------------------


def activate_on_payout(loan: Loan, *, actor, now: datetime, on: date, changes: dict) -> None:
    """The money reached the member: the loan starts running from ``on``."""
    before = _move_loan(loan, LoanStatus.ACTIVE)
    loan.disbursed_at = now
    loan.disbursed_on = on
    loan.save(update_fields=["status", "disbursed_at", "disbursed_on"])
    audit.record(
        actor=actor,
        action="loan.disbursed",
        obj=loan,
        changes={**changes, "status": [before, LoanStatus.ACTIVE]},
    )


def cancel(loan: Loan, *, actor) -> None:
    """The member cancelled in cooling-off, before any payout."""
    before = _move_loan(loan, LoanStatus.CANCELLED)
    loan.save(update_fields=["status"])
    audit.record(
        actor=actor,
        action="loan.cancelled",
        obj=loan,
        changes={"status": [before, LoanStatus.CANCELLED]},
    )


def close_if_repaid(loan: Loan, installments, *, actor) -> bool:
    """An active loan whose installments owe nothing closes, and its discharge letter is
    issued at once (FCCPC)."""
    if loan.status != LoanStatus.ACTIVE or any(i.outstanding for i in installments):
        return False
    before = _move_loan(loan, LoanStatus.CLOSED)
    loan.closed_at = timezone.now()
    loan.save(update_fields=["status", "closed_at"])
    audit.record(
        actor=actor,
        action="loan.closed",
        obj=loan,
        changes={"status": [before, LoanStatus.CLOSED]},
    )
    audit.record(
        actor=None,
        action="loan.discharge_letter_issued",
        obj=loan,
        changes={"closed_at": loan.closed_at.isoformat()},
    )
    return True


def recovered_in_full(loan: Loan, installments, *, actor) -> bool:
    """A written-off loan whose installments owe nothing more: it stays written off in our
    books, and the member gets the discharge letter as for a closed loan — once: money that
    reaches a loan already recovered in full (a late card payment) is credit, not a new letter."""
    if (
        loan.status != LoanStatus.WRITTEN_OFF
        or loan.closed_at is not None
        or any(i.outstanding for i in installments)
    ):
        return False
    loan.closed_at = timezone.now()
    loan.save(update_fields=["closed_at"])
    audit.record(actor=actor, action="loan.recovered_in_full", obj=loan, changes={})
    audit.record(
        actor=None,
        action="loan.discharge_letter_issued",
        obj=loan,
        changes={"closed_at": loan.closed_at.isoformat()},
    )
    return True


def reopen_on_reversal(loan: Loan, *, actor, payment_reference: str) -> bool:
    """A reversed repayment of a closed loan makes it owe again: closed → active."""
    if loan.status != LoanStatus.CLOSED:
        return False
    before = _move_loan(loan, LoanStatus.ACTIVE)
    loan.closed_at = None
    loan.save(update_fields=["status", "closed_at"])
    audit.record(
        actor=actor,
        action="loan.reopened",
        obj=loan,
        changes={"status": [before, LoanStatus.ACTIVE], "payment": payment_reference},
    )
    return True


def write_off(loan: Loan, *, actor, changes: dict) -> None:
    """The loan leaves the books (the caller posts the write-off entry)."""
    before = _move_loan(loan, LoanStatus.WRITTEN_OFF)
    loan.arrears_since = None
    loan.save(update_fields=["status", "arrears_since"])
    audit.record(
        actor=actor,
        action="loan.written_off",
        obj=loan,
        changes={**changes, "status": [before, LoanStatus.WRITTEN_OFF]},
    )


# --- Installments -----------------------------------------------------------------------------


def installment_status(inst: Installment, today: date) -> str:
    """What an installment's amounts and due date make its status."""
    if inst.status == InstallmentStatus.WAIVED:
        return inst.status
    if inst.outstanding == 0:
        return InstallmentStatus.PAID
    if inst.due_date < today:
        return InstallmentStatus.OVERDUE
    if inst.total_paid > 0:
        return InstallmentStatus.PARTIALLY_PAID
    return InstallmentStatus.PENDING


# The amounts an installment owes; servicing (waivers, settlement rebates, new schedule
# versions) may change them, always together with the ledger entry that moves the same money.
SCHEDULED_FIELDS = ("principal", "interest", "fee", "late_fee", "due_date")


def apply_installment_amounts(
    installments: list[Installment], *, now: datetime, scheduled: bool = False
) -> None:
    """Save one loan's installments after a repayment or a reversal changed their paid
    amounts (or, with ``scheduled=True``, a servicing change their owed amounts and due
    dates): each status follows its amounts (checked against the map), and the loan's
    ``arrears_since`` follows its oldest overdue installment."""
    today = lagos_today()
    for inst in installments:
        target = installment_status(inst, today)
        if target != inst.status:
            check_transition(INSTALLMENT_TRANSITIONS, inst.status, target, what="installment")
        if target != InstallmentStatus.PAID:
            inst.paid_at = None
        elif inst.status != InstallmentStatus.PAID or inst.paid_at is None:
            inst.paid_at = now  # paid by this change; one paid before keeps its date
        inst.status = target
    Installment.objects.bulk_update(
        installments,
        ["paid_principal", "paid_interest", "paid_fee", "paid_late_fee", "status", "paid_at"]
        + (list(SCHEDULED_FIELDS) if scheduled else []),
    )
    overdue = [i.due_date for i in installments if i.status == InstallmentStatus.OVERDUE]
    if installments:
        Loan.objects.filter(pk=installments[0].loan_id).update(
            arrears_since=min(overdue, default=None)
        )


# --- Set-based twins for the overdue run (one statement per step, whatever the row count) ----


def mark_overdue(day: date) -> int:
    """Installments of active loans due before ``day`` and not fully paid become overdue:
    ``installment_status``'s rule for every row at once."""
    return (
        Installment.objects.filter(
            loan__status=LoanStatus.ACTIVE, due_date__lt=day, status__in=OVERDUE_FROM
        )
        .alias(unpaid=INSTALLMENT_UNPAID_SCHEDULED)
        .filter(unpaid__gt=0)
        .update(status=InstallmentStatus.OVERDUE)
    )


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def update_arrears_since() -> int:
    """Each active loan's oldest overdue due date (None when up to date): two statements,
    touching only the loans whose date changes."""
    installment, loan = _table(Installment), _table(Loan)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {loan} SET arrears_since = o.oldest
            FROM (SELECT loan_id, MIN(due_date) AS oldest FROM {installment}
                  WHERE status = %s GROUP BY loan_id) o
            WHERE o.loan_id = {loan}.id AND {loan}.status = %s
              AND ({loan}.arrears_since IS NULL OR {loan}.arrears_since <> o.oldest)
            """,  # noqa: S608 - table names from the models, values as parameters
            [InstallmentStatus.OVERDUE, LoanStatus.ACTIVE],
        )
        changed = cursor.rowcount
        cursor.execute(
            f"""
            UPDATE {loan} SET arrears_since = NULL
            WHERE arrears_since IS NOT NULL AND (status <> %s OR NOT EXISTS (
                SELECT 1 FROM {installment} i WHERE i.loan_id = {loan}.id AND i.status = %s))
            """,  # noqa: S608
            [LoanStatus.ACTIVE, InstallmentStatus.OVERDUE],
        )
        return changed + cursor.rowcount
