"""The member's payout account: resolve it with the bank, fuzzy-match the name, confirm it
(a person who is not the member, when the names differ)."""

import difflib

from django.db import transaction
from django.utils import timezone

from core import audit
from core.errors import Conflict, DomainError, NotAllowed
from members.models import Member
from members.staff_identity import check_independent
from payments.providers import get_provider
from payments.providers.base import ProviderError

NAME_MATCH_THRESHOLD = 0.8


def names_match(member_name: str, account_name: str) -> bool:
    """Fuzzy: same words in any order (banks print SURNAME FIRSTNAME), small typos allowed."""

    def words(text):
        return sorted(
            w
            for w in "".join(c if c.isalpha() else " " for c in text.upper()).split()
            if len(w) > 1
        )

    a, b = words(member_name), words(account_name)
    if not a or not b:
        return False
    if set(a) <= set(b) or set(b) <= set(a):
        return True
    return difflib.SequenceMatcher(None, " ".join(a), " ".join(b)).ratio() >= NAME_MATCH_THRESHOLD


def resolve_payout_account(*, member, actor) -> bool:
    """Ask the provider whose account this is; a matching name confirms it automatically,
    bound to exactly the bank code and account number that were resolved."""
    bank_code, account_number = member.bank_code, member.account_number
    try:
        resolution = get_provider().resolve_account(
            account_number=account_number, bank_code=bank_code
        )
    except ProviderError as exc:
        raise DomainError(f"The bank could not confirm the account: {exc}") from exc
    with transaction.atomic():
        member = Member.objects.select_for_update().get(pk=member.pk)
        if (member.bank_code, member.account_number) != (bank_code, account_number):
            raise Conflict("The member's account changed while it was being checked; try again.")
        matches = names_match(member.full_name, resolution.account_name)
        if matches:
            fields = member.mark_payout_confirmed(resolution.account_name)
        else:
            fields = member.clear_payout_confirmation()
            member.account_name = resolution.account_name[:150]
        member.save(update_fields=[*fields, "updated_at"])
        audit.record(
            actor=actor,
            action="member.account_resolved",
            obj=member,
            changes={
                "name_matches": matches,
                "bank_code": bank_code,
                "account_number": account_number,
                "account_name": member.account_name,
            },
        )
    return matches


@transaction.atomic
def confirm_payout_account(*, member, actor):
    """Override a mismatching account name (maker-checker): a first finance user asks, a
    second one confirms; neither may share an identity with the member or with each other's
    member. Returns the member; ``payout_account_confirmed`` says which step this was."""
    if not (actor.is_authenticated and actor.is_staff and actor.has_perm("loans.disburse_loan")):
        raise NotAllowed("You cannot confirm payout accounts.")

    member = Member.objects.select_for_update().get(pk=member.pk)
    if not member.account_name:
        raise DomainError("Resolve the account name with the provider first.")
    if member.payout_account_confirmed:
        raise Conflict("This account is already confirmed.")
    requester = member.account_override_requested_by
    check_independent(
        actor=actor, member=member, counterparts=[requester], action="account_override"
    )
    now = timezone.now()
    if requester is None:
        member.account_override_requested_by = actor
        member.account_override_requested_at = now
        member.save(
            update_fields=[
                "account_override_requested_by",
                "account_override_requested_at",
                "updated_at",
            ]
        )
        audit.record(
            actor=actor,
            action="member.account_override_requested",
            obj=member,
            changes={
                "account_name": member.account_name,
                "bank_code": member.bank_code,
                "account_number": member.account_number,
            },
        )
        return member
    if requester.pk == actor.pk:
        raise NotAllowed(
            "You asked for this override; a second finance user must confirm it (maker-checker)."
        )
    fields = member.mark_payout_confirmed(member.account_name)
    member.save(update_fields=[*fields, "updated_at"])
    audit.record(
        actor=actor,
        action="member.account_confirmed",
        obj=member,
        changes={
            "account_name": member.account_name,
            "bank_code": member.bank_code,
            "account_number": member.account_number,
            "override_requested_by": requester.pk,
        },
    )
    return member
