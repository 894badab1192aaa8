"""Lookups that could tell a member whether someone else is our customer (issue 15, M4).

The KYC profile must refuse a BVN, phone number, NYSC state code or bank account that
another member already holds (they are unique), and every such refusal answers the question
"is this person a customer?". So the lookups live here, in one place, and:

- run only on the profile save, only for values that differ from what is on file, and
  never for a locked (submitted or verified) profile; the inline validation endpoint checks
  formats only;
- are counted per user through the cache (``IDENTITY_LOOKUP_LIMIT`` per
  ``IDENTITY_LOOKUP_WINDOW_SECONDS``); past the limit nothing is looked up and the member
  gets a clear "try again later" (HTTP 429);
- answer a hit with a neutral message that does not say the value belongs to someone else,
  and write an audit event naming the fields and the members involved (never the values: a
  BVN is not written anywhere but its encrypted column), which staff see as a flag.
"""

from django.conf import settings
from django.db.models import Q

from core import audit, throttle
from core.crypto import bvn_blind_index
from core.errors import DomainError
from members.models import Member

NEUTRAL = "We could not accept this {what}. If you believe this is a mistake, contact support."
WHAT = {
    "bvn": "BVN",
    "phone": "phone number",
    "state_code": "NYSC state code",
    "account_number": "bank account",
}
NEUTRAL_MESSAGES = {field: NEUTRAL.format(what=what) for field, what in WHAT.items()}
THROTTLED = (
    "You have changed your identity details too many times in a short while. "
    "Try again in {minutes} minutes, or contact support."
)


class LookupsThrottled(DomainError):
    code = "rate_limited"
    http_status = 429

    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        super().__init__(THROTTLED.format(minutes=max(1, -(-retry_after // 60))))


def throttle_identity_requests(*, scope: str, actor, limit: int, member=None):
    """Count one request of ``actor`` in ``scope``; past ``limit`` raise ``LookupsThrottled``
    (the first refusal of a window is audited)."""
    verdict = throttle.hit(
        scope, f"u:{actor.pk}", limit=limit, window=settings.IDENTITY_LOOKUP_WINDOW_SECONDS
    )
    if verdict.allowed:
        return
    if verdict.first_refusal:
        audit.record(
            actor=actor,
            action="member.identity_lookup_throttled",
            obj=member,
            changes={"scope": scope, "limit": limit},
        )
    raise LookupsThrottled(verdict.retry_after)


def _changed_lookups(member: Member, values: dict) -> dict[str, Q]:
    lookups = {}
    phone = values.get("phone")
    if phone and phone != member.phone:
        lookups["phone"] = Q(phone=phone)
    bvn = values.get("bvn")
    if bvn:
        index = bvn_blind_index(bvn)
        if index != member.bvn_hash:
            lookups["bvn"] = Q(bvn_hash=index)
    state_code = values.get("state_code")
    if state_code and state_code != member.state_code:
        lookups["state_code"] = Q(state_code=state_code)
    bank, account = values.get("bank_code"), values.get("account_number")
    if bank and account and (bank, account) != (member.bank_code, member.account_number):
        lookups["account_number"] = Q(bank_code=bank, account_number=account)
    return lookups


def identity_conflicts(*, member: Member, actor, values: dict) -> dict[str, str]:
    """Neutral errors by field for identity values another member already holds.

    ``values`` holds the cleaned phone, bvn, state_code, bank_code and account_number.
    Raises ``LookupsThrottled`` past the member's limit, before anything is looked up."""
    if not member.is_kyc_editable:
        return {}  # a locked profile cannot change these, so nothing is looked up
    lookups = _changed_lookups(member, values)
    if not lookups:
        return {}
    throttle_identity_requests(
        scope="identity-lookup",
        actor=actor,
        limit=settings.IDENTITY_LOOKUP_LIMIT,
        member=member,
    )
    others = Member.objects.exclude(pk=member.pk)
    hits = {}
    for field, condition in lookups.items():
        other_ids = list(others.filter(condition).values_list("pk", flat=True)[:5])
        if other_ids:
            hits[field] = other_ids
    if hits:
        # The flag for staff: which of this member's details another member already holds.
        audit.record(
            actor=actor,
            action="member.identity_duplicate",
            obj=member,
            changes={
                "fields": sorted(hits),
                "other_member_ids": sorted({pk for ids in hits.values() for pk in ids}),
            },
        )
    return {field: NEUTRAL_MESSAGES[field] for field in hits}
