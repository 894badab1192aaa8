"""Checkout: the member pays through the provider's page; the verified charge is posted as
a repayment once (webhook or return, whichever comes first)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import audit
from core.errors import Conflict, DomainError, NotAllowed
from core.money import format_naira
from core.signals import send_after_commit
from ledger.selectors import loan_balance
from loans.models import Loan, LoanStatus
from loans.selectors import contractual_outstanding
from payments import signals
from payments.models import Payment, PaymentChannel, PaymentStatus
from payments.providers import get_provider
from payments.providers.base import ChargeState
from payments.services.credit import INTENTS, carry_out_intent
from payments.services.repayment import apply_payment, lock_loan_for_checkout, new_reference

logger = logging.getLogger(__name__)

# A checkout the provider may still confirm: waiting, or expired unpaid (money that arrives
# after the expiry is still posted, never lost).
CONFIRMABLE = (PaymentStatus.PENDING, PaymentStatus.EXPIRED)


class AmountMismatch(Conflict):
    code = "amount_mismatch"


class CheckoutInProgress(Conflict):
    """The member already has a checkout waiting for the provider on this loan."""

    def __init__(self, payment: Payment):
        self.payment = payment
        super().__init__(
            "You have a payment in progress for this loan "
            f"({format_naira(payment.amount)}, reference {payment.reference}). Finish it or "
            "wait until it is confirmed before starting another one."
        )


def _waiting():
    """Checkouts waiting for the provider."""
    return Payment.objects.filter(channel=PaymentChannel.CHECKOUT, status=PaymentStatus.PENDING)


def pending_checkout(loan: Loan) -> Payment | None:
    """The loan's checkout still waiting for the provider, if it is younger than
    ``CHECKOUT_PENDING_MINUTES``. An older one no longer blocks a new "Pay": a provider
    page left open that long is abandoned; if its money still arrives, it is posted like any
    other (to the loan, or as member credit when the loan is already repaid)."""
    cutoff = timezone.now() - timedelta(minutes=settings.CHECKOUT_PENDING_MINUTES)
    return _waiting().filter(loan=loan, created_at__gte=cutoff).order_by("-created_at").first()


@transaction.atomic
def start_checkout(
    *, loan: Loan, actor, amount: int, callback_url: str, intent: str = ""
) -> tuple[Payment, str]:
    """Member's "Pay": a pending payment, then the provider's hosted page.

    The loan row is locked so two clicks (two tabs, a double submit) are serialised: the
    second sees the first's pending checkout and is refused instead of charging the member
    twice for one balance."""
    loan = Loan.objects.select_for_update().get(pk=loan.pk)
    if loan.member.user_id != actor.pk:
        raise NotAllowed("You can only pay your own loan.")
    if loan.status not in (LoanStatus.ACTIVE, LoanStatus.WRITTEN_OFF):
        raise Conflict("This loan is not active.")
    if intent and intent not in INTENTS:
        raise DomainError("Unknown purpose for this payment.", fields={"intent": "Invalid"})
    in_progress = pending_checkout(loan)
    if in_progress is not None:
        raise CheckoutInProgress(in_progress)
    # After a write-off the ledger holds nothing, but the agreement still does (recoveries).
    outstanding = (
        contractual_outstanding(loan)
        if loan.status == LoanStatus.WRITTEN_OFF
        else loan_balance(loan)
    )
    if not isinstance(amount, int) or amount <= 0 or amount > outstanding:
        raise DomainError(
            f"Pay between ₦0.01 and the {format_naira(outstanding)} you owe.",
            fields={"amount": "Invalid"},
        )
    provider = get_provider()
    payment = Payment.objects.create(
        reference=new_reference("PAY"),
        provider=provider.name,
        channel=PaymentChannel.CHECKOUT,
        loan=loan,
        member_id=loan.member_id,
        amount=amount,
        intent=intent,
    )
    session = provider.initialize_checkout(
        reference=payment.reference,
        amount=amount,
        email=loan.member.user.email,
        callback_url=callback_url,
    )
    # Kept so "You have a payment in progress" can send the member back to the same page.
    payment.raw_payload = {"authorization_url": session.authorization_url}
    payment.save(update_fields=["raw_payload"])
    audit.record(
        actor=actor, action="payment.checkout_started", obj=payment, changes={"amount": amount}
    )
    return payment, session.authorization_url


def confirm_checkout(*, reference: str) -> Payment:
    """Verify with the provider, then post. Used by the webhook task and the return URL."""
    payment = Payment.objects.get(reference=reference)
    if payment.status not in CONFIRMABLE:
        return payment
    result = get_provider(payment.provider).verify_charge(reference=reference)
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status not in CONFIRMABLE:
            return payment
        was = payment.status
        if result.state == ChargeState.FAILED and was == PaymentStatus.PENDING:
            payment.status = PaymentStatus.FAILED
            payment.raw_payload = result.raw
            payment.save(update_fields=["status", "raw_payload"])
            return payment
        if result.state != ChargeState.SUCCESS:
            return payment
        if result.amount != payment.amount:
            raise AmountMismatch(
                f"Provider says {result.amount} kobo, we expected {payment.amount}."
            )
        loan = lock_loan_for_checkout(payment.loan)
        payment.status = PaymentStatus.SUCCESSFUL
        payment.received_at = result.paid_at or timezone.now()
        payment.raw_payload = result.raw
        payment.save(update_fields=["status", "received_at", "raw_payload"])
        # On a loan repaid meanwhile (a second checkout, a bank transfer) everything owed is
        # zero, so allocation turns the whole amount into member credit: the member's money
        # is posted and visible, never left pending.
        apply_payment(payment, loan)
        audit.record(
            actor=None,
            action="payment.confirmed",
            obj=payment,
            changes={
                "amount": payment.amount,
                "loan": loan.reference,
                "confirmed_after_expiry": was == PaymentStatus.EXPIRED,
                "to_member_credit": sum(
                    a.amount for a in payment.allocations.all() if a.component == "credit"
                ),
            },
        )
        pk = payment.pk
        send_after_commit(signals.payment_received, Payment, payment_id=pk)
    # The member's prepayment, in its own transaction once the money is safely posted.
    carry_out_intent(payment)
    return payment


def stale_checkouts(*, limit: int = 500) -> list[str]:
    """References of checkouts still waiting for the provider ``CHECKOUT_EXPIRE_MINUTES``
    after they started, oldest first."""
    cutoff = timezone.now() - timedelta(minutes=settings.CHECKOUT_EXPIRE_MINUTES)
    return list(
        _waiting()
        .filter(created_at__lt=cutoff)
        .order_by("created_at", "id")
        .values_list("reference", flat=True)[:limit]
    )


def expire_checkout(*, reference: str) -> Payment:
    """Ask the provider once more (a charge it confirms is posted, a declined one fails); a
    checkout still unpaid then expires: it moved no money, so no ledger entry, one audit
    event, and it leaves the member's statement. Safe to run twice."""
    payment = confirm_checkout(reference=reference)
    if payment.status != PaymentStatus.PENDING:
        return payment
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status != PaymentStatus.PENDING:
            return payment
        payment.status = PaymentStatus.EXPIRED
        payment.save(update_fields=["status"])
        audit.record(
            actor=None,
            action="payment.checkout_expired",
            obj=payment,
            changes={"status": [PaymentStatus.PENDING, PaymentStatus.EXPIRED]},
        )
    return payment


# How the sweep counts each checkout by the status it ends in (anything else: failed).
SWEEP_OUTCOME = {PaymentStatus.EXPIRED: "expired", PaymentStatus.SUCCESSFUL: "confirmed"}


def expire_stale_checkouts() -> dict[str, int]:
    """The periodic sweep: each stale checkout on its own, so a provider error on one leaves
    it pending for the next run and does not stop the others."""
    outcome = {"expired": 0, "confirmed": 0, "failed": 0, "errors": 0}
    for reference in stale_checkouts():
        try:
            payment = expire_checkout(reference=reference)
        except Exception:
            logger.exception("checkout expiry failed", extra={"payment_reference": reference})
            outcome["errors"] += 1
            continue
        outcome[SWEEP_OUTCOME.get(payment.status, "failed")] += 1
    return outcome
