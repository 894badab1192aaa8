"""E-mail written in a request is sent by the worker (issue 23).

``queue_mail`` stores the message encrypted and queues its sending after the transaction
commits; the job (and a sweeper every minute, for a queue that was down) sends it through the
configured mailer. A failure is recorded and retried with a growing delay, never raised into
the page that wrote the mail. Member notifications have their own outbox
(``notifications.Message``); this one is for account mail that has no member yet.
"""

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone

from core import jobs
from core.crypto import pii_cipher
from core.models import OutgoingMail

log = logging.getLogger(__name__)

SEND_JOB = "core.send_queued_mail"
MAX_ATTEMPTS = 12
"""About a day of retries (1, 2, 4 … minutes, capped at three hours); then it waits for a
person (monitor_stats reports it)."""


def _retry_delay(attempts: int) -> timedelta:
    return timedelta(minutes=min(2 ** (attempts - 1), 180))


def queue_mail(message: EmailMessage, *, purpose: str) -> OutgoingMail:
    """Store ``message`` and send it from the worker once the transaction commits."""
    payload = {
        "subject": message.subject,
        "body": message.body,
        "from_email": message.from_email,
        "to": list(message.to),
        "cc": list(message.cc),
        "bcc": list(message.bcc),
        "reply_to": list(message.reply_to),
        "headers": dict(message.extra_headers),
        "alternatives": [
            [content, mimetype] for content, mimetype in getattr(message, "alternatives", [])
        ],
    }
    mail = OutgoingMail.objects.create(
        purpose=purpose[:80],
        payload=pii_cipher().encrypt(json.dumps(payload)),
        next_attempt_at=timezone.now(),
    )
    jobs.enqueue_after_commit(SEND_JOB, mail.pk)
    return mail


def _message(payload: dict) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=payload["subject"],
        body=payload["body"],
        from_email=payload["from_email"],
        to=payload["to"],
        cc=payload["cc"],
        bcc=payload["bcc"],
        reply_to=payload["reply_to"],
        headers=payload["headers"],
    )
    for content, mimetype in payload["alternatives"]:
        message.attach_alternative(content, mimetype)
    return message


def send_queued_mail(mail_id: int, *, now: datetime | None = None) -> str:
    """Send one queued mail if it is due; returns what happened ("sent", "retry", …)."""
    now = now or timezone.now()
    with transaction.atomic():
        mail = OutgoingMail.objects.select_for_update(skip_locked=True).filter(pk=mail_id).first()
        if mail is None:
            return "busy"
        if mail.sent_at or mail.gave_up_at:
            return "done"
        if mail.next_attempt_at > now:
            return "not due"
        mail.attempts += 1
        try:
            _message(json.loads(pii_cipher().decrypt(mail.payload))).send()
        except Exception as exc:  # noqa: BLE001 - any failure is retried, never raised
            mail.last_error = type(exc).__name__[:80]
            if mail.attempts >= MAX_ATTEMPTS:
                mail.gave_up_at = now
            else:
                mail.next_attempt_at = now + _retry_delay(mail.attempts)
            mail.save()
            log.warning(
                "queued mail not sent",
                extra={"event": "mail.retry", "mail_id": mail.pk, "error": mail.last_error},
            )
            return "gave up" if mail.gave_up_at else "retry"
        mail.sent_at, mail.payload, mail.last_error = now, "", ""
        mail.save()
        return "sent"


def send_due_mail(*, now: datetime | None = None, limit: int = 500) -> int:
    """Send every queued mail that is due (the sweeper); returns how many were sent."""
    now = now or timezone.now()
    due = OutgoingMail.objects.filter(
        sent_at__isnull=True, gave_up_at__isnull=True, next_attempt_at__lte=now
    ).order_by("next_attempt_at")
    ids = list(due.values_list("pk", flat=True)[:limit])
    return sum(send_queued_mail(pk, now=now) == "sent" for pk in ids)


@dataclass(frozen=True)
class Backlog:
    waiting: int
    oldest_seconds: int | None
    gave_up: int


def mail_backlog(*, now: datetime | None = None) -> Backlog:
    """Mail waiting to be sent (and mail given up on) for /readyz and monitor_stats."""
    now = now or timezone.now()
    waiting = OutgoingMail.objects.filter(sent_at__isnull=True, gave_up_at__isnull=True)
    oldest = waiting.order_by("created_at").values_list("created_at", flat=True).first()
    return Backlog(
        waiting=waiting.count(),
        oldest_seconds=int((now - oldest).total_seconds()) if oldest else None,
        gave_up=OutgoingMail.objects.filter(gave_up_at__isnull=False, sent_at__isnull=True).count(),
    )
