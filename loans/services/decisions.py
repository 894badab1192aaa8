"""The officers' decisions: approve (two officers above the limit), reject, ask for
information, notes."""

from django.db import transaction
from django.utils import timezone

from core import audit
from core.errors import Conflict, DomainError, NotAllowed
from core.money import format_naira
from core.signals import send_after_commit
from loans import signals
from loans.eligibility import failed, product_limit_rules
from loans.models import (
    Application,
    ApplicationNote,
    ApplicationStatus,
    Approval,
)
from loans.rules import approvals_needed
from loans.services.booking import create_loan
from loans.services.records import move, write_history
from members.staff_identity import check_independent


def require_permission(actor, perm: str, message: str):
    if not (actor.is_authenticated and actor.is_staff and actor.has_perm(perm)):
        raise NotAllowed(message)


def _lock_for_decision(application, actor) -> Application:
    require_permission(
        actor, "loans.approve_application", "You do not have permission to decide on applications."
    )
    application = (
        Application.objects.select_for_update()
        .select_related("member", "product")
        .get(pk=application.pk)
    )
    if application.member.user_id == actor.pk:
        raise NotAllowed("You cannot decide on your own application.")
    check_independent(actor=actor, member=application.member, action="decide_application")
    if application.status != ApplicationStatus.IN_REVIEW:
        raise Conflict(
            f"This application is already {application.get_status_display().lower()}"
            "; your decision was not recorded."
        )
    return application


@transaction.atomic
def approve_application(
    *,
    application: Application,
    actor,
    amount: int | None = None,
    tenure: int | None = None,
) -> Application:
    """Approve, optionally lowering amount or tenure within the product's limits."""
    application = _lock_for_decision(application, actor)
    product = application.product
    amount = amount or application.amount
    tenure = tenure or application.tenure_months
    if amount > application.amount or tenure > application.tenure_months:
        raise DomainError("An officer may lower the amount or tenure, never raise them.")
    problems = failed(product_limit_rules(product, amount, tenure))
    if problems:
        raise DomainError(" ".join(p.reason for p in problems))
    previous = list(application.approvals.select_related("officer"))
    if any(a.officer_id == actor.pk for a in previous):
        raise Conflict(
            "You already approved this application; a different officer must give "
            "the second approval."
        )
    # The first approver and the officer who verified the KYC are the other half of the
    # pair: a member who shares one of their identities is an accomplice's file.
    check_independent(
        actor=actor,
        member=application.member,
        counterparts=[a.officer for a in previous] + [application.member.kyc_reviewed_by],
        action="approve_application",
    )
    if previous and (previous[0].amount, previous[0].tenure_months) != (amount, tenure):
        raise DomainError(
            f"The first approval was for {format_naira(previous[0].amount)} over "
            f"{previous[0].tenure_months} months. Approve those terms, or reject."
        )
    Approval.objects.create(
        application=application, officer=actor, amount=amount, tenure_months=tenure
    )
    needed = approvals_needed(application, amount)
    if len(previous) + 1 < needed:
        write_history(
            application,
            actor=actor,
            from_status=application.status,
            to_status=application.status,
            reason=f"First approval for {format_naira(amount)} over {tenure} months; a "
            "second officer must approve.",
        )
        audit.record(
            actor=actor,
            action="application.first_approval",
            obj=application,
            changes={"amount": amount, "tenure": tenure},
        )
        return application
    application.approved_amount = amount
    application.approved_tenure = tenure
    application.decided_at = timezone.now()
    move(
        application,
        ApplicationStatus.APPROVED,
        actor=actor,
        extra_fields=["approved_amount", "approved_tenure", "decided_at"],
        changes={"amount": amount, "tenure": tenure},
    )
    loan = create_loan(application=application, actor=actor)
    pk = application.pk
    send_after_commit(
        signals.application_event, Application, application_id=pk, template="application_approved"
    )
    return loan.application


@transaction.atomic
def reject_application(*, application: Application, actor, reason: str) -> Application:
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise DomainError(
            "Give the member a clear reason (at least 10 characters).",
            fields={"reason": "Required"},
        )
    application = _lock_for_decision(application, actor)
    application.decision_reason = reason
    application.decided_at = timezone.now()
    move(
        application,
        ApplicationStatus.REJECTED,
        actor=actor,
        reason=reason,
        extra_fields=["decision_reason", "decided_at"],
    )
    pk = application.pk
    send_after_commit(
        signals.application_event, Application, application_id=pk, template="application_rejected"
    )
    return application


@transaction.atomic
def request_information(*, application: Application, actor, message: str) -> Application:
    require_permission(actor, "loans.review_application", "You cannot review applications.")
    message = (message or "").strip()
    if len(message) < 10:
        raise DomainError("Say what information you need (at least 10 characters).")
    application = Application.objects.select_for_update().get(pk=application.pk)
    if application.status != ApplicationStatus.IN_REVIEW:
        raise Conflict("Information can be requested only while the application is in review.")
    application.info_requested = message
    application.save(update_fields=["info_requested", "updated_at"])
    ApplicationNote.objects.create(
        application=application, author=actor, text=message, visible_to_member=True
    )
    write_history(
        application,
        actor=actor,
        from_status=application.status,
        to_status=application.status,
        reason=f"Information requested: {message}",
    )
    audit.record(actor=actor, action="application.info_requested", obj=application)
    pk = application.pk
    send_after_commit(
        signals.application_event,
        Application,
        application_id=pk,
        template="application_info_requested",
    )
    return application


@transaction.atomic
def add_note(*, application: Application, actor, text: str) -> ApplicationNote:
    require_permission(actor, "loans.review_application", "You cannot add notes to applications.")
    text = (text or "").strip()
    if not text:
        raise DomainError("A note cannot be empty.")
    note = ApplicationNote.objects.create(application=application, author=actor, text=text[:5000])
    audit.record(
        actor=actor,
        action="application.note_added",
        obj=application,
        changes={"note_id": note.pk},
    )
    return note
