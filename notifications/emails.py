"""E-mail to a member, from templates a human wrote (text + HTML parts).

Only ever to the member's own address: we never contact third parties (FCCPC rules).
Every member message goes through the notifications log (``notifications.services``), which
keeps contact hours, retries and never sends one twice; this module renders the e-mail parts.
"""

from django.conf import settings
from django.template.loader import render_to_string


def render_member_email(*, member, template: str, context: dict) -> tuple[str, str, str]:
    """(subject, text, html) of ``templates/emails/<template>*``."""
    context = {"member": member, "site_url": settings.SITE_URL, **context}
    subject = render_to_string(f"emails/{template}_subject.txt", context).strip()
    text = render_to_string(f"emails/{template}.txt", context)
    html = render_to_string(f"emails/{template}.html", context)
    return subject, text, html
