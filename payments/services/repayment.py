"""Repayments: a confirmed payment settles the loan when it covers the early-settlement figure,
else it is allocated over what is due and the next installment (late fee, fee, interest,
principal) and the rest is member credit; one balanced ledger entry in the same transaction;
the loan lifecycle updates the installments and closes a repaid loan."""

import secrets
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from core import audit
from core.clock import lagos_today
from core.errors import Conflict, DomainError, NotAllowed
from core.money import format_naira
from core.signals import send_after_commit
from ledger import chart
from ledger.models import EntryKind
from ledger.posting import credit, debit, post_entry
from loans import lifecycle
from loans.models import Installment, Loan, LoanStatus
from members.models import Member
from payments import signals
from payments.allocation import Owed, allocate
from payments.models import Allocation, Payment, PaymentChannel, PaymentStatus
from payments.selectors import available_credit
from payments.services.settlement import figures_for, rebate_unearned_interest

# A single manual repayment above this is refused as a likely typo (₦10m).
MAX_SINGLE_PAYMENT = 10_000_000_00


def new_reference(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(6).upper()}"


def _owed(installments) -> list[Owed]:
    return [
        Owed(
            i.pk,
            i.number,
            i.late_fee - i.paid_late_fee,
            i.fee - i.paid_fee,
            i.interest - i.paid_interest,
            i.principal - i.paid_principal,
        )
        for i in installments
    ]


PAID_FIELD = {
    "late_fee": "paid_late_fee",
    "fee": "paid_fee",
    "interest": "paid_interest",
    "principal": "paid_principal",
}
CASH_ACCOUNT = {
    PaymentChannel.CHECKOUT: chart.CASH_PROVIDER,
    PaymentChannel.CREDIT: chart.MEMBER_CREDIT,
}
RECEIVABLE = {
    "late_fee": chart.LOANS_PENALTIES,
    "fee": chart.LOANS_FEES,
    "interest": chart.LOANS_INTEREST,
    "principal": chart.LOANS_PRINCIPAL,
}


def due_now(installments: list[Installment], today) -> list[Installment]:
    """Where a payment goes before the rest becomes credit: every installment due up to today
    and the one whose period is running (the next to fall due). Paying further ahead would pay
    interest not yet earned; money beyond this is member credit, which pays installments as
    they fall due, or settles the loan, or is prepaid or refunded when the member asks."""
    running = next((i for i in installments if i.due_date > today), None)
    return [i for i in installments if i.outstanding and (i.due_date <= today or i is running)]


def _book(payment: Payment, loan: Loan, installments, parts, *, actor) -> None:
    """Allocation rows, the installments' paid amounts and one balanced ledger entry. On a
    written-off loan the money is a recovery: its receivables already left the books."""
    by_id = {i.pk: i for i in installments}
    recovery = loan.status == LoanStatus.WRITTEN_OFF
    dims = {"loan_id": loan.pk, "member_id": loan.member_id}
    lines = [debit(CASH_ACCOUNT.get(payment.channel, chart.CASH_BANK), payment.amount, **dims)]
    allocations = []
    for part in parts:
        allocations.append(
            Allocation(
                payment=payment,
                installment_id=part.installment_id,
                component=part.component,
                amount=part.amount,
            )
        )
        if part.component == "credit":
            lines.append(credit(chart.MEMBER_CREDIT, part.amount, **dims))
            continue
        inst = by_id[part.installment_id]
        field = PAID_FIELD[part.component]
        setattr(inst, field, getattr(inst, field) + part.amount)
        if recovery:
            lines.append(credit(chart.RECOVERY_INCOME, part.amount, **dims))
            continue
        lines.append(credit(RECEIVABLE[part.component], part.amount, **dims))
        if part.component == "interest":
            # Interest is income once it is paid.
            lines.append(debit(chart.UNEARNED_INTEREST, part.amount, **dims))
            lines.append(credit(chart.INTEREST_INCOME, part.amount, **dims))
    Allocation.objects.bulk_create(allocations)
    lifecycle.apply_installment_amounts(installments, now=payment.received_at or timezone.now())
    post_entry(
        kind=EntryKind.CREDIT_APPLIED
        if payment.channel == PaymentChannel.CREDIT
        else EntryKind.REPAYMENT,
        lines=lines,
        effective_date=lagos_today(),
        loan=loan,
        payment=payment,
        memo=f"{'Recovery' if recovery else 'Repayment'} {payment.reference}",
        idempotency_key=f"payment:{payment.pk}",
        actor=actor,
    )


def apply_payment(payment: Payment, loan: Loan, *, actor=None) -> None:
    """Allocate a successful payment and post its ledger entry (caller holds the loan lock).

    Money that, with the member's credit, covers the early-settlement figure of the day
    settles the loan (unearned interest rebated, ``payments.services.settlement``); otherwise
    it pays what is due and the next installment, and the rest is member credit."""
    installments = list(loan.installments.select_for_update().order_by("number"))
    today = lagos_today()
    available = available_credit(loan.member)
    figures = figures_for(loan, installments, on=today, credit_kobo=available)
    settles = figures.gross > 0 and payment.amount >= figures.total
    if settles:
        rebate_unearned_interest(
            loan, installments, figures, key=f"payment:{payment.pk}", actor=actor
        )
    targets = installments if settles else due_now(installments, today)
    _book(payment, loan, installments, allocate(payment.amount, _owed(targets)), actor=actor)
    if settles and payment.amount < figures.gross:
        pay_from_credit(
            loan=loan, installments=installments, amount=figures.gross - payment.amount, actor=actor
        )
    finish(loan, installments, actor=actor)


def finish(loan: Loan, installments, *, actor) -> None:
    """A loan that owes nothing more: an active one closes (discharge letter), a written-off
    one is recovered in full (discharge letter too)."""
    if loan.status == LoanStatus.WRITTEN_OFF:
        lifecycle.recovered_in_full(loan, installments, actor=actor)
    else:
        lifecycle.close_if_repaid(loan, installments, actor=actor)


def credit_payment(*, loan: Loan, amount: int, actor, prefix: str, intent: str = "") -> Payment:
    """A successful payment on the credit channel: money we already held for the member."""
    return Payment.objects.create(
        reference=new_reference(prefix),
        provider="credit",
        channel=PaymentChannel.CREDIT,
        loan=loan,
        member_id=loan.member_id,
        amount=amount,
        status=PaymentStatus.SUCCESSFUL,
        received_at=timezone.now(),
        recorded_by=actor if actor is not None and actor.is_authenticated else None,
        intent=intent,
    )


def pay_from_credit(*, loan: Loan, installments, amount: int, actor, targets=None) -> Payment:
    """Use ``amount`` of the member's credit for the loan's installments (``targets``, all by
    default): a payment on the credit channel, so the statement shows it and a reversal gives
    the credit back. The caller holds the loan's lock and has checked the credit."""
    owed = _owed(installments if targets is None else targets)
    if amount <= 0 or amount > sum(o.total for o in owed):
        raise Conflict("That is more credit than the installments still owe.")
    payment = credit_payment(loan=loan, amount=amount, actor=actor, prefix="CR")
    _book(payment, loan, installments, allocate(amount, owed), actor=actor)
    audit.record(
        actor=actor,
        action="payment.credit_used",
        obj=payment,
        changes={"loan": loan.reference, "amount": amount},
    )
    return payment


def _lock_member_then_loan(loan) -> Loan:
    """The member's row first, as everything that reads or spends member credit does, then
    the loan's: one order everywhere, so no two money paths deadlock. ``no_key``: the lock
    serialises credit users but lets other transactions insert rows pointing at the member
    (journal postings of a waiver on the loan, for one), which a plain FOR UPDATE would make
    wait behind us while we wait for their loan lock."""
    Member.objects.select_for_update(no_key=True).get(pk=loan.member_id)
    return Loan.objects.select_for_update().get(pk=loan.pk)


def _lock_active_loan(loan) -> Loan:
    """Repayments go to active loans, and to written-off ones (recoveries: the debt remains)."""
    loan = _lock_member_then_loan(loan)
    if loan.status not in (LoanStatus.ACTIVE, LoanStatus.WRITTEN_OFF):
        raise Conflict(
            f"Loan {loan.reference} is {loan.get_status_display().lower()}; "
            "repayments go to active loans."
        )
    if loan.status == LoanStatus.WRITTEN_OFF and loan.closed_at is not None:
        raise Conflict(f"Loan {loan.reference} was recovered in full: nothing more is owed on it.")
    return loan


def lock_loan_for_checkout(loan) -> Loan:
    """Money the member paid through the provider is ours to post even if the loan closed
    after the checkout started (it becomes member credit); other states refuse as before."""
    loan = _lock_member_then_loan(loan)
    if loan.status not in (LoanStatus.ACTIVE, LoanStatus.CLOSED, LoanStatus.WRITTEN_OFF):
        raise Conflict(
            f"Loan {loan.reference} is {loan.get_status_display().lower()}; "
            "repayments go to active loans."
        )
    return loan


@transaction.atomic
def record_payment(
    *,
    loan: Loan,
    amount: int,
    channel: str,
    reference: str,
    provider: str,
    actor=None,
    received_at: datetime | None = None,
    reason: str = "",
    evidence: str = "",
    raw_payload: dict | None = None,
) -> Payment:
    """A confirmed repayment (manual entry, bank statement match, allowance deduction)."""
    if not isinstance(amount, int) or amount <= 0:
        raise DomainError("A repayment must be a positive amount.", fields={"amount": "Invalid"})
    if amount > MAX_SINGLE_PAYMENT:
        raise DomainError(
            f"{format_naira(amount)} is more than any single repayment we accept; "
            "check the amount.",
            fields={"amount": "Too large"},
        )
    loan = _lock_active_loan(loan)
    if Payment.objects.filter(reference=reference).exists():
        raise Conflict(f"A payment with reference {reference} is already recorded.")
    payment = Payment.objects.create(
        reference=reference,
        provider=provider,
        channel=channel,
        loan=loan,
        member_id=loan.member_id,
        amount=amount,
        status=PaymentStatus.SUCCESSFUL,
        received_at=received_at or timezone.now(),
        recorded_by=actor if actor and actor.is_authenticated else None,
        reason=reason[:2000],
        evidence=evidence[:200],
        raw_payload=raw_payload or {},
    )
    apply_payment(payment, loan, actor=actor)
    audit.record(
        actor=actor,
        action="payment.recorded",
        obj=payment,
        changes={"loan": loan.reference, "amount": amount, "channel": channel},
    )
    pk = payment.pk
    send_after_commit(signals.payment_received, Payment, payment_id=pk)
    return payment


def record_manual_payment(*, loan, actor, amount, reason, evidence="") -> Payment:
    if not actor.has_perm("payments.add_payment"):
        raise NotAllowed("You do not have permission to record payments.")
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise DomainError(
            "Say why this payment is entered by hand (at least 5 characters).",
            fields={"reason": "Required"},
        )
    evidence = " ".join((evidence or "").split())[:200]
    duplicate = (
        Payment.objects.filter(channel=PaymentChannel.MANUAL, evidence__iexact=evidence)
        .exclude(status=PaymentStatus.REVERSED)
        .first()
        if evidence
        else None
    )
    if duplicate is not None:
        raise Conflict(
            f"Receipt reference {evidence} is already recorded as payment "
            f"{duplicate.reference}; one receipt pays once."
        )
    try:
        with transaction.atomic():
            return record_payment(
                loan=loan,
                amount=amount,
                channel=PaymentChannel.MANUAL,
                reference=new_reference("MAN"),
                provider="manual",
                actor=actor,
                reason=reason,
                evidence=evidence,
            )
    except IntegrityError as exc:
        # Two finance users entering one receipt at the same moment: the unique index
        # lets the first through and refuses the second.
        if "payment_unique_manual_evidence" in str(exc):
            raise Conflict(
                f"Receipt reference {evidence} is already recorded; one receipt pays once."
            ) from exc
        raise
