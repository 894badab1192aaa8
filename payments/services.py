"""Money movements: disbursement (outbox + provider), repayments with allocation, reversals,
webhook processing. Every movement posts one balanced ledger entry in the same transaction
as the business change, and leaves an audit event.
"""

import difflib
import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core import audit, jobs
from core.clock import lagos_today
from core.errors import Conflict, DomainError, NotAllowed
from core.money import format_naira
from core.signals import send_after_commit
from loans import lifecycle
from loans.models import Loan, LoanStatus
from loans.services import refix_schedule_dates
from members.models import Member
from members.staff_identity import check_independent
from payments import ledger, signals
from payments.allocation import Owed, allocate
from payments.ledger import credit, debit
from payments.models import (
    Allocation,
    Disbursement,
    DisbursementStatus,
    EntryKind,
    Payment,
    PaymentChannel,
    PaymentStatus,
    WebhookEvent,
    WebhookEventKey,
    WebhookStatus,
)
from payments.providers import get_provider
from payments.providers.base import ChargeState, ProviderError, ProviderRejected, TransferState

logger = logging.getLogger(__name__)

# A single manual repayment above this is refused as a likely typo (₦10m).
MAX_SINGLE_PAYMENT = 10_000_000_00
NAME_MATCH_THRESHOLD = 0.8


class AmountMismatch(Conflict):
    code = "amount_mismatch"


def _reference(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(6).upper()}"


# --- Payout account -------------------------------------------------------------------------


def names_match(member_name: str, account_name: str) -> bool:
    """Fuzzy: same words in any order (banks print SURNAME FIRSTNAME), small typos allowed."""

    def words(text):
        return sorted(
            w
            for w in "".join(c if c.isalpha() else " " for c in text.upper()).split()
            if len(w) > 1
        )

    a, b = words(member_name), words(account_name)
    if not a or not b:
        return False
    if set(a) <= set(b) or set(b) <= set(a):
        return True
    return difflib.SequenceMatcher(None, " ".join(a), " ".join(b)).ratio() >= NAME_MATCH_THRESHOLD


def resolve_payout_account(*, member, actor) -> bool:
    """Ask the provider whose account this is; a matching name confirms it automatically,
    bound to exactly the bank code and account number that were resolved."""
    bank_code, account_number = member.bank_code, member.account_number
    try:
        resolution = get_provider().resolve_account(
            account_number=account_number, bank_code=bank_code
        )
    except ProviderError as exc:
        raise DomainError(f"The bank could not confirm the account: {exc}") from exc
    with transaction.atomic():
        member = Member.objects.select_for_update().get(pk=member.pk)
        if (member.bank_code, member.account_number) != (bank_code, account_number):
            raise Conflict("The member's account changed while it was being checked; try again.")
        matches = names_match(member.full_name, resolution.account_name)
        if matches:
            fields = member.mark_payout_confirmed(resolution.account_name)
        else:
            fields = member.clear_payout_confirmation()
            member.account_name = resolution.account_name[:150]
        member.save(update_fields=[*fields, "updated_at"])
        audit.record(
            actor=actor,
            action="member.account_resolved",
            obj=member,
            changes={
                "name_matches": matches,
                "bank_code": bank_code,
                "account_number": account_number,
                "account_name": member.account_name,
            },
        )
    return matches


@transaction.atomic
def confirm_payout_account(*, member, actor):
    """Override a mismatching account name (maker-checker): a first finance user asks, a
    second one confirms; neither may share an identity with the member or with each other's
    member. Returns the member; ``payout_account_confirmed`` says which step this was."""
    if not (actor.is_authenticated and actor.is_staff and actor.has_perm("loans.disburse_loan")):
        raise NotAllowed("You cannot confirm payout accounts.")

    member = Member.objects.select_for_update().get(pk=member.pk)
    if not member.account_name:
        raise DomainError("Resolve the account name with the provider first.")
    if member.payout_account_confirmed:
        raise Conflict("This account is already confirmed.")
    requester = member.account_override_requested_by
    check_independent(
        actor=actor, member=member, counterparts=[requester], action="account_override"
    )
    now = timezone.now()
    if requester is None:
        member.account_override_requested_by = actor
        member.account_override_requested_at = now
        member.save(
            update_fields=[
                "account_override_requested_by",
                "account_override_requested_at",
                "updated_at",
            ]
        )
        audit.record(
            actor=actor,
            action="member.account_override_requested",
            obj=member,
            changes={
                "account_name": member.account_name,
                "bank_code": member.bank_code,
                "account_number": member.account_number,
            },
        )
        return member
    if requester.pk == actor.pk:
        raise NotAllowed(
            "You asked for this override; a second finance user must confirm it (maker-checker)."
        )
    fields = member.mark_payout_confirmed(member.account_name)
    member.save(update_fields=[*fields, "updated_at"])
    audit.record(
        actor=actor,
        action="member.account_confirmed",
        obj=member,
        changes={
            "account_name": member.account_name,
            "bank_code": member.bank_code,
            "account_number": member.account_number,
            "override_requested_by": requester.pk,
        },
    )
    return member


# --- Disbursement ----------------------------------------------------------------------------


def _check_disburser(loan, actor):
    if not (actor.is_authenticated and actor.is_staff and actor.has_perm("loans.disburse_loan")):
        raise NotAllowed("You do not have permission to disburse loans.")
    approvers = [a.officer for a in loan.application.approvals.select_related("officer")]
    if any(officer.pk == actor.pk for officer in approvers):
        raise NotAllowed("You approved this loan, so someone else must pay it out (maker-checker).")
    if loan.member.user_id == actor.pk:
        raise NotAllowed("You cannot pay out your own loan.")
    # The officers who approved are the other half of the pair: a member who shares their
    # identity (or the payer's) is not paid by this pair.
    check_independent(
        actor=actor, member=loan.member, counterparts=approvers, action="disbursement"
    )


def _check_bound_account(member):
    if not member.payout_account_confirmed:
        if member.account_name_confirmed:
            raise DomainError(
                "The member's bank account changed after its name was confirmed; check the "
                "account name again before paying out."
            )
        raise DomainError("The account name has not been matched or confirmed yet.")


@transaction.atomic
def request_disbursement(*, loan: Loan, actor) -> Disbursement:
    """Write the payout intent (outbox row) with its unique reference; a task sends it."""
    loan = Loan.objects.select_for_update().select_related("member", "application").get(pk=loan.pk)
    _check_disburser(loan, actor)
    if loan.status != LoanStatus.PENDING_DISBURSEMENT:
        raise Conflict(
            f"Loan {loan.reference} is {loan.get_status_display().lower()}; it cannot be paid out."
        )
    _check_bound_account(loan.member)
    if Disbursement.objects.filter(
        loan=loan,
        status__in=[
            DisbursementStatus.QUEUED,
            DisbursementStatus.SENT,
            DisbursementStatus.SUCCEEDED,
        ],
    ).exists():
        raise Conflict(f"Loan {loan.reference} is already being paid out.")
    provider = get_provider()
    attempt = Disbursement.objects.filter(loan=loan).count() + 1
    try:
        with transaction.atomic():
            disbursement = Disbursement.objects.create(
                reference=f"DSB-{loan.reference}-{attempt}",
                loan=loan,
                amount=loan.disbursed_amount,
                provider=provider.name,
                initiated_by=actor,
                bank_code=loan.member.confirmed_bank_code,
                account_number=loan.member.confirmed_account_number,
                account_name=loan.member.account_name,
            )
    except IntegrityError as exc:
        raise Conflict(f"Loan {loan.reference} is already being paid out.") from exc
    audit.record(
        actor=actor,
        action="disbursement.requested",
        obj=loan,
        changes={
            "disbursement": disbursement.reference,
            "amount": disbursement.amount,
            "bank_code": disbursement.bank_code,
            "account_number": disbursement.account_number,
        },
    )
    pk = disbursement.pk
    jobs.enqueue_after_commit("payments.send_disbursement", pk)
    return disbursement


def send_disbursement(*, disbursement_id: int) -> Disbursement:
    """Hand the transfer to the provider. Safe to run again at any point: the reference is
    fixed, the provider refuses a second transfer with it, and verify tells the truth."""
    with transaction.atomic():
        disbursement = (
            Disbursement.objects.select_for_update()
            .select_related("loan__member")
            .get(pk=disbursement_id)
        )
        if disbursement.status not in (DisbursementStatus.QUEUED, DisbursementStatus.SENT):
            return disbursement
        changed = _account_changed_since_request(disbursement)
        if changed and disbursement.status == DisbursementStatus.QUEUED:
            # Never handed to the provider: refuse rather than pay an account nobody checked.
            return fail_disbursement(reference=disbursement.reference, reason=changed)
        # Mark as sent *before* calling out: if we die after the provider accepted it, the
        # sweeper sees "sent" and verifies instead of sending blindly.
        disbursement.status = DisbursementStatus.SENT
        disbursement.attempts = F("attempts") + 1
        disbursement.sent_at = disbursement.sent_at or timezone.now()
        disbursement.save(update_fields=["status", "attempts", "sent_at", "updated_at"])
    disbursement.refresh_from_db()
    provider = get_provider(disbursement.provider)
    member = disbursement.loan.member
    try:
        if not disbursement.recipient_code:
            changed = _account_changed_since_request(disbursement)
            if changed:
                return fail_disbursement(reference=disbursement.reference, reason=changed)
            # The recipient is the account bound at request time, never whatever the
            # member's record says now.
            code = provider.create_recipient(
                name=member.full_name,
                account_number=disbursement.account_number,
                bank_code=disbursement.bank_code,
            )
            Disbursement.objects.filter(pk=disbursement.pk).update(recipient_code=code)
            disbursement.recipient_code = code
        result = provider.initiate_transfer(
            reference=disbursement.reference,
            amount=disbursement.amount,
            recipient_code=disbursement.recipient_code,
            reason=f"AllaweePlus loan {disbursement.loan.reference}",
        )
    except ProviderRejected as exc:
        # The provider answered and refused (e.g. invalid account): retrying cannot help.
        return fail_disbursement(reference=disbursement.reference, reason=str(exc))
    except ProviderError as exc:
        logger.warning(
            "transfer not sent; the sweeper will verify and retry",
            extra={"event": "disbursement.provider_error"},
        )
        Disbursement.objects.filter(pk=disbursement.pk).update(failure_reason=str(exc)[:500])
        return disbursement
    return apply_transfer_result(reference=disbursement.reference, result=result)


def _account_changed_since_request(disbursement) -> str:
    """Why this payout may not go out to the member's account (empty when it may)."""

    member = Member.objects.get(pk=disbursement.loan.member_id)
    bound = (disbursement.bank_code, disbursement.account_number)
    if not disbursement.account_number:
        return "Payout not bound to a confirmed account; request it again."
    if (
        not member.payout_account_confirmed
        or (
            member.bank_code,
            member.account_number,
        )
        != bound
    ):
        return (
            "The member's bank account changed after the payout was requested; nothing was "
            "sent. Confirm the new account and request the payout again."
        )
    return ""


def apply_transfer_result(*, reference: str, result) -> Disbursement:
    """Record a transfer's state from the provider (initiate, verify or webhook)."""
    if result.state == TransferState.SUCCESS:
        return complete_disbursement(
            reference=reference, provider_reference=result.provider_reference
        )
    if result.state in (TransferState.FAILED, TransferState.REVERSED):
        return fail_disbursement(reference=reference, reason=result.reason or result.state.value)
    disbursement = Disbursement.objects.get(reference=reference)
    if result.provider_reference and not disbursement.provider_reference:
        Disbursement.objects.filter(pk=disbursement.pk).update(
            provider_reference=result.provider_reference
        )
    return disbursement


@transaction.atomic
def complete_disbursement(
    *,
    reference: str,
    provider_reference: str = "",
    bank_reference: str = "",
    actor=None,
) -> Disbursement:
    disbursement = Disbursement.objects.select_for_update().get(reference=reference)
    if disbursement.status == DisbursementStatus.SUCCEEDED:
        return disbursement  # duplicate webhook or verify: nothing twice
    if disbursement.status == DisbursementStatus.FAILED:
        # A "success" after we recorded a failure must be looked at by a person.
        logger.error("transfer success after failure", extra={"event": "disbursement.conflict"})
        raise Conflict(
            f"Disbursement {reference} was marked failed but the provider reports "
            "success; finance must investigate."
        )
    loan = (
        Loan.objects.select_for_update().select_related("application").get(pk=disbursement.loan_id)
    )
    now = timezone.now()
    today = lagos_today()
    disbursement.status = DisbursementStatus.SUCCEEDED
    disbursement.provider_reference = provider_reference or disbursement.provider_reference
    disbursement.bank_reference = bank_reference or disbursement.bank_reference
    disbursement.completed_at = now
    disbursement.failure_reason = ""
    disbursement.save()
    lifecycle.activate_on_payout(
        loan,
        actor=actor,
        now=now,
        on=today,
        changes={"disbursement": reference, "amount": disbursement.amount},
    )
    refix_schedule_dates(loan=loan, disbursed_on=today)
    post_disbursement_entry(loan=loan, disbursement=disbursement, effective_date=today, actor=actor)
    pk = loan.pk
    send_after_commit(signals.loan_event, Loan, loan_id=pk, template="loan_disbursed")
    return disbursement


def post_disbursement_entry(*, loan, disbursement, effective_date, actor=None):
    """Payout: principal and the whole contractual interest become receivable; the fee is
    income now (deducted) or receivable (first installment); cash leaves the provider."""
    cash_account = ledger.CASH_BANK if disbursement.provider == "manual" else ledger.CASH_PROVIDER
    dims = {"loan_id": loan.pk, "member_id": loan.member_id}
    fee_on_installment = loan.fee_treatment == "first_installment"
    lines = [
        debit(ledger.LOANS_PRINCIPAL, loan.principal, **dims),
        debit(ledger.LOANS_INTEREST, loan.total_interest, **dims),
        credit(ledger.UNEARNED_INTEREST, loan.total_interest, **dims),
        credit(cash_account, disbursement.amount, **dims),
        credit(ledger.FEE_INCOME, loan.fee_amount, **dims),
    ]
    if fee_on_installment:
        lines.append(debit(ledger.LOANS_FEES, loan.fee_amount, **dims))
    return ledger.post_entry(
        kind=EntryKind.DISBURSEMENT,
        lines=lines,
        effective_date=effective_date,
        loan=loan,
        memo=f"Payout {disbursement.reference}",
        idempotency_key=f"disbursement:{loan.pk}",
        actor=actor,
    )


@transaction.atomic
def fail_disbursement(*, reference: str, reason: str, actor=None) -> Disbursement:
    disbursement = Disbursement.objects.select_for_update().get(reference=reference)
    if disbursement.status in (DisbursementStatus.FAILED, DisbursementStatus.SUCCEEDED):
        return disbursement
    disbursement.status = DisbursementStatus.FAILED
    disbursement.failure_reason = reason[:500]
    disbursement.completed_at = timezone.now()
    disbursement.save(update_fields=["status", "failure_reason", "completed_at", "updated_at"])
    audit.record(
        actor=actor,
        action="disbursement.failed",
        obj=disbursement.loan,
        changes={"disbursement": reference, "reason": reason[:200]},
    )
    return disbursement


@transaction.atomic
def record_manual_disbursement(*, loan: Loan, actor, bank_reference: str) -> Disbursement:
    """Finance paid the member elsewhere and records the bank's reference."""
    bank_reference = (bank_reference or "").strip()
    if len(bank_reference) < 6:
        raise DomainError("Enter the bank's transfer reference (at least 6 characters).")
    loan = Loan.objects.select_for_update().select_related("member", "application").get(pk=loan.pk)
    _check_disburser(loan, actor)
    if loan.status != LoanStatus.PENDING_DISBURSEMENT:
        raise Conflict(f"Loan {loan.reference} is {loan.get_status_display().lower()}.")
    _check_bound_account(loan.member)
    attempt = Disbursement.objects.filter(loan=loan).count() + 1
    try:
        with transaction.atomic():
            disbursement = Disbursement.objects.create(
                reference=f"DSB-{loan.reference}-M{attempt}",
                loan=loan,
                amount=loan.disbursed_amount,
                provider="manual",
                status=DisbursementStatus.SENT,
                bank_reference=bank_reference,
                initiated_by=actor,
                sent_at=timezone.now(),
                bank_code=loan.member.confirmed_bank_code,
                account_number=loan.member.confirmed_account_number,
                account_name=loan.member.account_name,
            )
    except IntegrityError as exc:
        raise Conflict(f"Loan {loan.reference} is already being paid out.") from exc
    return complete_disbursement(
        reference=disbursement.reference,
        bank_reference=bank_reference,
        actor=actor,
    )


def sweep_disbursements(*, older_than_seconds: int = 300) -> dict:
    """Re-drive payouts stuck in queued/sent: verify with the provider before any resend."""
    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    counts = {"verified": 0, "resent": 0, "pending": 0, "errors": 0}
    stuck = list(
        Disbursement.objects.filter(
            status__in=[DisbursementStatus.QUEUED, DisbursementStatus.SENT],
            updated_at__lt=cutoff,
        )
        .exclude(provider="manual")
        .values_list("pk", "reference", "provider")
    )
    for pk, reference, provider_name in stuck:
        provider = get_provider(provider_name)
        try:
            result = provider.verify_transfer(reference=reference)
        except ProviderError:
            counts["errors"] += 1
            continue
        if result.state == TransferState.NOT_FOUND:
            send_disbursement(disbursement_id=pk)  # same reference: cannot pay twice
            counts["resent"] += 1
        elif result.state == TransferState.PENDING:
            Disbursement.objects.filter(pk=pk).update(updated_at=timezone.now())
            counts["pending"] += 1
        else:
            apply_transfer_result(reference=reference, result=result)
            counts["verified"] += 1
    return counts


# --- Repayments --------------------------------------------------------------------------------


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


_PAID_FIELD = {
    "late_fee": "paid_late_fee",
    "fee": "paid_fee",
    "interest": "paid_interest",
    "principal": "paid_principal",
}
_RECEIVABLE = {
    "late_fee": ledger.LOANS_PENALTIES,
    "fee": ledger.LOANS_FEES,
    "interest": ledger.LOANS_INTEREST,
    "principal": ledger.LOANS_PRINCIPAL,
}


def _apply_payment(payment: Payment, loan: Loan, *, actor=None) -> None:
    """Allocate a successful payment and post its ledger entry (caller holds the loan lock)."""
    installments = list(loan.installments.select_for_update().order_by("number"))
    parts = allocate(payment.amount, _owed(installments))
    by_id = {i.pk: i for i in installments}
    cash_account = (
        ledger.CASH_PROVIDER if payment.channel == PaymentChannel.CHECKOUT else ledger.CASH_BANK
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
            lines.append(credit(ledger.MEMBER_CREDIT, part.amount, **dims))
            continue
        inst = by_id[part.installment_id]
        field = _PAID_FIELD[part.component]
        setattr(inst, field, getattr(inst, field) + part.amount)
        lines.append(credit(_RECEIVABLE[part.component], part.amount, **dims))
        if part.component == "interest":
            # Interest is income once it is paid.
            lines.append(debit(ledger.UNEARNED_INTEREST, part.amount, **dims))
            lines.append(credit(ledger.INTEREST_INCOME, part.amount, **dims))
    Allocation.objects.bulk_create(allocations)
    lifecycle.apply_installment_amounts(installments, now=payment.received_at or timezone.now())
    ledger.post_entry(
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


def _lock_loan_for_checkout(loan) -> Loan:
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
    _apply_payment(payment, loan, actor=actor)
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
                reference=_reference("MAN"),
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


class CheckoutInProgress(Conflict):
    """The member already has a checkout waiting for the provider on this loan."""

    def __init__(self, payment: Payment):
        self.payment = payment
        super().__init__(
            "You have a payment in progress for this loan "
            f"({format_naira(payment.amount)}, reference {payment.reference}). Finish it or "
            "wait until it is confirmed before starting another one."
        )


def pending_checkout(loan: Loan) -> Payment | None:
    """The loan's checkout still waiting for the provider, if it is younger than
    ``CHECKOUT_PENDING_MINUTES``. An older one no longer blocks a new "Pay": a provider
    page left open that long is abandoned; if its money still arrives, it is posted like any
    other (to the loan, or as member credit when the loan is already repaid)."""
    cutoff = timezone.now() - timedelta(minutes=settings.CHECKOUT_PENDING_MINUTES)
    return (
        Payment.objects.filter(
            loan=loan,
            channel=PaymentChannel.CHECKOUT,
            status=PaymentStatus.PENDING,
            created_at__gte=cutoff,
        )
        .order_by("-created_at")
        .first()
    )


@transaction.atomic
def start_checkout(*, loan: Loan, actor, amount: int, callback_url: str) -> tuple[Payment, str]:
    """Member's "Pay": a pending payment, then the provider's hosted page.

    The loan row is locked so two clicks (two tabs, a double submit) are serialised: the
    second sees the first's pending checkout and is refused instead of charging the member
    twice for one balance."""
    loan = Loan.objects.select_for_update().get(pk=loan.pk)
    if loan.member.user_id != actor.pk:
        raise NotAllowed("You can only pay your own loan.")
    if loan.status != LoanStatus.ACTIVE:
        raise Conflict("This loan is not active.")
    in_progress = pending_checkout(loan)
    if in_progress is not None:
        raise CheckoutInProgress(in_progress)
    outstanding = ledger.loan_balance(loan)
    if not isinstance(amount, int) or amount <= 0 or amount > outstanding:
        raise DomainError(
            f"Pay between ₦0.01 and the {format_naira(outstanding)} you owe.",
            fields={"amount": "Invalid"},
        )
    provider = get_provider()
    payment = Payment.objects.create(
        reference=_reference("PAY"),
        provider=provider.name,
        channel=PaymentChannel.CHECKOUT,
        loan=loan,
        member_id=loan.member_id,
        amount=amount,
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
    if payment.status != PaymentStatus.PENDING:
        return payment
    result = get_provider(payment.provider).verify_charge(reference=reference)
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status != PaymentStatus.PENDING:
            return payment
        if result.state == ChargeState.FAILED:
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
        loan = _lock_loan_for_checkout(payment.loan)
        payment.status = PaymentStatus.SUCCESSFUL
        payment.received_at = result.paid_at or timezone.now()
        payment.raw_payload = result.raw
        payment.save(update_fields=["status", "received_at", "raw_payload"])
        # On a loan repaid meanwhile (a second checkout, a bank transfer) everything owed is
        # zero, so allocation turns the whole amount into member credit: the member's money
        # is posted and visible, never left pending.
        _apply_payment(payment, loan)
        audit.record(
            actor=None,
            action="payment.confirmed",
            obj=payment,
            changes={
                "amount": payment.amount,
                "loan": loan.reference,
                "to_member_credit": sum(
                    a.amount for a in payment.allocations.all() if a.component == "credit"
                ),
            },
        )
        pk = payment.pk
        send_after_commit(signals.payment_received, Payment, payment_id=pk)
    return payment


@transaction.atomic
def reverse_payment(*, payment: Payment, actor, reason: str) -> Payment:
    """Undo exactly what a payment did: its allocations and its ledger entry."""
    if not actor.has_perm("payments.reverse_payment"):
        raise NotAllowed("You do not have permission to reverse payments.")
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise DomainError("Give the reason for the reversal.", fields={"reason": "Required"})
    loan = Loan.objects.select_for_update().get(pk=payment.loan_id)
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status != PaymentStatus.SUCCESSFUL:
        raise Conflict(
            f"Payment {payment.reference} is {payment.get_status_display().lower()} "
            "and cannot be reversed."
        )
    installments = {i.pk: i for i in loan.installments.select_for_update()}
    for allocation in payment.allocations.all():
        if allocation.component == "credit":
            continue
        inst = installments[allocation.installment_id]
        field = _PAID_FIELD[allocation.component]
        setattr(inst, field, getattr(inst, field) - allocation.amount)
    lifecycle.apply_installment_amounts(list(installments.values()), now=timezone.now())
    entry = payment.journal_entries.get(kind=EntryKind.REPAYMENT)
    ledger.reverse_entry(
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


# --- Webhooks -------------------------------------------------------------------------------


def store_webhook(*, provider_name: str, notice) -> tuple[WebhookEvent, bool]:
    """Store the event once; a duplicate delivery returns the existing row.

    The event and its key are written in one savepoint: the key's unique index makes a
    concurrent copy wait for the first and then fail, and the failure takes its event row
    with it (the inbox itself is partitioned on PostgreSQL and cannot be unique by event)."""
    event_id = notice.event_id[:120]
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                provider=provider_name,
                event_id=event_id,
                event_type=notice.event_type[:60],
                reference=(notice.reference or "")[:80],
                payload=notice.payload,
            )
            WebhookEventKey.objects.create(
                provider=provider_name,
                event_id=event_id,
                webhook_id=event.pk,
                received_at=event.received_at,
            )
    except IntegrityError:
        key = WebhookEventKey.objects.get(provider=provider_name, event_id=event_id)
        # received_at as well as the id: PostgreSQL reads one month's partition only.
        event = WebhookEvent.objects.get(pk=key.webhook_id, received_at=key.received_at)
        if event.status in (WebhookStatus.RECEIVED, WebhookStatus.FAILED):
            # The provider's retry heals a processing task lost with the queue (Redis
            # restarted, worker killed): processing is idempotent under a row lock.
            pk = event.pk
            jobs.enqueue_after_commit("payments.process_webhook", pk, robust=False)
        return event, False
    pk = event.pk
    jobs.enqueue_after_commit("payments.process_webhook", pk)
    return event, True


STALE_WEBHOOK_AFTER = timedelta(minutes=2)
# A provider that keeps failing verify is retried by each task's own retries; the sweeper
# stops queueing an event again after this many attempts (finance sees it in the admin).
MAX_WEBHOOK_ATTEMPTS = 20


def stale_webhook_events():
    """Stored events nobody processed: the task was lost (queue down when enqueued, Redis
    restarted without persistence, worker killed). The member has paid; without this the
    payment would wait for a provider retry that may never come."""
    cutoff = timezone.now() - STALE_WEBHOOK_AFTER
    return WebhookEvent.objects.filter(
        status__in=[WebhookStatus.RECEIVED, WebhookStatus.FAILED],
        received_at__lt=cutoff,
        attempts__lt=MAX_WEBHOOK_ATTEMPTS,
    ).values_list("pk", flat=True)


def process_webhook(*, event_id: int) -> WebhookEvent:
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event_id)
        if event.status in (WebhookStatus.PROCESSED, WebhookStatus.IGNORED, WebhookStatus.FLAGGED):
            return event
        event.attempts += 1
        event.save(update_fields=["attempts"])
    status, note = WebhookStatus.PROCESSED, ""
    try:
        if event.event_type.startswith("charge."):
            if not Payment.objects.filter(reference=event.reference).exists():
                status, note = WebhookStatus.FLAGGED, "No payment with this reference."
            else:
                payment = confirm_checkout(reference=event.reference)
                note = f"payment {payment.status}"
        elif event.event_type.startswith("transfer."):
            # Paystack stores transfer references lower-cased; ours are upper case.
            disbursement = Disbursement.objects.filter(reference__iexact=event.reference).first()
            if disbursement is None:
                status, note = WebhookStatus.FLAGGED, "No disbursement with this reference."
            else:
                # Never trust the event body for money: ask the provider.
                result = get_provider(disbursement.provider).verify_transfer(
                    reference=disbursement.reference
                )
                disbursement = apply_transfer_result(
                    reference=disbursement.reference, result=result
                )
                note = f"disbursement {disbursement.status}"
        else:
            status, note = WebhookStatus.IGNORED, "Event type not used."
    except AmountMismatch as exc:
        status, note = WebhookStatus.FLAGGED, exc.message
    except Conflict as exc:
        status, note = WebhookStatus.FLAGGED, exc.message
    WebhookEvent.objects.filter(pk=event.pk).update(
        status=status, note=note[:2000], processed_at=timezone.now()
    )
    event.refresh_from_db()
    return event
