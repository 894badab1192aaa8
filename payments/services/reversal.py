"""Reversal: undo exactly what a payment did (its allocations and its ledger entry)."""

from django.db import transaction
from django.utils import timezone

from core import audit
from core.clock import lagos_today
from core.errors import Conflict, DomainError, NotAllowed
from core.forms import REASON_MIN_LENGTH
from core.money import format_naira
from ledger.models import EntryKind, JournalEntry
from ledger.posting import reverse_entry
from loans import lifecycle
from loans.models import Loan
from members.models import Member
from payments.models import Payment, PaymentStatus
from payments.selectors import available_credit
from payments.services.repayment import PAID_FIELD


def _check_nothing_built_on(payment: Payment, loan: Loan) -> None:
    """Refuse a reversal that would leave the books wrong: a payment that settled the loan early
    (its interest rebate and closure rest on it), or one whose credit the member has since used
    or had refunded (the credit would go negative)."""
    if JournalEntry.objects.filter(loan=loan, idempotency_key__startswith="settlement:").exists():
        raise Conflict(
            f"Loan {loan.reference} was settled early, which rests on its payments; payment "
            f"{payment.reference} cannot be reversed on its own. Record a correcting entry with "
            "the finance lead instead."
        )
    if any(a.installment_id is None and a.component != "credit" for a in payment.allocations.all()):
        raise Conflict(
            f"Payment {payment.reference} was a prepayment that gave the loan a new schedule; "
            "it cannot be reversed on its own."
        )
    credited = sum(a.amount for a in payment.allocations.all() if a.component == "credit")
    if credited and available_credit(loan.member) < credited:
        raise Conflict(
            f"{format_naira(credited)} of payment {payment.reference} became member credit and "
            "has since been used or refunded, so it cannot be reversed."
        )


@transaction.atomic
def reverse_payment(*, payment: Payment, actor, reason: str) -> Payment:
    """Undo exactly what a payment did: its allocations and its ledger entry."""
    if not actor.has_perm("payments.reverse_payment"):
        raise NotAllowed("You do not have permission to reverse payments.")
    reason = (reason or "").strip()
    if len(reason) < REASON_MIN_LENGTH:
        raise DomainError(
            f"Give the reason for the reversal in at least {REASON_MIN_LENGTH} characters.",
            fields={"reason": f"At least {REASON_MIN_LENGTH} characters"},
        )
    # Member row first, as every user of member credit does (a refund cannot race this).
    Member.objects.select_for_update(no_key=True).get(pk=payment.member_id)
    loan = Loan.objects.select_for_update().get(pk=payment.loan_id)
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status != PaymentStatus.SUCCESSFUL:
        raise Conflict(
            f"Payment {payment.reference} is {payment.get_status_display().lower()} "
            "and cannot be reversed."
        )
    _check_nothing_built_on(payment, loan)
    installments = {i.pk: i for i in loan.installments.select_for_update()}
    for allocation in payment.allocations.all():
        if allocation.component == "credit":
            continue
        inst = installments[allocation.installment_id]
        field = PAID_FIELD[allocation.component]
        setattr(inst, field, getattr(inst, field) - allocation.amount)
    lifecycle.apply_installment_amounts(list(installments.values()), now=timezone.now())
    entry = payment.journal_entries.get(kind__in=[EntryKind.REPAYMENT, EntryKind.CREDIT_APPLIED])
    reverse_entry(
        entry=entry,
        effective_date=lagos_today(),
        memo=f"Reversal of {payment.reference}: {reason[:120]}",
        actor=actor,
    )
    payment.status = PaymentStatus.REVERSED
    payment.reversed_at = timezone.now()
    payment.reversal_reason = reason
    payment.save(update_fields=["status", "reversed_at", "reversal_reason"])
    lifecycle.reopen_on_reversal(loan, actor=actor, payment_reference=payment.reference)
    audit.record(
        actor=actor,
        action="payment.reversed",
        obj=payment,
        changes={"reason": reason, "amount": payment.amount},
    )
    return payment
