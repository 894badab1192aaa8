"""Granting and revoking staff roles: the only product path that changes who may do what.

Every change is a ``RoleGrantRequest`` row with who asked, for whom, what and why, and an
audit event. A grant of Finance or Administrators (money out, or the keys to the roles)
waits for a second administrator who is neither the requester nor the grantee; a Loan
officer grant and any revoke apply at once. Nobody changes their own roles. Superuser and
staff status and direct permissions are not roles: only superusers set them, in the admin.

Group membership changed any other way (shell, a superuser's admin form) is still audited
by the m2m receivers at the bottom (``role.changed_outside_service``).
"""

import contextvars

from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.utils import timezone

from core import audit
from core.errors import Conflict, DomainError, NotAllowed, check_transition
from core.logging import current_request
from members.models import (
    ROLE_CHANGE_TRANSITIONS,
    RoleChangeKind,
    RoleChangeStatus,
    RoleGrantRequest,
    User,
)
from members.roles import ADMINISTRATORS, FINANCE, ROLES

# Roles whose grant needs a second administrator.
TWO_PERSON_ROLES = frozenset({FINANCE, ADMINISTRATORS})
MIN_REASON = 10

_in_service = contextvars.ContextVar("role_change_in_service", default=False)


def _require_manager(actor, perm="members.add_rolegrantrequest"):
    if not (
        actor.is_authenticated and actor.is_staff and (actor.is_superuser or actor.has_perm(perm))
    ):
        raise NotAllowed("You do not have permission to change staff roles.")


def _apply(change: RoleGrantRequest) -> None:
    group = Group.objects.get(name=change.role)
    user = User.objects.select_for_update().get(pk=change.user_id)
    token = _in_service.set(True)
    try:
        if change.kind == RoleChangeKind.GRANT:
            user.groups.add(group)
            if not user.is_staff:
                # A role is back-office work; the grant (two people for money roles) is what
                # opens the back office, never a bare staff tick box.
                user.is_staff = True
                user.save(update_fields=["is_staff"])
        else:
            user.groups.remove(group)
    finally:
        _in_service.reset(token)


def _record(change, *, actor, action, **extra):
    audit.record(
        actor=actor,
        action=action,
        obj=change.user,
        changes={
            "role_change": change.pk,
            "kind": change.kind,
            "role": change.role,
            "reason": change.reason,
            "status": change.status,
            "requested_by": change.requested_by_id,
            **extra,
        },
    )


def check_role_change(*, user, role: str, kind: str, actor, reason: str) -> str:
    """Every refusal ``request_role_change`` can give before writing; the stripped reason."""
    _require_manager(actor)
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise DomainError(
            f"Say why (at least {MIN_REASON} characters).", fields={"reason": "Required"}
        )
    if role not in ROLES:
        raise DomainError(f"{role!r} is not a staff role.")
    if kind not in RoleChangeKind.values:
        raise DomainError("Choose grant or revoke.")
    if user.pk == actor.pk:
        raise NotAllowed("You cannot change your own roles; another administrator must.")
    if user.is_superuser and not actor.is_superuser:
        raise NotAllowed("Only a superuser can change a superuser's roles.")
    has_role = user.groups.filter(name=role).exists()
    if kind == RoleChangeKind.GRANT and has_role:
        raise Conflict(f"{user} already has the role {role}.")
    if kind == RoleChangeKind.REVOKE and not has_role:
        raise Conflict(f"{user} does not have the role {role}.")
    if RoleGrantRequest.objects.filter(
        user=user, role=role, status=RoleChangeStatus.PENDING
    ).exists():
        raise Conflict(f"A change of {role} for {user} is already waiting for approval.")
    return reason


@transaction.atomic
def request_role_change(*, user, role: str, kind: str, actor, reason: str) -> RoleGrantRequest:
    """Ask for a grant or a revoke. Applies at once unless it is a two-person grant."""
    reason = check_role_change(user=user, role=role, kind=kind, actor=actor, reason=reason)
    try:
        with transaction.atomic():
            change = RoleGrantRequest.objects.create(
                user=user, role=role, kind=kind, reason=reason, requested_by=actor
            )
    except IntegrityError as exc:
        raise Conflict(f"A change of {role} for {user} is already waiting for approval.") from exc
    if kind == RoleChangeKind.GRANT and role in TWO_PERSON_ROLES:
        _record(change, actor=actor, action="role.grant_requested")
        return change
    _apply(change)
    change.status = RoleChangeStatus.APPLIED
    change.decided_by = actor
    change.decided_at = timezone.now()
    change.save(update_fields=["status", "decided_by", "decided_at"])
    _record(
        change,
        actor=actor,
        action="role.granted" if kind == RoleChangeKind.GRANT else "role.revoked",
    )
    return change


def _lock_pending(change, actor, perm) -> RoleGrantRequest:
    _require_manager(actor, perm)
    change = RoleGrantRequest.objects.select_for_update().select_related("user").get(pk=change.pk)
    if change.status != RoleChangeStatus.PENDING:
        raise Conflict(f"This role change is already {change.get_status_display().lower()}.")
    return change


@transaction.atomic
def approve_role_change(*, change: RoleGrantRequest, actor) -> RoleGrantRequest:
    """The second administrator: not the requester, not the grantee."""
    change = _lock_pending(change, actor, "members.approve_rolegrantrequest")
    if actor.pk == change.requested_by_id:
        raise NotAllowed("You asked for this grant; a second administrator must approve it.")
    if actor.pk == change.user_id:
        raise NotAllowed("You cannot approve a grant of a role to yourself.")
    if change.user.is_superuser and not actor.is_superuser:
        raise NotAllowed("Only a superuser can change a superuser's roles.")
    check_transition(ROLE_CHANGE_TRANSITIONS, change.status, RoleChangeStatus.APPLIED, what="grant")
    _apply(change)
    change.status = RoleChangeStatus.APPLIED
    change.decided_by = actor
    change.decided_at = timezone.now()
    change.save(update_fields=["status", "decided_by", "decided_at"])
    _record(change, actor=actor, action="role.granted", approved_by=actor.pk)
    return change


@transaction.atomic
def reject_role_change(*, change: RoleGrantRequest, actor, note: str = "") -> RoleGrantRequest:
    """Any other administrator, or the requester withdrawing it."""
    change = _lock_pending(change, actor, "members.add_rolegrantrequest")
    if actor.pk == change.user_id:
        raise NotAllowed("You cannot decide on a grant of a role to yourself.")
    check_transition(
        ROLE_CHANGE_TRANSITIONS, change.status, RoleChangeStatus.REJECTED, what="grant"
    )
    change.status = RoleChangeStatus.REJECTED
    change.decided_by = actor
    change.decided_at = timezone.now()
    change.decision_note = (note or "").strip()
    change.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    _record(change, actor=actor, action="role.grant_rejected")
    return change


# --- Changes made outside the service ----------------------------------------------------------


def _audit_outside(sender, instance, action, reverse, model, pk_set, **kwargs):
    """Any other change of group membership, direct permissions or a group's permissions
    (shell, a superuser's admin form, a script) leaves an audit event too."""
    if _in_service.get() or action not in ("post_add", "post_remove", "pre_clear"):
        return

    request = current_request()
    user = getattr(request, "_cached_user", None) if request is not None else None
    names = sorted(str(obj) for obj in model.objects.filter(pk__in=pk_set or ()))
    audit.record(
        actor=user,
        action="role.changed_outside_service",
        obj=instance,
        changes={
            "relation": sender._meta.model_name,
            "change": action.split("_", 1)[1],
            "from_side": "reverse" if reverse else "forward",
            "items": names if pk_set is not None else "all",
        },
    )


def connect_outside_change_audit() -> None:
    from django.contrib.auth.models import Group
    from django.db.models.signals import m2m_changed

    uid = "members.role_changes."
    m2m_changed.connect(_audit_outside, sender=User.groups.through, dispatch_uid=uid + "groups")
    m2m_changed.connect(
        _audit_outside, sender=User.user_permissions.through, dispatch_uid=uid + "user_perms"
    )
    m2m_changed.connect(
        _audit_outside, sender=Group.permissions.through, dispatch_uid=uid + "group_perms"
    )
