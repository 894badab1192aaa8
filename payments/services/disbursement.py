"""Disbursement: request (two people, a bound account), send through the provider outbox,
apply the transfer result, complete (the loan becomes active, one balanced ledger entry) or
fail, record a manual payout, sweep transfers stuck in flight."""

import logging

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core import audit, jobs
from core.clock import lagos_today
from core.errors import Conflict, DomainError, NotAllowed
from core.signals import send_after_commit
from ledger import chart
from ledger.models import EntryKind
from ledger.posting import credit, debit, post_entry
from loans import lifecycle
from loans.models import Loan, LoanStatus
from loans.services import check_payout, refix_schedule_dates
from members.models import Member
from members.staff_identity import check_independent
from payments import signals
from payments.models import Disbursement, DisbursementStatus
from payments.providers import get_provider
from payments.providers.base import ProviderError, ProviderRejected, TransferState

logger = logging.getLogger(__name__)


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
    check_payout(loan)
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
    refix_schedule_dates(loan=loan, disbursed_on=today, actor=actor)
    post_disbursement_entry(loan=loan, disbursement=disbursement, effective_date=today, actor=actor)
    pk = loan.pk
    send_after_commit(signals.loan_event, Loan, loan_id=pk, template="loan_disbursed")
    return disbursement


def post_disbursement_entry(*, loan, disbursement, effective_date, actor=None):
    """Payout: principal and the whole contractual interest become receivable; the fee is
    income now (deducted) or receivable (first installment); cash leaves the provider."""
    cash_account = chart.CASH_BANK if disbursement.provider == "manual" else chart.CASH_PROVIDER
    dims = {"loan_id": loan.pk, "member_id": loan.member_id}
    fee_on_installment = loan.fee_treatment == "first_installment"
    lines = [
        debit(chart.LOANS_PRINCIPAL, loan.principal, **dims),
        debit(chart.LOANS_INTEREST, loan.total_interest, **dims),
        credit(chart.UNEARNED_INTEREST, loan.total_interest, **dims),
        credit(cash_account, disbursement.amount, **dims),
        credit(chart.FEE_INCOME, loan.fee_amount, **dims),
    ]
    if fee_on_installment:
        lines.append(debit(chart.LOANS_FEES, loan.fee_amount, **dims))
    return post_entry(
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
    check_payout(loan)
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
