"""Provider webhooks: stored once (a duplicate delivery returns the row), processed under a
row lock, re-queued by a sweeper when the task was lost."""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from core import jobs
from core.errors import Conflict
from payments.models import (
    Disbursement,
    Payment,
    Refund,
    RefundStatus,
    WebhookEvent,
    WebhookEventKey,
    WebhookStatus,
)
from payments.providers import get_provider
from payments.services.checkout import AmountMismatch, confirm_checkout
from payments.services.disbursement import apply_transfer_result
from payments.services.refund_transfer import apply_refund_result

# A refund's transfer exists at the provider only once it was handed over (sent); a
# succeeded or failed one may hear about it again (a provider retry), harmlessly.
REFUND_TRANSFER_STATUSES = (RefundStatus.SENT, RefundStatus.SUCCEEDED, RefundStatus.FAILED)


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


def _transfer_event(reference: str) -> tuple[str, str]:
    """A transfer's event: a disbursement's or a refund's (both are sent as transfers under
    our reference; Paystack stores transfer references lower-cased, ours are upper case).
    Never trust the event body for money: the provider is asked for the transfer's state."""
    disbursement = Disbursement.objects.filter(reference__iexact=reference).first()
    if disbursement is not None:
        result = get_provider(disbursement.provider).verify_transfer(
            reference=disbursement.reference
        )
        disbursement = apply_transfer_result(reference=disbursement.reference, result=result)
        return WebhookStatus.PROCESSED, f"disbursement {disbursement.status}"
    refund = Refund.objects.filter(reference__iexact=reference).first() if reference else None
    if refund is None:
        return WebhookStatus.FLAGGED, "No disbursement or refund with this reference."
    if refund.status not in REFUND_TRANSFER_STATUSES:
        return (
            WebhookStatus.FLAGGED,
            f"Refund {refund.reference} is {refund.get_status_display().lower()}: no transfer "
            "was sent for it.",
        )
    result = get_provider(refund.provider).verify_transfer(reference=refund.reference)
    refund = apply_refund_result(reference=refund.reference, result=result)
    return WebhookStatus.PROCESSED, f"refund {refund.status}"


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
            status, note = _transfer_event(event.reference)
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
