"""Refunds: a member's credit or an unidentified deposit in suspense sent back by transfer.

Who: finance (``payments.approve_refund``) or the member, for their own credit, asks; a
*different* finance user with ``payments.approve_refund`` approves after re-entering their
password (the views) — maker-checker compares people (``check_independent``), as for payouts.

Where the money leaves, mirroring the disbursement: the ledger moves when the provider says
the transfer succeeded (``refund_transfer.complete_refund`` posts ``refund:<id>``: Dr member
credit or Dr suspense, Cr cash at provider). Between approval and that moment the approved
amount is *reserved*: a refund queued or sent counts against the member's available credit
(``available_credit``), and a suspense line has at most one live refund (unique constraint).
Approval locks the member row and recomputes the credit from the ledger, so two refunds of one
credit cannot both be approved, and the ledger's member credit never goes below what is
reserved. A failed transfer ends the reservation: nothing was posted, the money is simply
available again. Code that spends member credit elsewhere must lock the member row and use
``available_credit``, not the bare ledger balance.
"""

import secrets

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from core import audit, jobs
from core.errors import Conflict, DomainError, NotAllowed, check_transition
from core.money import format_naira
from ledger.selectors import member_credit
from members.models import Member
from members.staff_identity import check_independent, identity_of
from members.validators import validate_nuban
from payments.models import (
    REFUND_TRANSITIONS,
    LineStatus,
    Refund,
    RefundEvent,
    RefundSource,
    RefundStatus,
    StatementLine,
)
from payments.providers import get_provider
from payments.providers.base import ProviderError
from payments.reconciliation.suspense import lock_suspense_line
from payments.selectors import available_credit, reserved_credit
from payments.services.disbursement import _check_bound_account
from payments.services.payout_account import names_match
from payments.services.repayment import MAX_SINGLE_PAYMENT

APPROVE_PERMISSION = "payments.approve_refund"
RECONCILE_PERMISSION = "payments.reconcile_statement"


# --- Reads -----------------------------------------------------------------------------------


def _sum(qs) -> int:
    return qs.aggregate(total=Sum("amount", default=0))["total"]


def requested_credit(member) -> int:
    return _sum(
        Refund.objects.filter(
            member=member, source=RefundSource.CREDIT, status=RefundStatus.REQUESTED
        )
    )


def credit_summary(member) -> dict:
    credit = member_credit(member)
    reserved = reserved_credit(member)
    requested = requested_credit(member)
    available = max(credit - reserved, 0)
    return {
        "credit": credit,
        "reserved": reserved,
        "requested": requested,
        "available": available,
        "refundable": max(available - requested, 0),
    }


def is_finance(user) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_staff
        and user.has_perm(APPROVE_PERMISSION)
    )


# --- Helpers ---------------------------------------------------------------------------------


def new_refund_reference() -> str:
    return f"RFD-{secrets.token_hex(6).upper()}"


def move(refund: Refund, to: str, *, actor=None, note: str = "") -> None:
    """Change the status through the transition map and write the history row (the caller
    holds the row lock and saves the other fields)."""
    check_transition(REFUND_TRANSITIONS, refund.status, to, what="refund")
    RefundEvent.objects.create(
        refund=refund,
        from_status=refund.status,
        to_status=to,
        actor=actor if actor is not None and actor.is_authenticated else None,
        note=note[:2000],
    )
    refund.status = to


def _check_amount(amount) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise DomainError("A refund must be a positive amount.", fields={"amount": "Invalid"})
    if amount > MAX_SINGLE_PAYMENT:
        raise DomainError(
            "The amount is larger than any refund we send.", fields={"amount": "Too large"}
        )
    return amount


def _not_staff_account(user, bank_code: str, account_number: str) -> None:
    identity = identity_of(user)
    if identity is not None and (identity.bank_code, identity.account_number) == (
        bank_code,
        account_number,
    ):
        raise NotAllowed(
            "This account is on file as a staff member's own account; a refund cannot go "
            "there (maker-checker)."
        )


def _record(refund: Refund, actor, action: str, **changes) -> None:
    audit.record(
        actor=actor,
        action=action,
        obj=refund,
        changes={"refund": refund.reference, "amount": refund.amount, **changes},
    )


# --- Request ---------------------------------------------------------------------------------


@transaction.atomic
def request_credit_refund(
    *, member: Member, actor, amount: int, loan=None, reason: str = ""
) -> Refund:
    """The member (own credit) or finance asks to send credit back to the member's confirmed
    payout account. Refused when the amount is more than the credit not already asked for."""
    amount = _check_amount(amount)
    member = Member.objects.select_for_update(no_key=True).get(pk=member.pk)
    by_member = actor.is_authenticated and member.user_id == actor.pk
    if not by_member:
        if not is_finance(actor):
            raise NotAllowed("You do not have permission to request refunds.")
        check_independent(actor=actor, member=member, action="refund_request")
    _check_bound_account(member)
    summary = credit_summary(member)
    if amount > summary["refundable"]:
        pending = (
            f" ({format_naira(summary['requested'] + summary['reserved'])} is already asked "
            "for or on its way)"
            if summary["requested"] or summary["reserved"]
            else ""
        )
        raise Conflict(
            f"The refund ({format_naira(amount)}) is more than the credit that can be refunded, "
            f"{format_naira(summary['refundable'])}{pending}.",
            fields={"amount": "More than the credit"},
        )
    refund = Refund.objects.create(
        reference=new_refund_reference(),
        source=RefundSource.CREDIT,
        member=member,
        loan=loan,
        amount=amount,
        reason=" ".join((reason or "").split())[:2000],
        bank_code=member.confirmed_bank_code,
        account_number=member.confirmed_account_number,
        account_name=member.account_name,
        name_confirmed=True,
        name_check="The member's payout account, name confirmed with the bank.",
        requested_by=actor,
    )
    RefundEvent.objects.create(
        refund=refund, to_status=RefundStatus.REQUESTED, actor=actor, note=refund.reason
    )
    _record(
        refund,
        actor,
        "refund.requested",
        source=RefundSource.CREDIT,
        member=member.pk,
        bank_code=refund.bank_code,
        account_number=refund.account_number,
    )
    return refund


def _name_enquiry(bank_code: str, account_number: str, account_name: str) -> tuple[str, bool, str]:
    """(name to pay, confirmed by the bank?, what the approver is told)."""
    try:
        resolution = get_provider().resolve_account(
            account_number=account_number, bank_code=bank_code
        )
    except (ProviderError, NotImplementedError) as exc:
        return (
            account_name,
            False,
            f"Name NOT checked: the payments provider could not confirm who holds this account "
            f"({exc or 'no name enquiry'}). Check the name with the bank before approving.",
        )
    if not names_match(account_name, resolution.account_name):
        raise DomainError(
            f"The bank says this account belongs to {resolution.account_name}, not "
            f"{account_name}. Check the account number and the name.",
            fields={"account_name": "Does not match the bank"},
        )
    return (
        resolution.account_name[:150],
        True,
        f"Name confirmed by the bank's name enquiry: {resolution.account_name}.",
    )


@transaction.atomic
def request_suspense_refund(
    *,
    line: StatementLine,
    actor,
    bank_code: str,
    account_number: str,
    account_name: str,
    reason: str = "",
) -> Refund:
    """Finance sends an unidentified deposit back to the account it came from (the whole
    amount), checked by the provider's name enquiry where it has one."""
    if not (is_finance(actor) and actor.has_perm(RECONCILE_PERMISSION)):
        raise NotAllowed("You do not have permission to refund deposits in suspense.")
    bank_code = (bank_code or "").strip()
    account_name = " ".join((account_name or "").split())[:150]
    if not bank_code:
        raise DomainError("Choose the sender's bank.", fields={"bank_code": "Required"})
    try:
        account_number = validate_nuban(account_number, bank_code)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages), fields={"account_number": "Invalid"}) from exc
    if len(account_name) < 3:
        raise DomainError(
            "Enter the account holder's name as the sender gave it.",
            fields={"account_name": "Required"},
        )
    reason = " ".join((reason or "").split())
    if len(reason) < 5:
        raise DomainError(
            "Say why this deposit is sent back (at least 5 characters).",
            fields={"reason": "Required"},
        )
    _not_staff_account(actor, bank_code, account_number)
    # The bank is asked before the line is locked: no row lock waits on a network call.
    name, confirmed, note = _name_enquiry(bank_code, account_number, account_name)
    line = lock_suspense_line(line, actor)
    try:
        with transaction.atomic():
            refund = Refund.objects.create(
                reference=new_refund_reference(),
                source=RefundSource.SUSPENSE,
                statement_line=line,
                amount=line.amount,
                reason=reason[:2000],
                bank_code=bank_code,
                account_number=account_number,
                account_name=name,
                name_confirmed=confirmed,
                name_check=note[:300],
                requested_by=actor,
            )
    except IntegrityError as exc:
        raise Conflict("A refund of this deposit is already under way.") from exc
    RefundEvent.objects.create(
        refund=refund, to_status=RefundStatus.REQUESTED, actor=actor, note=reason
    )
    _record(
        refund,
        actor,
        "refund.requested",
        source=RefundSource.SUSPENSE,
        statement_line=line.pk,
        bank_code=bank_code,
        account_number=account_number,
        name_confirmed=confirmed,
    )
    return refund


# --- Decide ----------------------------------------------------------------------------------


def _check_approver(refund: Refund, actor) -> None:
    if not is_finance(actor):
        raise NotAllowed("You do not have permission to approve refunds.")
    if refund.requested_by_id == actor.pk:
        raise NotAllowed(
            "You asked for this refund, so another finance user must approve it (maker-checker)."
        )


def _lock_for_approval(refund: Refund) -> None:
    """Re-check the money under lock: the credit (member row) or the suspense line."""
    if refund.source == RefundSource.CREDIT:
        member = Member.objects.select_for_update(no_key=True).get(pk=refund.member_id)
        _check_bound_account(member)
        if (member.confirmed_bank_code, member.confirmed_account_number) != (
            refund.bank_code,
            refund.account_number,
        ):
            raise Conflict(
                "The member's payout account changed after this refund was requested; reject "
                "it and ask again for the new account."
            )
        available = available_credit(member)
        if refund.amount > available:
            raise Conflict(
                f"The refund ({format_naira(refund.amount)}) is more than the member's credit "
                f"now available, {format_naira(available)}: it was refunded or used since. "
                "Reject this request."
            )
        return
    line = StatementLine.objects.select_for_update().get(pk=refund.statement_line_id)
    if line.status != LineStatus.SUSPENSE or line.amount != refund.amount:
        raise Conflict(
            f"This deposit is no longer in suspense ({line.get_status_display().lower()}); "
            "reject the refund."
        )


@transaction.atomic
def approve_refund(*, refund: Refund, actor) -> Refund:
    """The second person approves: the amount is reserved and the transfer is queued with
    its fixed reference (the outbox); a task sends it.

    Locks in the order every user of member credit takes them: the member's row first (FOR NO
    KEY UPDATE, as ``repayment._lock_member_then_loan``), then this refund's row and only it
    (``of=("self",)``). Locking the joined requester's user row too made a member's own "use my
    credit" (whose payment row points at that user) wait for us while we waited for the member
    row it held: a deadlock. A refund's source and member never change, so they are read before
    the locks."""
    source, member_id = Refund.objects.values_list("source", "member_id").get(pk=refund.pk)
    if source == RefundSource.CREDIT:
        Member.objects.select_for_update(no_key=True).get(pk=member_id)
    refund = (
        Refund.objects.select_for_update(of=("self",))
        .select_related("requested_by")
        .get(pk=refund.pk)
    )
    _check_approver(refund, actor)
    check_transition(REFUND_TRANSITIONS, refund.status, RefundStatus.QUEUED, what="refund")
    requester = refund.requested_by
    if refund.source == RefundSource.CREDIT:
        counterparts = [requester] if requester.is_staff else []
        member = Member.objects.get(pk=refund.member_id)
        check_independent(actor=actor, member=member, counterparts=counterparts, action="refund")
    else:
        _not_staff_account(actor, refund.bank_code, refund.account_number)
        _not_staff_account(requester, refund.bank_code, refund.account_number)
    provider = get_provider()
    if not provider.supports_transfers:
        raise DomainError(
            f"The payments provider ({provider.name}) cannot send transfers, so the refund "
            "cannot be sent from here."
        )
    _lock_for_approval(refund)
    move(refund, RefundStatus.QUEUED, actor=actor, note="approved")
    refund.provider = provider.name
    refund.decided_by = actor
    refund.decided_at = timezone.now()
    refund.save(update_fields=["status", "provider", "decided_by", "decided_at", "updated_at"])
    _record(refund, actor, "refund.approved", status=[RefundStatus.REQUESTED, refund.status])
    jobs.enqueue_after_commit("payments.send_refund", refund.pk)
    return refund


@transaction.atomic
def reject_refund(*, refund: Refund, actor, reason: str) -> Refund:
    """Finance turns a request down (the requester may withdraw their own)."""
    refund = Refund.objects.select_for_update().get(pk=refund.pk)
    if not is_finance(actor):
        raise NotAllowed("You do not have permission to reject refunds.")
    reason = " ".join((reason or "").split())
    if len(reason) < 5:
        raise DomainError(
            "Say why the refund is rejected (at least 5 characters).",
            fields={"reason": "Required"},
        )
    move(refund, RefundStatus.REJECTED, actor=actor, note=reason)
    refund.decided_by = actor
    refund.decided_at = timezone.now()
    refund.decision_note = reason[:2000]
    refund.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "updated_at"])
    _record(refund, actor, "refund.rejected", reason=reason[:200])
    return refund
