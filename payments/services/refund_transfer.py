"""A refund's transfer, the disbursement's outbox pattern: send under the fixed reference,
apply the provider's answer, complete (post ``refund:<id>``) or fail (the reservation ends and
the money is available again), and sweep refunds stuck in flight, verifying before any resend.
"""

import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core import audit
from core.clock import lagos_today
from core.errors import Conflict
from ledger import chart
from ledger.models import EntryKind
from ledger.posting import credit, debit, post_entry
from ledger.selectors import member_credit
from members.models import Member
from payments.models import Refund, RefundSource, RefundStatus
from payments.providers import get_provider
from payments.providers.base import ProviderError, ProviderRejected, TransferState
from payments.reconciliation.suspense import mark_refunded
from payments.services.refunds import move

logger = logging.getLogger(__name__)


def _account_changed(refund: Refund) -> str:
    """Why a credit refund may not go to its bound account any more (empty when it may)."""
    if refund.source != RefundSource.CREDIT:
        return ""
    member = Member.objects.get(pk=refund.member_id)
    if not member.payout_account_confirmed or (member.bank_code, member.account_number) != (
        refund.bank_code,
        refund.account_number,
    ):
        return (
            "The member's bank account changed after the refund was approved; nothing was "
            "sent. Confirm the new account and ask for the refund again."
        )
    return ""


def send_refund(*, refund_id: int) -> Refund:
    """Hand the transfer to the provider. Safe to run again at any point: the reference is
    fixed, the provider refuses a second transfer with it, and verify tells the truth."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if refund.status not in (RefundStatus.QUEUED, RefundStatus.SENT):
            return refund
        changed = _account_changed(refund)
        if changed and refund.status == RefundStatus.QUEUED:
            return fail_refund(reference=refund.reference, reason=changed)
        # "Sent" before calling out: if we die after the provider accepted it, the sweeper
        # verifies instead of sending blindly.
        if refund.status == RefundStatus.QUEUED:
            move(refund, RefundStatus.SENT, note="handed to the provider")
        refund.attempts = F("attempts") + 1
        refund.sent_at = refund.sent_at or timezone.now()
        refund.save(update_fields=["status", "attempts", "sent_at", "updated_at"])
    refund.refresh_from_db()
    provider = get_provider(refund.provider)
    try:
        if not refund.recipient_code:
            changed = _account_changed(refund)
            if changed:
                return fail_refund(reference=refund.reference, reason=changed)
            code = provider.create_recipient(
                name=refund.account_name,
                account_number=refund.account_number,
                bank_code=refund.bank_code,
            )
            Refund.objects.filter(pk=refund.pk).update(recipient_code=code)
            refund.recipient_code = code
        result = provider.initiate_transfer(
            reference=refund.reference,
            amount=refund.amount,
            recipient_code=refund.recipient_code,
            reason=f"AllaweePlus refund {refund.reference}",
        )
    except ProviderRejected as exc:
        return fail_refund(reference=refund.reference, reason=str(exc))
    except ProviderError as exc:
        logger.warning(
            "refund transfer not sent; the sweeper will verify and retry",
            extra={"event": "refund.provider_error"},
        )
        Refund.objects.filter(pk=refund.pk).update(failure_reason=str(exc)[:500])
        return refund
    return apply_refund_result(reference=refund.reference, result=result)


def apply_refund_result(*, reference: str, result) -> Refund:
    """Record a refund transfer's state from the provider (initiate or verify)."""
    if result.state == TransferState.SUCCESS:
        return complete_refund(reference=reference, provider_reference=result.provider_reference)
    if result.state in (TransferState.FAILED, TransferState.REVERSED):
        return fail_refund(reference=reference, reason=result.reason or result.state.value)
    refund = Refund.objects.get(reference=reference)
    if result.provider_reference and not refund.provider_reference:
        Refund.objects.filter(pk=refund.pk).update(provider_reference=result.provider_reference)
    return refund


@transaction.atomic
def complete_refund(*, reference: str, provider_reference: str = "") -> Refund:
    """The money left: post Dr member credit (or suspense), Cr cash at provider, once."""
    refund = Refund.objects.select_for_update().get(reference=reference)
    if refund.status == RefundStatus.SUCCEEDED:
        return refund  # a second verify or sweep: nothing twice
    if refund.status == RefundStatus.FAILED:
        logger.error("refund success after failure", extra={"event": "refund.conflict"})
        raise Conflict(
            f"Refund {reference} was marked failed but the provider reports success; finance "
            "must investigate."
        )
    move(refund, RefundStatus.SUCCEEDED, note=provider_reference)
    refund.provider_reference = provider_reference or refund.provider_reference
    refund.completed_at = timezone.now()
    refund.failure_reason = ""
    refund.save(
        update_fields=[
            "status",
            "provider_reference",
            "completed_at",
            "failure_reason",
            "updated_at",
        ]
    )
    if refund.source == RefundSource.CREDIT:
        # Reserved at approval; only credit taken some other way (a reversed repayment)
        # could leave less than this, which finance must see.
        if member_credit(refund.member) < refund.amount:
            logger.error("refund larger than credit", extra={"event": "refund.overdrawn"})
        dims = {"member_id": refund.member_id, "loan_id": refund.loan_id}
        lines = [debit(chart.MEMBER_CREDIT, refund.amount, **dims)]
    else:
        mark_refunded(line_id=refund.statement_line_id, refund=refund)
        lines = [debit(chart.SUSPENSE, refund.amount)]
    lines.append(credit(chart.CASH_PROVIDER, refund.amount))
    post_entry(
        kind=EntryKind.REFUND,
        lines=lines,
        effective_date=lagos_today(),
        loan=refund.loan,
        memo=f"Refund {refund.reference}",
        idempotency_key=f"refund:{refund.pk}",
    )
    audit.record(
        actor=None,
        action="refund.succeeded",
        obj=refund,
        changes={"refund": reference, "amount": refund.amount, "status": RefundStatus.SUCCEEDED},
    )
    return refund


@transaction.atomic
def fail_refund(*, reference: str, reason: str) -> Refund:
    """The transfer did not happen: nothing was posted, so the reserved credit (or the
    deposit in suspense) is available again."""
    refund = Refund.objects.select_for_update().get(reference=reference)
    if refund.status not in (RefundStatus.QUEUED, RefundStatus.SENT):
        if refund.status == RefundStatus.SUCCEEDED:
            logger.error("refund failure after success", extra={"event": "refund.conflict"})
        return refund
    move(refund, RefundStatus.FAILED, note=reason)
    refund.failure_reason = reason[:500]
    refund.completed_at = timezone.now()
    refund.save(update_fields=["status", "failure_reason", "completed_at", "updated_at"])
    audit.record(
        actor=None,
        action="refund.failed",
        obj=refund,
        changes={"refund": reference, "amount": refund.amount, "reason": reason[:200]},
    )
    return refund


def sweep_refunds(*, older_than_seconds: int = 300) -> dict:
    """Re-drive refunds stuck in queued/sent: verify with the provider before any resend."""
    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    counts = {"verified": 0, "resent": 0, "pending": 0, "errors": 0}
    stuck = list(
        Refund.objects.filter(
            status__in=[RefundStatus.QUEUED, RefundStatus.SENT], updated_at__lt=cutoff
        ).values_list("pk", "reference", "provider")
    )
    for pk, reference, provider_name in stuck:
        provider = get_provider(provider_name)
        try:
            result = provider.verify_transfer(reference=reference)
        except ProviderError:
            counts["errors"] += 1
            continue
        if result.state == TransferState.NOT_FOUND:
            send_refund(refund_id=pk)  # same reference: cannot pay twice
            counts["resent"] += 1
        elif result.state == TransferState.PENDING:
            Refund.objects.filter(pk=pk).update(updated_at=timezone.now())
            counts["pending"] += 1
        else:
            apply_refund_result(reference=reference, result=result)
            counts["verified"] += 1
    return counts
