"""E-mail to a member, from templates a human wrote (text + HTML parts).

Only ever to the member's own address: we never contact third parties (FCCPC rules).
Sending happens in a Huey task so a slow mail server never holds a web request.
"""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)


def send_member_email(*, member, template: str, context: dict) -> None:
    context = {"member": member, "site_url": settings.SITE_URL, **context}
    subject = render_to_string(f"emails/{template}_subject.txt", context).strip()
    text = render_to_string(f"emails/{template}.txt", context)
    html = render_to_string(f"emails/{template}.html", context)
    message = EmailMultiAlternatives(
        subject=f"[AllaweePlus] {subject}", body=text, to=[member.user.email]
    )
    message.attach_alternative(html, "text/html")
    message.send()
    logger.info("member e-mail sent", extra={"event": f"email.{template}"})
