"""Staff identity and the independence checks of maker-checker.

Comparing user ids alone lets an officer approve a member account that is theirs under a
second e-mail, or an accomplice's. Every staff account with a role therefore carries who the
person is (BVN blind index, phone, bank account), recorded by *another* administrator, and a
decision on a member is refused when the member shares any of them with the person deciding
or with the other person of the maker-checker pair (the approver of a loan being paid out,
the first approver, the officer who verified the KYC, the finance user who asked for an
account-name override).

Staff without an identity on file cannot decide: refusing is the only safe answer, since
an unknown identity cannot be compared (documented in docs/SECURITY.md).
"""

import logging

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q

from core import audit
from core.crypto import bvn_blind_index, pii_cipher
from core.errors import Conflict, DomainError, NotAllowed
from members.models import Member, StaffIdentity
from members.validators import normalise_phone, validate_bvn, validate_nuban

logger = logging.getLogger("portal.security")

MISSING_IDENTITY = (
    "Your staff identity (BVN, phone and bank account) is not on file, so the system cannot "
    "check that this member is not you. Ask an administrator to record it before deciding."
)


def identity_of(user) -> StaffIdentity | None:
    if user is None or not getattr(user, "pk", None):
        return None
    try:
        return StaffIdentity.objects.get(user_id=user.pk)
    except StaffIdentity.DoesNotExist:
        return None


def shared_identity(identity: StaffIdentity, member: Member) -> list[str]:
    """What this member shares with this staff identity ('BVN', 'phone', 'bank account')."""
    shared = []
    if member.bvn_hash and member.bvn_hash == identity.bvn_hash:
        shared.append("BVN")
    if member.phone and member.phone == identity.phone:
        shared.append("phone number")
    if member.account_number and (member.bank_code, member.account_number) == (
        identity.bank_code,
        identity.account_number,
    ):
        shared.append("bank account")
    confirmed = (member.confirmed_bank_code, member.confirmed_account_number)
    if (
        "bank account" not in shared
        and member.confirmed_account_number
        and confirmed == (identity.bank_code, identity.account_number)
    ):
        shared.append("bank account")
    return shared


def check_independent(*, actor, member: Member, counterparts=(), action: str) -> None:
    """Refuse (NotAllowed) when ``actor`` may not take ``action`` on ``member``: no identity on
    file, the member shares the actor's identity, or a counterpart's (accomplice).

    Every refusal writes a security log line (the caller's transaction rolls back, so an audit
    row written here would vanish with it)."""
    if member.user_id == actor.pk:
        raise NotAllowed("You cannot decide on your own account.")
    own = identity_of(actor)
    if own is None:
        raise NotAllowed(MISSING_IDENTITY)
    shared = shared_identity(own, member)
    if shared:
        _refused(actor, member, action, "self", actor, shared)
        raise NotAllowed(
            f"This member has the same {' and '.join(shared)} as you; another staff member "
            "must decide (conflict of interest)."
        )
    for other in counterparts:
        if other is None or other.pk == actor.pk:
            continue
        if member.user_id == other.pk:
            _refused(actor, member, action, "counterpart", other, ["account"])
            raise NotAllowed(f"This member's account belongs to {other}, who took part in it.")
        identity = identity_of(other)
        shared = shared_identity(identity, member) if identity else []
        if shared:
            _refused(actor, member, action, "counterpart", other, shared)
            raise NotAllowed(
                f"This member has the same {' and '.join(shared)} as {other}, who took part "
                "in this decision; it cannot go ahead (maker-checker)."
            )


def _refused(actor, member, action, who, other, shared):
    logger.warning(
        "staff decision refused: shared identity",
        extra={
            "event": "staff.conflict_refused",
            "action": action,
            "who": who,
            "actor_id": actor.pk,
            "staff_id": other.pk,
            "member_id": member.pk,
            "shared": shared,
        },
    )


def check_staff_identity(
    *, user, actor, bvn: str, phone: str, bank_code: str, account_number: str
) -> tuple[str, str, str]:
    """Every refusal ``set_staff_identity`` can give before writing; the cleaned
    (bvn, phone, account number)."""
    if not (actor.is_superuser or actor.has_perm("members.change_staffidentity")):
        raise NotAllowed("You do not have permission to record staff identities.")
    if actor.pk == user.pk:
        raise NotAllowed("Another administrator must record your own staff identity.")
    if user.is_superuser and not actor.is_superuser:
        raise NotAllowed("Only a superuser can record a superuser's identity.")
    try:
        bvn = validate_bvn(bvn)
        phone = normalise_phone(phone)
        account_number = validate_nuban(account_number, bank_code)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages)) from exc
    if not bank_code:
        raise DomainError("Choose the staff member's bank.")
    if StaffIdentity.objects.filter(bvn_hash=bvn_blind_index(bvn)).exclude(user=user).exists():
        raise Conflict("This BVN is already on file for another staff account.")
    return bvn, phone, account_number


@transaction.atomic
def set_staff_identity(
    *, user, actor, bvn: str, phone: str, bank_code: str, account_number: str
) -> StaffIdentity:
    """Record or replace a staff member's identity. Never one's own: the point is that
    someone else vouches for it."""
    bvn, phone, account_number = check_staff_identity(
        user=user,
        actor=actor,
        bvn=bvn,
        phone=phone,
        bank_code=bank_code,
        account_number=account_number,
    )
    identity = StaffIdentity.objects.select_for_update().filter(user=user).first()
    before = (
        {
            "bvn_last4": identity.bvn_last4,
            "phone": identity.phone,
            "bank_code": identity.bank_code,
            "account_number": identity.account_number,
        }
        if identity
        else {}
    )
    identity = identity or StaffIdentity(user=user)
    identity.bvn_encrypted = pii_cipher().encrypt(bvn)
    identity.bvn_hash = bvn_blind_index(bvn)
    identity.bvn_last4 = bvn[-4:]
    identity.phone = phone
    identity.bank_code = bank_code
    identity.account_number = account_number
    identity.recorded_by = actor
    try:
        with transaction.atomic():
            identity.save()
    except IntegrityError as exc:
        raise Conflict("This BVN is already on file for another staff account.") from exc
    after = {
        "bvn_last4": identity.bvn_last4,
        "phone": identity.phone,
        "bank_code": identity.bank_code,
        "account_number": identity.account_number,
    }
    audit.record(
        actor=actor,
        action="staff.identity_recorded",
        obj=user,
        changes={k: [before.get(k), v] for k, v in after.items() if before.get(k) != v},
    )
    return identity


def staff_matching_member(member: Member):
    """Staff identities that share something with this member (for the officer's flags)."""
    q = Q(pk__in=[])
    if member.bvn_hash:
        q |= Q(bvn_hash=member.bvn_hash)
    if member.phone:
        q |= Q(phone=member.phone)
    if member.account_number:
        q |= Q(bank_code=member.bank_code, account_number=member.account_number)
    return StaffIdentity.objects.filter(q).select_related("user")
