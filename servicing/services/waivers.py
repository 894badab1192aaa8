"""Waivers: forgive part of one loan's late fees, fees or interest, with a reason.

Up to ``settings.WAIVER_SECOND_APPROVAL_ABOVE`` the requester's waiver applies at once; above
it a second person with the same permission applies or refuses it. Single-person waivers of one
loan add up against the threshold, so splitting a large waiver into small ones still needs the
second person.

Applying re-reads what is owed under the loan's lock, lowers that component on the installments
oldest first (never below what was already paid) through ``loans.lifecycle``, and posts one
balanced entry ``waiver:<id>`` in the same transaction: interest never earned goes back against
unearned interest; fees and late fees, already income, go to "Fees and charges waived".
"""

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from core import audit
from core.clock import lagos_today
from core.errors import Conflict, DomainError, NotAllowed
from core.forms import REASON_MIN_LENGTH
from core.money import format_naira
from core.signals import send_after_commit
from ledger import chart
from ledger.models import EntryKind
from ledger.posting import credit, debit, post_entry
from ledger.selectors import loan_balances
from loans import lifecycle
from loans import rules as loan_rules
from loans.models import Installment, InstallmentStatus, Loan
from members.staff_identity import check_independent
from servicing import signals
from servicing.models import COMPONENT_WORDS as WORDS
from servicing.models import Waiver, WaiverComponent, WaiverStatus

PERMISSION = "servicing.waive_charges"

# (debit, credit) of each component's entry.
ACCOUNTS = {
    WaiverComponent.INTEREST: (chart.UNEARNED_INTEREST, chart.LOANS_INTEREST),
    WaiverComponent.FEE: (chart.CHARGES_WAIVED, chart.LOANS_FEES),
    WaiverComponent.LATE_FEE: (chart.CHARGES_WAIVED, chart.LOANS_PENALTIES),
}


# --- What is owed ----------------------------------------------------------------------------


def owed_on(installment: Installment, component: str) -> int:
    """What the installment still owes of ``component`` (owed minus paid)."""
    if installment.status == InstallmentStatus.WAIVED:
        return 0
    return getattr(installment, component) - getattr(installment, f"paid_{component}")


def owed_by_component(installments) -> dict[str, int]:
    """Per component, what the loan's installments still owe of it."""
    return {c: sum(owed_on(i, c) for i in installments) for c in WaiverComponent.values}


def pending_by_component(loan: Loan) -> dict[str, int]:
    """Per component, the amount of waivers still waiting for a second person."""
    rows = (
        Waiver.objects.filter(loan=loan, status=WaiverStatus.PENDING_APPROVAL)
        .values("component")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    return {row["component"]: row["total"] for row in rows}


def needs_second_person(loan: Loan, amount: int) -> bool:
    """Above the threshold, counting the waivers of this loan one person already applied."""
    applied_alone = (
        Waiver.objects.filter(
            loan=loan, status=WaiverStatus.APPLIED, second_approval_required=False
        ).aggregate(total=Sum("amount"))["total"]
        or 0
    )
    return applied_alone + amount > settings.WAIVER_SECOND_APPROVAL_ABOVE


# --- Checks ----------------------------------------------------------------------------------


def may_waive(user) -> bool:
    return bool(user.is_authenticated and user.is_staff and user.has_perm(PERMISSION))


def _check_permission(actor) -> None:
    if not may_waive(actor):
        raise NotAllowed("You do not have permission to waive charges on a loan.")


def _clean(component, amount, reason) -> tuple[str, int, str]:
    if component not in WaiverComponent.values:
        raise DomainError(
            "Choose what to waive: late fees, fees or interest.", fields={"component": "Invalid"}
        )
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise DomainError(
            "The amount to waive must be a whole number of kobo.", fields={"amount": "Invalid"}
        )
    if amount <= 0:
        raise DomainError(
            "The amount to waive must be more than ₦0.00.", fields={"amount": "Invalid"}
        )
    reason = (reason or "").strip()
    if len(reason) < REASON_MIN_LENGTH:
        raise DomainError(
            f"Give the reason for the waiver in at least {REASON_MIN_LENGTH} characters.",
            fields={"reason": "Required"},
        )
    return component, amount, reason[:2000]


def _check_active(loan: Loan) -> None:
    if not loan_rules.is_active(loan):
        raise Conflict(
            f"Charges are waived only on an active loan; loan {loan.reference} is "
            f"{loan.get_status_display().lower()}."
        )


def _lock_installments(loan: Loan) -> list[Installment]:
    # The same order as a repayment's lock (loan, then its installments by number).
    return list(loan.installments.select_for_update().order_by("number"))


def _too_much(component: str, amount: int, owed: int, waiting: int = 0) -> str | None:
    words = WORDS[component]
    if amount <= owed - waiting:
        return None
    if owed == 0:
        return f"No {words} are owed on this loan, so there is nothing to waive."
    if waiting:
        return (
            f"{format_naira(owed)} of {words} is owed on this loan and {format_naira(waiting)} "
            f"of it already waits for a second person; at most {format_naira(owed - waiting)} "
            "can be waived now."
        )
    return (
        f"Only {format_naira(owed)} of {words} is owed on this loan; "
        f"you asked to waive {format_naira(amount)}."
    )


# --- Request, approve, reject ----------------------------------------------------------------


@transaction.atomic
def request_waiver(*, loan: Loan, actor, component: str, amount: int, reason: str) -> Waiver:
    """Ask to waive ``amount`` kobo of ``component`` on ``loan``: applied at once up to the
    threshold, otherwise left waiting for a second person."""
    _check_permission(actor)
    component, amount, reason = _clean(component, amount, reason)
    loan = Loan.objects.select_for_update().get(pk=loan.pk)
    _check_active(loan)
    check_independent(actor=actor, member=loan.member, action="waiver")
    installments = _lock_installments(loan)
    owed = owed_by_component(installments)[component]
    problem = _too_much(component, amount, owed, pending_by_component(loan).get(component, 0))
    if problem:
        raise DomainError(problem, fields={"amount": "Too much"})
    second = needs_second_person(loan, amount)
    waiver = Waiver.objects.create(
        loan=loan,
        component=component,
        amount=amount,
        reason=reason,
        requested_by=actor,
        second_approval_required=second,
    )
    audit.record(
        actor=actor,
        action="servicing.waiver_requested",
        obj=loan,
        changes={
            "waiver": waiver.pk,
            "component": component,
            "amount": amount,
            "owed": owed,
            "second_approval_required": second,
        },
    )
    if not second:
        _apply(waiver, loan, installments, actor=actor)
    return waiver


def _decide(waiver: Waiver, actor, *, action: str) -> tuple[Waiver, Loan]:
    _check_permission(actor)
    # The loan first, as a request and a repayment lock it, then the waiver.
    loan = Loan.objects.select_for_update().get(pk=waiver.loan_id)
    waiver = Waiver.objects.select_for_update().select_related("requested_by").get(pk=waiver.pk)
    if not waiver.awaits_second_person:
        raise Conflict(f"This waiver is already {waiver.get_status_display().lower()}.")
    if waiver.requested_by_id == actor.pk:
        raise NotAllowed("You asked for this waiver, so a second person must decide it.")
    check_independent(
        actor=actor, member=loan.member, counterparts=[waiver.requested_by], action=action
    )
    return waiver, loan


@transaction.atomic
def approve_waiver(*, waiver: Waiver, actor, note: str = "") -> Waiver:
    """The second person applies a waiver above the threshold, against what is owed now."""
    waiver, loan = _decide(waiver, actor, action="waiver_approval")
    _check_active(loan)
    installments = _lock_installments(loan)
    owed = owed_by_component(installments)[waiver.component]
    if waiver.amount > owed:
        raise Conflict(
            f"Only {format_naira(owed)} of {WORDS[waiver.component]} is owed on this loan now, "
            f"less than the {format_naira(waiver.amount)} asked for; refuse this waiver and "
            "ask for a new one."
        )
    waiver.decision_note = (note or "").strip()[:2000]
    _apply(waiver, loan, installments, actor=actor)
    return waiver


@transaction.atomic
def reject_waiver(*, waiver: Waiver, actor, note: str) -> Waiver:
    note = (note or "").strip()
    if len(note) < REASON_MIN_LENGTH:
        raise DomainError(
            f"Say why the waiver is refused (at least {REASON_MIN_LENGTH} characters).",
            fields={"note": "Required"},
        )
    waiver, loan = _decide(waiver, actor, action="waiver_rejection")
    waiver.status = WaiverStatus.REJECTED
    waiver.decided_by = actor
    waiver.decided_at = timezone.now()
    waiver.decision_note = note[:2000]
    waiver.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit.record(
        actor=actor,
        action="servicing.waiver_rejected",
        obj=loan,
        changes={"waiver": waiver.pk, "amount": waiver.amount, "note": waiver.decision_note},
    )
    return waiver


# --- Applying (the caller holds the loan and installment locks) --------------------------------


def _lower_installments(waiver: Waiver, installments: list[Installment]) -> list[Installment]:
    """Take the waiver off the installments oldest first; returns those it changed."""
    component, remaining = waiver.component, waiver.amount
    changed, breakdown = [], []
    for row in installments:
        take = min(owed_on(row, component), remaining)
        if take <= 0:
            continue
        setattr(row, component, getattr(row, component) - take)
        if component == WaiverComponent.LATE_FEE:
            # The cap bounds what the member is ever charged on the installment: a waived
            # fee still counts towards it, so the overdue run cannot charge it again.
            row.late_fee_cap -= take
        remaining -= take
        changed.append(row)
        breakdown.append({"installment": row.number, "amount": take})
        if remaining == 0:
            break
    if remaining:  # the callers checked what is owed; never reached
        raise Conflict("The loan owes less than this waiver; nothing was changed.")
    waiver.breakdown = breakdown
    return changed


def _apply(waiver: Waiver, loan: Loan, installments: list[Installment], *, actor) -> None:
    debit_account, credit_account = ACCOUNTS[waiver.component]
    words = WORDS[waiver.component]
    in_ledger = loan_balances(loan).get(credit_account, 0)
    if in_ledger < waiver.amount:
        raise Conflict(
            f"The ledger shows only {format_naira(in_ledger)} of {words} owed on this loan; "
            "ask finance to check the loan before waiving."
        )
    now = timezone.now()
    changed = _lower_installments(waiver, installments)
    lifecycle.apply_installment_amounts(installments, now=now, scheduled=True)
    if waiver.component == WaiverComponent.LATE_FEE:
        Installment.objects.bulk_update(changed, ["late_fee_cap"])
    dims = {"loan_id": loan.pk, "member_id": loan.member_id}
    entry = post_entry(
        kind=EntryKind.WAIVER,
        lines=[
            debit(debit_account, waiver.amount, **dims),
            credit(credit_account, waiver.amount, **dims),
        ],
        effective_date=lagos_today(),
        loan=loan,
        memo=f"Waiver of {words} on {loan.reference}",
        idempotency_key=f"waiver:{waiver.pk}",
        actor=actor,
    )
    waiver.status = WaiverStatus.APPLIED
    waiver.decided_by = actor
    waiver.decided_at = now
    waiver.journal_entry = entry
    waiver.save(
        update_fields=[
            "status",
            "decided_by",
            "decided_at",
            "decision_note",
            "journal_entry",
            "breakdown",
        ]
    )
    audit.record(
        actor=actor,
        action="servicing.waiver_applied",
        obj=loan,
        changes={
            "waiver": waiver.pk,
            "component": waiver.component,
            "amount": waiver.amount,
            "entry": entry.pk,
            "breakdown": waiver.breakdown,
            "requested_by": waiver.requested_by_id,
        },
    )
    lifecycle.close_if_repaid(loan, installments, actor=actor)
    send_after_commit(signals.waiver_applied, sender=Waiver, waiver_id=waiver.pk)
