"""Writes for arrears: the allowance-delay switch, the contact log and write-offs."""

from datetime import date, datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from arrears.models import (
    AllowanceDelay,
    CollectionContact,
    ContactChannel,
    ContactOutcome,
    OverdueRun,
    WriteOff,
    WriteOffStatus,
)
from core import audit
from core.clock import lagos_today
from core.errors import Conflict, DomainError, NotAllowed
from ledger import chart
from ledger.models import EntryKind
from ledger.posting import credit, debit, post_entry
from ledger.selectors import loan_balance, loan_balances
from loans import lifecycle
from loans.models import Loan, LoanStatus

# Recovery contact only at reasonable hours (FCCPC digital lending regulations).
CONTACT_HOURS = (time(8, 0), time(21, 0))
MAX_DELAY_DAYS = 62


def within_contact_hours(moment: datetime) -> bool:
    local = timezone.localtime(moment).time()
    return CONTACT_HOURS[0] <= local < CONTACT_HOURS[1]


# --- Allowance delayed ---------------------------------------------------------------------


def first_open_day() -> date:
    """The first day the overdue run has not charged yet: a pause can only start there."""
    last = OverdueRun.objects.order_by("-run_date").values_list("run_date", flat=True).first()
    today = lagos_today()
    return max(today, last + timedelta(days=1)) if last else today


@transaction.atomic
def set_allowance_delay(*, actor, starts_on: date, ends_on: date, reason: str) -> AllowanceDelay:
    if not actor.has_perm("arrears.set_allowance_delay"):
        raise NotAllowed("You do not have permission to switch 'allowance delayed'.")
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise DomainError(
            "Say why (at least 10 characters), e.g. when the allowance is now expected.",
            fields={"reason": "Required"},
        )
    if ends_on < starts_on:
        raise DomainError("The period ends before it starts.", fields={"ends_on": "Invalid"})
    if (ends_on - starts_on).days + 1 > MAX_DELAY_DAYS:
        raise DomainError(
            f"A period is at most {MAX_DELAY_DAYS} days; add another when it runs out.",
            fields={"ends_on": "Too long"},
        )
    open_day = first_open_day()
    if starts_on < open_day:
        raise DomainError(
            f"Late fees up to {open_day - timedelta(days=1):%d %b %Y} are already charged; "
            f"the period can start on {open_day:%d %b %Y} at the earliest.",
            fields={"starts_on": "Too early"},
        )
    delay = AllowanceDelay.objects.create(
        starts_on=starts_on, ends_on=ends_on, reason=reason[:300], created_by=actor
    )
    audit.record(
        actor=actor,
        action="arrears.allowance_delay_set",
        obj=delay,
        changes={"starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat()},
    )
    return delay


@transaction.atomic
def cancel_allowance_delay(*, delay: AllowanceDelay, actor) -> AllowanceDelay:
    """Days already run stay without fees; the days still to come are charged again."""
    if not actor.has_perm("arrears.set_allowance_delay"):
        raise NotAllowed("You do not have permission to switch 'allowance delayed'.")
    delay = AllowanceDelay.objects.select_for_update().get(pk=delay.pk)
    if delay.cancelled_at is not None:
        raise Conflict("This period is already switched off.")
    delay.cancelled_at = timezone.now()
    delay.cancelled_by = actor
    delay.save(update_fields=["cancelled_at", "cancelled_by"])
    audit.record(
        actor=actor,
        action="arrears.allowance_delay_cancelled",
        obj=delay,
        changes={"starts_on": delay.starts_on.isoformat(), "ends_on": delay.ends_on.isoformat()},
    )
    return delay


# --- Contact log ---------------------------------------------------------------------------


@transaction.atomic
def log_contact(
    *,
    loan: Loan,
    actor,
    channel: str,
    outcome: str,
    note: str = "",
    promise_date: date | None = None,
    promise_amount: int | None = None,
) -> CollectionContact:
    if not actor.has_perm("arrears.log_contact"):
        raise NotAllowed("You do not have permission to log contacts.")
    if channel not in ContactChannel.values or outcome not in ContactOutcome.values:
        raise DomainError("Choose how you contacted the member and the outcome.")
    if outcome == ContactOutcome.PROMISED:
        if promise_date is None:
            raise DomainError(
                "A promise to pay needs the date the member promised.",
                fields={"promise_date": "Required"},
            )
        if promise_date < lagos_today():
            raise DomainError(
                "The promised date is in the past.", fields={"promise_date": "In the past"}
            )
    if promise_amount is not None and promise_amount <= 0:
        raise DomainError("A promised amount is positive.", fields={"promise_amount": "Invalid"})
    now = timezone.now()
    contact = CollectionContact.objects.create(
        loan=loan,
        staff=actor,
        channel=channel,
        outcome=outcome,
        note=(note or "").strip()[:2000],
        promise_date=promise_date if outcome == ContactOutcome.PROMISED else None,
        promise_amount=promise_amount if outcome == ContactOutcome.PROMISED else None,
        outside_permitted_hours=not within_contact_hours(now),
    )
    audit.record(
        actor=actor,
        action="arrears.contact_logged",
        obj=loan,
        changes={
            "channel": channel,
            "outcome": outcome,
            "outside_permitted_hours": contact.outside_permitted_hours,
        },
    )
    return contact


# --- Write-off (two people) ----------------------------------------------------------------


@transaction.atomic
def request_write_off(*, loan: Loan, actor, reason: str) -> WriteOff:
    if not actor.has_perm("arrears.request_write_off"):
        raise NotAllowed("You do not have permission to request a write-off.")
    reason = (reason or "").strip()
    if len(reason) < 20:
        raise DomainError(
            "Explain why this loan cannot be recovered (at least 20 characters).",
            fields={"reason": "Required"},
        )
    loan = Loan.objects.select_for_update().get(pk=loan.pk)
    if loan.status != LoanStatus.ACTIVE:
        raise Conflict(f"Only an active loan can be written off; this one is {loan.status}.")
    balance = loan_balance(loan)
    if balance <= 0:
        raise Conflict("Nothing is owed on this loan.")
    try:
        with transaction.atomic():
            write_off = WriteOff.objects.create(
                loan=loan, reason=reason, requested_by=actor, amount=balance
            )
    except IntegrityError:
        raise Conflict("A write-off of this loan is already waiting for approval.") from None
    audit.record(
        actor=actor,
        action="arrears.write_off_requested",
        obj=loan,
        changes={"amount": balance},
    )
    return write_off


def _decide(write_off: WriteOff, actor) -> WriteOff:
    if not actor.has_perm("arrears.approve_write_off"):
        raise NotAllowed("You do not have permission to decide write-offs.")
    write_off = WriteOff.objects.select_for_update().get(pk=write_off.pk)
    if write_off.status != WriteOffStatus.REQUESTED:
        raise Conflict(f"This write-off is already {write_off.get_status_display().lower()}.")
    if write_off.requested_by_id == actor.pk:
        raise NotAllowed("A second person must decide a write-off you requested.")
    return write_off


@transaction.atomic
def approve_write_off(*, write_off: WriteOff, actor, note: str = "") -> WriteOff:
    """The loan leaves the books: its receivables are cleared against the write-off expense
    (and the interest never earned against unearned interest) in one balanced entry."""
    write_off = _decide(write_off, actor)
    loan = Loan.objects.select_for_update().get(pk=write_off.loan_id)
    lifecycle.check_loan_transition(loan, LoanStatus.WRITTEN_OFF)
    balances = loan_balances(loan)
    dims = {"loan_id": loan.pk, "member_id": loan.member_id}
    lines = []
    for account in chart.RECEIVABLE_ACCOUNTS:
        owed = balances.get(account, 0)
        if owed <= 0:
            continue
        lines.append(credit(account, owed, **dims))
        expense = chart.UNEARNED_INTEREST if account == chart.LOANS_INTEREST else None
        lines.append(debit(expense or chart.WRITE_OFF_EXPENSE, owed, **dims))
    if not lines:
        raise Conflict("Nothing is owed on this loan any more.")
    entry = post_entry(
        kind=EntryKind.WRITE_OFF,
        lines=lines,
        effective_date=lagos_today(),
        loan=loan,
        memo=f"Write-off of {loan.reference}",
        idempotency_key=f"write_off:{write_off.pk}",
        actor=actor,
    )
    write_off.status = WriteOffStatus.APPROVED
    write_off.decided_by = actor
    write_off.decided_at = timezone.now()
    write_off.decision_note = (note or "").strip()[:2000]
    write_off.amount = sum(line.amount for line in lines if line.amount < 0) * -1
    write_off.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "amount"])
    lifecycle.write_off(
        loan,
        actor=actor,
        changes={
            "amount": write_off.amount,
            "entry": entry.pk,
            "requested_by": write_off.requested_by_id,
        },
    )
    return write_off


@transaction.atomic
def reject_write_off(*, write_off: WriteOff, actor, note: str) -> WriteOff:
    note = (note or "").strip()
    if len(note) < 5:
        raise DomainError("Say why the write-off is refused.", fields={"note": "Required"})
    write_off = _decide(write_off, actor)
    write_off.status = WriteOffStatus.REJECTED
    write_off.decided_by = actor
    write_off.decided_at = timezone.now()
    write_off.decision_note = note[:2000]
    write_off.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit.record(
        actor=actor,
        action="arrears.write_off_rejected",
        obj=write_off.loan,
        changes={"note": write_off.decision_note},
    )
    return write_off
