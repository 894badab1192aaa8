"""Writing and delivering member messages.

``notify_member`` renders a message per channel, logs it (one ``Message`` row each, unique by
dedupe key) and enqueues delivery on commit. ``deliver_message`` sends one row, only between
the contact hours (08:00-21:00 Lagos by default; otherwise it waits for the next opening), only
to the address on the member's own record at that moment, and at most once: a row is claimed
by a conditional UPDATE before the provider is called. A provider failure is recorded on the
row and retried later by the sweeper with growing delays; it never reaches the caller.
"""

import logging
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from core import jobs
from core.clock import LAGOS
from loans.models import INSTALLMENT_OUTSTANDING, Installment, InstallmentStatus, LoanStatus
from notifications import sms
from notifications.emails import render_member_email
from notifications.models import (
    PENDING_STATUSES,
    Channel,
    Message,
    MessageDedupeKey,
    MessageKind,
    MessageStatus,
)

logger = logging.getLogger(__name__)


# A row left in "sending" this long belongs to a worker that died mid-send. Whether the
# provider got it is unknown, so it is marked failed rather than sent a second time.
STALE_SENDING = timedelta(minutes=15)


# --- contact hours ------------------------------------------------------------------------


def is_contact_time(moment: datetime) -> bool:
    local = moment.astimezone(LAGOS).time()
    return time(settings.NOTIFY_QUIET_END) <= local < time(settings.NOTIFY_QUIET_START)


def next_contact_time(moment: datetime) -> datetime:
    """``moment`` itself inside contact hours, else the next opening (Lagos has no DST)."""
    if is_contact_time(moment):
        return moment
    local = moment.astimezone(LAGOS)
    opening = local.replace(hour=settings.NOTIFY_QUIET_END, minute=0, second=0, microsecond=0)
    if local >= opening:
        opening += timedelta(days=1)
    return opening


# --- writing messages ---------------------------------------------------------------------


def default_channels() -> list[str]:
    channels = [Channel.EMAIL]
    if settings.SMS_PROVIDER != "none":
        channels.append(Channel.SMS)
    return channels


def _template_for(kind: str) -> str:
    # The five reminder stages share one template; its wording changes with the stage.
    return "reminder" if kind.startswith("reminder_") else kind


def _check_context_belongs_to(member, context: dict) -> None:
    """A message about another member's application, loan or payment is a bug, never sent."""
    for name, value in context.items():
        owner = getattr(value, "member_id", None)
        if owner is not None and owner != member.pk:
            raise ValueError(f"{name} in a message to member {member.pk} is not theirs")


def _build_message(*, member, kind, channel, context, dedupe_key, installment, now) -> Message:
    template = _template_for(kind)
    subject, text, html = render_member_email(
        member=member, template=template, context={"kind": kind, **context}
    )
    if channel == Channel.SMS:
        sms_context = {"member": member, "site_url": settings.SITE_URL, "kind": kind, **context}
        text = " ".join(render_to_string(f"sms/{template}.txt", sms_context).split())
        html = ""
    scheduled_for = next_contact_time(now)
    return Message(
        member=member,
        channel=channel,
        kind=kind,
        subject=subject[:200],
        body=text,
        body_html=html,
        installment=installment,
        status=MessageStatus.QUEUED if scheduled_for == now else MessageStatus.DEFERRED,
        scheduled_for=scheduled_for,
        dedupe_key=f"{dedupe_key}:{channel}" if dedupe_key else None,
    )


def _reachable(member, channel: str) -> bool:
    if channel == Channel.SMS:
        return bool(member.phone)
    return bool(member.user.email)


def notify_member(
    *, member, kind: str, context: dict, channels=None, dedupe_key=None, installment=None
) -> list[Message]:
    """Log a message to ``member`` on each channel and deliver it after commit.

    ``dedupe_key`` names the event (e.g. ``application_approved:42``): a second call for the
    same event and channel creates nothing. Returns the rows created by this call.
    """
    if kind not in MessageKind.values:
        raise ValueError(f"Unknown message kind {kind!r}")
    _check_context_belongs_to(member, context)
    now = timezone.now()
    created = []
    with transaction.atomic():
        for channel in channels or default_channels():
            if not _reachable(member, channel):
                continue
            message = _build_message(
                member=member,
                kind=kind,
                channel=channel,
                context=context,
                dedupe_key=dedupe_key,
                installment=installment,
                now=now,
            )
            if _save_once(message):
                created.append(message)
    for message in created:
        if message.status == MessageStatus.QUEUED:
            _deliver_on_commit(message.pk)
    return created


def _save_once(message: Message) -> bool:
    """Save ``message`` unless its dedupe key was messaged already; True if saved.

    The message and its key go in one savepoint: a concurrent writer of the same key waits on
    the key's unique index, then fails it, and its message row is rolled back with it."""
    try:
        with transaction.atomic():
            message.save()
            if message.dedupe_key:
                MessageDedupeKey.objects.create(
                    dedupe_key=message.dedupe_key,
                    message_id=message.pk,
                    created_at=message.created_at,
                )
    except IntegrityError:
        message.pk, message._state.adding = None, True
        return False
    return True


def _save_all_once(messages: list[Message]) -> list[Message]:
    """Save the messages whose keys were not messaged yet, in a few statements; returns them.

    The callers leave out keys they found already written, so normally every row is new and
    goes in two bulk inserts. If a concurrent run wrote some of the same keys meanwhile, the
    batch is rolled back and retried a row at a time: the first writer of a key wins."""
    try:
        with transaction.atomic():
            Message.objects.bulk_create(messages, batch_size=500)
            MessageDedupeKey.objects.bulk_create(
                [
                    MessageDedupeKey(dedupe_key=key, message_id=m.pk, created_at=m.created_at)
                    for m in messages
                    if (key := m.dedupe_key)
                ],
                batch_size=500,
            )
        return messages
    except IntegrityError:
        for message in messages:
            message.pk, message._state.adding = None, True
    return [message for message in messages if _save_once(message)]


def _deliver_on_commit(message_id: int) -> None:
    jobs.enqueue_after_commit("notifications.deliver_message", message_id)


# --- delivering ---------------------------------------------------------------------------


def _mask_email(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}•••@{domain}"


def _mask_phone(number: str) -> str:
    return f"{number[:4]}•••••{number[-3:]}"


def _reason_not_to_send(message: Message) -> str:

    if message.installment_id is not None:
        installment = message.installment
        if installment.outstanding <= 0 or installment.loan.status != LoanStatus.ACTIVE:
            return "The installment was settled before the reminder went out."
    if message.channel == Channel.SMS:
        if not message.member.phone:
            return "The member has no phone number on record."
        if sms.get_sms_provider() is None:
            return "SMS is switched off (SMS_PROVIDER=none)."
    elif not message.member.user.email:
        return "The member has no e-mail address on record."
    return ""


def _send(message: Message) -> tuple[str, str]:
    """Send to the member's own address, read now; (masked address, provider reference)."""
    member = message.member
    if message.channel == Channel.SMS:
        reference = sms.get_sms_provider().send(to=member.phone, text=message.body)
        return _mask_phone(member.phone), reference
    from django.core.mail import EmailMultiAlternatives

    address = member.user.email
    email = EmailMultiAlternatives(
        subject=f"[AllaweePlus] {message.subject}", body=message.body, to=[address]
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    email.send()
    return _mask_email(address), ""


def _retry_delay(attempts: int) -> timedelta:
    # 1, 4, 16, 64 minutes with the defaults: a provider outage is ridden out, not hammered.
    return timedelta(seconds=settings.NOTIFY_RETRY_BASE_SECONDS * 4 ** (attempts - 1))


def deliver_message(*, message_id: int, now: datetime | None = None) -> str:
    """Send one message if it is due and inside contact hours. Returns its status."""
    now = now or timezone.now()
    pending = Message.objects.filter(pk=message_id, status__in=PENDING_STATUSES)
    if not is_contact_time(now):
        opening = next_contact_time(now)
        pending.filter(scheduled_for__lt=opening).update(
            status=MessageStatus.DEFERRED, scheduled_for=opening, updated_at=now
        )
        return MessageStatus.DEFERRED
    # The claim: only one worker moves a row to "sending", so only one ever sends it.
    claimed = pending.filter(scheduled_for__lte=now).update(
        status=MessageStatus.SENDING, attempts=F("attempts") + 1, updated_at=now
    )
    if not claimed:
        return Message.objects.filter(pk=message_id).values_list("status", flat=True).first()
    message = Message.objects.select_related("member__user", "installment__loan").get(pk=message_id)
    finished = Message.objects.filter(pk=message_id, status=MessageStatus.SENDING)

    reason = _reason_not_to_send(message)
    if reason:
        finished.update(status=MessageStatus.CANCELLED, last_error=reason, updated_at=now)
        logger.info(
            "message cancelled",
            extra={"event": "notify.cancelled", "message_id": message_id, "kind": message.kind},
        )
        return MessageStatus.CANCELLED

    try:
        sent_to, reference = _send(message)
    except Exception as exc:  # any provider failure is recorded, never raised to the caller
        retryable = getattr(exc, "retryable", True)
        error = f"{type(exc).__name__}: {exc}"[:500]
        if retryable and message.attempts < settings.NOTIFY_MAX_ATTEMPTS:
            status, scheduled_for = MessageStatus.QUEUED, now + _retry_delay(message.attempts)
        else:
            status, scheduled_for = MessageStatus.FAILED, message.scheduled_for
        finished.update(
            status=status, last_error=error, scheduled_for=scheduled_for, updated_at=now
        )
        logger.warning(
            "message delivery failed",
            extra={
                "event": "notify.failed" if status == MessageStatus.FAILED else "notify.retry",
                "message_id": message_id,
                "channel": message.channel,
                "attempts": message.attempts,
                "error": type(exc).__name__,
            },
        )
        return status

    finished.update(
        status=MessageStatus.SENT,
        sent_at=timezone.now(),
        sent_to=sent_to,
        provider_reference=reference[:100],
        last_error="",
        updated_at=now,
    )
    logger.info(
        "message sent",
        extra={"event": "notify.sent", "message_id": message_id, "channel": message.channel},
    )
    return MessageStatus.SENT


def deliver_due_messages(*, now: datetime | None = None, limit: int = 2000) -> int:
    """The sweeper: enqueue delivery of every pending row whose time has come (deferred ones
    at the opening of contact hours, retries after their delay). Returns how many."""
    now = now or timezone.now()
    Message.objects.filter(status=MessageStatus.SENDING, updated_at__lt=now - STALE_SENDING).update(
        status=MessageStatus.FAILED,
        last_error="Delivery was interrupted; not sent again so the member never gets it twice.",
        updated_at=now,
    )
    if not is_contact_time(now):
        # Anything that fell due overnight (a retry, a late task) waits for the opening.
        Message.objects.filter(status=MessageStatus.QUEUED, scheduled_for__lte=now).update(
            status=MessageStatus.DEFERRED, scheduled_for=next_contact_time(now), updated_at=now
        )
        return 0
    due = list(
        Message.objects.filter(status__in=PENDING_STATUSES, scheduled_for__lte=now)
        .order_by("scheduled_for", "id")
        .values_list("pk", flat=True)[:limit]
    )
    for message_id in due:
        jobs.enqueue("notifications.deliver_message", message_id)
    return len(due)


# --- reminders ----------------------------------------------------------------------------

# Days after the due date on which each reminder goes (negative: before it).
REMINDER_OFFSETS = {
    MessageKind.REMINDER_DUE_IN_3: -3,
    MessageKind.REMINDER_DUE_TODAY: 0,
    MessageKind.REMINDER_OVERDUE_1: 1,
    MessageKind.REMINDER_OVERDUE_7: 7,
    MessageKind.REMINDER_OVERDUE_30: 30,
}


def reminders_due(on: date):
    """Installments of active loans with something outstanding whose due date puts them on
    one of the reminder days of ``on`` (a Lagos date), with their member and loan."""

    due_dates = [on - timedelta(days=offset) for offset in REMINDER_OFFSETS.values()]
    return (
        Installment.objects.filter(due_date__in=due_dates, loan__status=LoanStatus.ACTIVE)
        .exclude(status__in=[InstallmentStatus.PAID, InstallmentStatus.WAIVED])
        .alias(owed=INSTALLMENT_OUTSTANDING)
        .filter(owed__gt=0)
        .select_related("loan__member__user")
        .order_by("id")
    )


def queue_reminders(*, on: date, now: datetime | None = None) -> int:
    """Log the reminders of day ``on`` in a few set-based statements and deliver them after
    commit. Running it again for the same day creates nothing (unique dedupe keys).
    Returns how many rows it created."""
    now = now or timezone.now()
    kind_by_due_date = {on - timedelta(days=o): kind for kind, o in REMINDER_OFFSETS.items()}
    channels = default_channels()
    installments = list(reminders_due(on))
    keys = {
        f"reminder:{kind_by_due_date[i.due_date].removeprefix('reminder_')}:{i.pk}:{channel}"
        for i in installments
        for channel in channels
    }
    existing = set()
    key_list = sorted(keys)
    for start in range(0, len(key_list), 500):
        existing.update(
            MessageDedupeKey.objects.filter(
                dedupe_key__in=key_list[start : start + 500]
            ).values_list("dedupe_key", flat=True)
        )
    rows = []
    for installment in installments:
        loan, member = installment.loan, installment.loan.member
        kind = kind_by_due_date[installment.due_date]
        stage = kind.removeprefix("reminder_")
        context = {
            "installment": installment,
            "loan": loan,
            "amount_due": installment.outstanding,
            "days_overdue": (on - installment.due_date).days,
            "pay_url": settings.SITE_URL + reverse("payments:pay", args=[loan.reference]),
        }
        for channel in channels:
            dedupe_key = f"reminder:{stage}:{installment.pk}"
            if f"{dedupe_key}:{channel}" in existing or not _reachable(member, channel):
                continue
            rows.append(
                _build_message(
                    member=member,
                    kind=kind,
                    channel=channel,
                    context=context,
                    dedupe_key=dedupe_key,
                    installment=installment,
                    now=now,
                )
            )
    with transaction.atomic():
        # A concurrent run that wrote the same reminder first wins.
        rows = _save_all_once(rows)
        jobs.enqueue_after_commit("notifications.deliver_due_messages")
    logger.info(
        "reminders queued",
        extra={"event": "notify.reminders", "day": on.isoformat(), "messages": len(rows)},
    )
    return len(rows)
