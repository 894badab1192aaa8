"""Account deletion: the member asks, an administrator approves, and after the legal
retention period the member's personal data is anonymised in place.

Nothing is deleted: loans, installments, payments and journal entries reference the member
row (all foreign keys are PROTECT) and must stay for the lender's books and the regulator;
they keep pointing at an anonymised member. Open money (an active loan, an open application)
blocks approval: the debt has to be settled or written off first.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import audit
from core.errors import Conflict, DomainError, NotAllowed
from loans.models import Application, Loan
from members.models import DeletionRequest, DeletionStatus, Member
from privacy import signals

logger = logging.getLogger("privacy.deletion")

OPEN_LOAN_STATUSES = ("pending_disbursement", "active")
OPEN_APPLICATION_STATUSES = ("draft", "submitted", "in_review")


def _open_money(member: Member) -> str:

    if Loan.objects.filter(member=member, status__in=OPEN_LOAN_STATUSES).exists():
        return "The member still has a loan that is not repaid or written off."
    if Application.objects.filter(member=member, status__in=OPEN_APPLICATION_STATUSES).exists():
        return "The member has an open application; it must be decided or cancelled first."
    return ""


@transaction.atomic
def request_deletion(*, member: Member, actor) -> DeletionRequest:
    if actor is None or actor.pk != member.user_id:
        raise NotAllowed("Only the member can ask for their own account to be deleted.")
    member = Member.objects.select_for_update().get(pk=member.pk)
    existing = member.deletion_requests.filter(
        status__in=[DeletionStatus.REQUESTED, DeletionStatus.APPROVED]
    ).first()
    if existing is not None:
        raise Conflict("You have already asked for your account to be deleted.")
    deletion = DeletionRequest.objects.create(member=member)
    audit.record(actor=actor, action="member.deletion_requested", obj=deletion)
    return deletion


def _decide(deletion_id, actor, to_status, note):
    if not actor.is_staff or not actor.has_perm("members.approve_deletion"):
        raise NotAllowed("You do not have permission to decide deletion requests.")
    deletion = DeletionRequest.objects.select_for_update().get(pk=deletion_id)
    if deletion.status != DeletionStatus.REQUESTED:
        raise Conflict(f"This request is already {deletion.get_status_display().lower()}.")
    before = deletion.status
    deletion.status = to_status
    deletion.decided_by = actor
    deletion.decided_at = timezone.now()
    deletion.decision_note = note
    return deletion, before


@transaction.atomic
def approve_deletion(*, deletion: DeletionRequest, actor, note: str = ""):
    deletion, before = _decide(deletion.pk, actor, DeletionStatus.APPROVED, note)
    blocker = _open_money(deletion.member)
    if blocker:
        raise Conflict(blocker)
    deletion.anonymise_after = deletion.decided_at + timedelta(
        days=settings.MEMBER_DATA_RETENTION_DAYS
    )
    deletion.save()
    audit.record(
        actor=actor,
        action="member.deletion_approved",
        obj=deletion,
        changes={
            "status": [before, deletion.status],
            "anonymise_after": str(deletion.anonymise_after),
        },
    )
    return deletion


@transaction.atomic
def reject_deletion(*, deletion: DeletionRequest, actor, note: str):
    if len((note or "").strip()) < 5:
        raise DomainError("Give the member a reason.", fields={"note": "Required"})
    deletion, before = _decide(deletion.pk, actor, DeletionStatus.REJECTED, note.strip())
    deletion.save()
    audit.record(
        actor=actor,
        action="member.deletion_rejected",
        obj=deletion,
        changes={"status": [before, deletion.status]},
    )
    return deletion


def anonymise_member(member: Member) -> None:
    """Blank every personal field of the member, their login and documents, in place."""
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator

    user = member.user
    member.full_name = f"Deleted member {member.pk}"
    member.date_of_birth = None
    member.phone = None
    member.bvn_encrypted = ""
    member.bvn_hash = None
    member.bvn_last4 = ""
    member.state_code = None
    member.ppa_name = ""
    member.account_number = ""
    member.clear_payout_confirmation()  # also the confirmed account copy
    member.kyc_rejection_reason = ""
    member.save()
    for document in member.documents.all():
        document.file.delete(save=False)
        document.file = ""
        document.original_name = "deleted"
        document.save(update_fields=["file", "original_name"])
    Application.objects.filter(member=member).update(
        applicant_name="", consent_ip=None, consent_user_agent=""
    )
    user.email = f"deleted-{user.pk}@deleted.invalid"
    user.display_name = ""
    user.is_active = False
    user.set_unusable_password()
    user.save()
    EmailAddress.objects.filter(user=user).delete()
    Authenticator.objects.filter(user=user).delete()
    # Open sessions die too: an inactive user with a changed password hash is signed out
    # by the authentication middleware on the next request; the API revokes its tokens.
    signals.member_anonymised.send(Member, user=user)


def anonymise_due(*, now=None) -> int:
    """Anonymise the members whose approved request has passed its retention date."""
    now = now or timezone.now()
    done = 0
    due = DeletionRequest.objects.filter(
        status=DeletionStatus.APPROVED, anonymise_after__lte=now
    ).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            deletion = DeletionRequest.objects.select_for_update().get(pk=pk)
            if deletion.status != DeletionStatus.APPROVED:
                continue
            if _open_money(deletion.member):
                # A loan reopened meanwhile (e.g. a reversal): wait, never erase a debtor.
                logger.warning("deletion postponed: open money", extra={"deletion": pk})
                continue
            anonymise_member(deletion.member)
            deletion.status = DeletionStatus.COMPLETED
            deletion.completed_at = now
            deletion.save(update_fields=["status", "completed_at"])
            audit.record(actor=None, action="member.anonymised", obj=deletion)
            done += 1
    return done
