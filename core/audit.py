"""Writing the audit trail. Services call ``record`` inside their transaction."""

import ipaddress
from typing import Any

from django.conf import settings
from django.db.models import Model
from django.http import HttpRequest

from core.logging import current_request, current_request_id
from core.models import AuditEvent


def _trusted_proxies() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for item in settings.TRUSTED_PROXIES:
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            continue
    return networks


def client_ip(request: HttpRequest | None) -> str | None:
    """The client address, computed here for everyone (audit, allauth's rate limits, the API
    limiter, consent records).

    nginx overwrites ``TRUSTED_CLIENT_IP_HEADER`` (X-Real-IP) with the address it saw, but
    anyone who reaches gunicorn directly can send the header too: it is believed only when
    the direct peer (REMOTE_ADDR) is one of ``TRUSTED_PROXIES``."""
    if request is None:
        return None
    remote = request.META.get("REMOTE_ADDR") or None
    header = settings.TRUSTED_CLIENT_IP_HEADER
    if header and remote and _peer_is_trusted(remote):
        value = request.headers.get(header, "").strip()
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            pass
    return remote


def _peer_is_trusted(remote: str) -> bool:
    try:
        peer = ipaddress.ip_address(remote)
    except ValueError:
        return False
    return any(peer in network for network in _trusted_proxies())


def record(
    *,
    # The user model lives in members (a layer above): any user, AnonymousUser or None.
    actor: Any,
    action: str,
    obj: Model | None = None,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        actor=user,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        changes=changes or {},
        ip=client_ip(current_request()),
        request_id=current_request_id() or "",
    )
