"""Repayments: a confirmed payment is allocated over the installments (late fee, fee,
interest, principal, then member credit) and posts one balanced ledger entry in the same
transaction; the loan lifecycle updates the installments and closes a repaid loan."""

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
from loans.models import Loan, LoanStatus
from payments import signals
from payments.allocation import Owed, allocate
from payments.models import Allocation, Payment, PaymentChannel, PaymentStatus

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
RECEIVABLE = {
    "late_fee": chart.LOANS_PENALTIES,
    "fee": chart.LOANS_FEES,
    "interest": chart.LOANS_INTEREST,
    "principal": chart.LOANS_PRINCIPAL,
}


def apply_payment(payment: Payment, loan: Loan, *, actor=None) -> None:
    """Allocate a successful payment and post its ledger entry (caller holds the loan lock)."""
    installments = list(loan.installments.select_for_update().order_by("number"))
    parts = allocate(payment.amount, _owed(installments))
    by_id = {i.pk: i for i in installments}
    cash_account = (
        chart.CASH_PROVIDER if payment.channel == PaymentChannel.CHECKOUT else chart.CASH_BANK
    )
    dims = {"loan_id": loan.pk, "member_id": loan.member_id}
    lines = [debit(cash_account, payment.amount, **dims)]
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
        lines.append(credit(RECEIVABLE[part.component], part.amount, **dims))
        if part.component == "interest":
            # Interest is income once it is paid.
            lines.append(debit(chart.UNEARNED_INTEREST, part.amount, **dims))
            lines.append(credit(chart.INTEREST_INCOME, part.amount, **dims))
    Allocation.objects.bulk_create(allocations)
    lifecycle.apply_installment_amounts(installments, now=payment.received_at or timezone.now())
    post_entry(
        kind=EntryKind.REPAYMENT,
        lines=lines,
        effective_date=lagos_today(),
        loan=loan,
        payment=payment,
        memo=f"Repayment {payment.reference}",
        idempotency_key=f"payment:{payment.pk}",
        actor=actor,
    )
    lifecycle.close_if_repaid(loan, installments, actor=actor)


def _lock_active_loan(loan) -> Loan:
    loan = Loan.objects.select_for_update().get(pk=loan.pk)
    if loan.status != LoanStatus.ACTIVE:
        raise Conflict(
            f"Loan {loan.reference} is {loan.get_status_display().lower()}; "
            "repayments go to active loans."
        )
    return loan


def lock_loan_for_checkout(loan) -> Loan:
    """Money the member paid through the provider is ours to post even if the loan closed
    after the checkout started (it becomes member credit); other states refuse as before."""
    loan = Loan.objects.select_for_update().get(pk=loan.pk)
    if loan.status not in (LoanStatus.ACTIVE, LoanStatus.CLOSED):
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
