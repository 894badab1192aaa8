"""The application's history and moves: every status change checks the transition map and
writes one history row and one audit event."""

import secrets

from core import audit
from core.errors import check_transition
from loans.models import (
    APPLICATION_TRANSITIONS,
    ApplicationHistory,
)


def new_reference(prefix: str) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread on the phone
    return prefix + "".join(secrets.choice(alphabet) for _ in range(8))


def write_history(application, *, actor, from_status, to_status, reason=""):
    ApplicationHistory.objects.create(
        application=application,
        actor=actor,
        from_status=from_status or "",
        to_status=to_status,
        reason=reason,
    )


def move(application, target, *, actor, reason="", extra_fields=(), changes=None):
    check_transition(APPLICATION_TRANSITIONS, application.status, target, what="application")
    before = application.status
    application.status = target
    application.save(update_fields=["status", "updated_at", *extra_fields])
    write_history(application, actor=actor, from_status=before, to_status=target, reason=reason)
    audit.record(
        actor=actor,
        action=f"application.{target}",
        obj=application,
        changes={"status": [before, target], **(changes or {})},
    )
