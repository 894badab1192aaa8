"""Writing the audit trail. Services call ``record`` inside their transaction."""

import ipaddress

from django.conf import settings

from portal.logging import current_request_id
from portal.models import AuditEvent


def client_ip(request) -> str | None:
    """The client address: nginx's X-Real-IP when configured (it overwrites any value the
    client sent), else REMOTE_ADDR."""
    if request is None:
        return None
    header = settings.TRUSTED_CLIENT_IP_HEADER
    if header:
        value = request.headers.get(header, "").strip()
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            pass
    return request.META.get("REMOTE_ADDR") or None


def record(*, actor, action: str, obj=None, changes: dict | None = None, request=None):
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        actor=user,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        changes=changes or {},
        ip=client_ip(request),
        request_id=current_request_id() or "",
    )
