"""Hardship restructures: an officer proposes new terms, the member consents to the new key
facts (their hash stored, like the application's), a second officer approves.

Approval, in one transaction under the loan's lock: the schedule in force is kept as a version;
installments in arrears and partly paid ones are closed at what was paid; the unpaid ones not
yet due become the new installments (more are added as needed); arrears are capitalised or
waived and the old interest still to come is replaced by the new, in one balanced entry
``restructure:<id>``; the loan takes the new APR and totals and is marked restructured.

An offer rests on the loan as it stood (``restructure_terms.fingerprint``): a payment, a
prepayment or a waiver since voids it. Consent or approval then finds the offer superseded by a
renewed one on the same choices, and says so: the member reviews the new terms.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import audit
from core.clock import lagos_today
from core.errors import Conflict, DomainError, NotAllowed
from core.forms import REASON_MIN_LENGTH
from core.signals import send_after_commit
from loans.models import Installment, Loan, LoanStatus
from loans.schedule import MAX_TENURE_MONTHS
from loans.services.booking import payout_started
from members.staff_identity import check_independent
from servicing import restructure_terms as rt
from servicing import signals
from servicing.models import (
    ArrearsTreatment,
    Restructure,
    RestructureHistory,
    RestructureStatus,
)
from servicing.services.restructure_apply import apply_restructure

PERMISSION = "servicing.restructure_loan"
OFFER_CHANGED = "The offer changed; review the new terms."

TRANSITIONS = {
    RestructureStatus.PROPOSED: {
        RestructureStatus.CONSENTED,
        RestructureStatus.WITHDRAWN,
        RestructureStatus.SUPERSEDED,
    },
    RestructureStatus.CONSENTED: {
        RestructureStatus.APPROVED,
        RestructureStatus.REJECTED,
        RestructureStatus.WITHDRAWN,
        RestructureStatus.SUPERSEDED,
    },
}


def may_restructure(user) -> bool:
    return bool(user.is_authenticated and user.is_staff and user.has_perm(PERMISSION))


def _check_permission(actor) -> None:
    if not may_restructure(actor):
        raise NotAllowed("You do not have permission to restructure loans.")


# --- Checks and the plan -----------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    new_installments: int
    holiday_months: int
    treatment: str


def clean_choice(new_installments, holiday_months, treatment) -> Choice:
    if treatment not in ArrearsTreatment.values:
        raise DomainError(
            "Choose whether the unpaid interest and charges are added to what is repaid or "
            "forgiven.",
            fields={"arrears_treatment": "Choose one"},
        )
    for value in (new_installments, holiday_months):
        if isinstance(value, bool) or not isinstance(value, int):
            raise DomainError("Months are whole numbers.", fields={"new_installments": "Invalid"})
    if not 1 <= new_installments <= MAX_TENURE_MONTHS:
        raise DomainError(
            f"The new schedule has between 1 and {MAX_TENURE_MONTHS} monthly installments.",
            fields={"new_installments": "Out of range"},
        )
    most = settings.RESTRUCTURE_MAX_HOLIDAY_MONTHS
    if not 0 <= holiday_months <= most:
        raise DomainError(
            f"A payment holiday is at most {most} month{'s' if most != 1 else ''}.",
            fields={"holiday_months": f"At most {most}"},
        )
    return Choice(new_installments, holiday_months, treatment)


def _check_loan(loan: Loan) -> None:
    if loan.status == LoanStatus.PENDING_DISBURSEMENT:
        # payout_started also answers True once a payout succeeded: asked only before payout.
        pending = "its payout is in progress" if payout_started(loan) else "it is not paid out"
        raise Conflict(
            f"Loan {loan.reference} cannot be restructured: {pending}. New terms can be "
            "offered once the money has reached the member."
        )
    if loan.status != LoanStatus.ACTIVE:
        raise Conflict(
            f"Only an active loan can be restructured; loan {loan.reference} is "
            f"{loan.get_status_display().lower()}."
        )


def _due_day(installments: list[Installment]) -> int:
    return min(installments[0].due_date.day, 28) if installments else 28


def plan_for(loan: Loan, installments: list[Installment], choice: Choice, *, as_of: date):
    """The plan and its key facts (nothing written); refuses terms past passing-out."""
    try:
        plan = rt.plan_restructure(
            installments,
            as_of=as_of,
            monthly_rate=Decimal(loan.monthly_rate),
            method=loan.interest_method,
            new_installments=choice.new_installments,
            holiday_months=choice.holiday_months,
            treatment=choice.treatment,
            due_day=_due_day(installments),
        )
    except ValueError as exc:
        raise Conflict(str(exc)) from None
    member = loan.member
    last = plan.new[-1].due_date
    if member.passing_out is None:
        raise Conflict("The member's passing-out date is not on file; add it before restructuring.")
    latest = member.passing_out - timedelta(days=loan.product.min_days_before_passing_out)
    if last > latest:
        raise DomainError(
            f"The last new installment ({last:%d %b %Y}) must fall due by {latest:%d %b %Y}, "
            f"{loan.product.min_days_before_passing_out} days before the member's passing-out on "
            f"{member.passing_out:%d %b %Y}, when the allowance stops. Choose fewer installments "
            "or a shorter holiday.",
            fields={"new_installments": "Ends after passing-out"},
        )
    facts = rt.key_facts(
        plan, reference=loan.reference, fingerprint_of_loan=rt.fingerprint(installments)
    )
    return plan, facts


def preview_restructure(*, loan: Loan, actor, new_installments, holiday_months, treatment):
    """What the offer would say (nothing written)."""
    _check_permission(actor)
    choice = clean_choice(new_installments, holiday_months, treatment)
    _check_loan(loan)
    installments = list(loan.installments.order_by("number"))
    return plan_for(loan, installments, choice, as_of=lagos_today())[1]


# --- Status changes ------------------------------------------------------------------------------


def _move(restructure: Restructure, target: str, *, actor, note: str = "", fields=()) -> None:
    before = restructure.status
    if target not in TRANSITIONS.get(before, ()):
        raise Conflict(
            f"This offer is {restructure.get_status_display().lower()}; nothing was changed."
        )
    restructure.status = target
    restructure.save(update_fields=["status", *fields])
    RestructureHistory.objects.create(
        restructure=restructure,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        from_status=before,
        to_status=target,
        note=note[:2000],
    )
    audit.record(
        actor=actor,
        action=f"servicing.restructure_{target}",
        obj=restructure.loan,
        changes={"restructure": restructure.pk, "status": [before, target], "note": note[:200]},
    )


def _create(loan, installments, choice: Choice, *, actor, reason: str) -> Restructure:
    _, facts = plan_for(loan, installments, choice, as_of=lagos_today())
    for old in Restructure.objects.select_for_update().filter(
        loan=loan, status__in=[RestructureStatus.PROPOSED, RestructureStatus.CONSENTED]
    ):
        _move(old, RestructureStatus.SUPERSEDED, actor=actor, note="A newer offer was made.")
    restructure = Restructure.objects.create(
        loan=loan,
        new_installments=choice.new_installments,
        holiday_months=choice.holiday_months,
        arrears_treatment=choice.treatment,
        reason=reason,
        terms=facts,
        terms_hash=rt.terms_hash(facts),
        proposed_by=actor,
    )
    RestructureHistory.objects.create(
        restructure=restructure, actor=actor, to_status=RestructureStatus.PROPOSED, note=reason
    )
    audit.record(
        actor=actor,
        action="servicing.restructure_proposed",
        obj=loan,
        changes={
            "restructure": restructure.pk,
            "terms_hash": restructure.terms_hash,
            "new_installments": choice.new_installments,
            "holiday_months": choice.holiday_months,
            "treatment": choice.treatment,
        },
    )
    send_after_commit(
        signals.restructure_proposed, sender=Restructure, restructure_id=restructure.pk
    )
    return restructure


def _lock(loan_id: int, restructure_id: int | None = None):
    # Loan, then its installments by number (a repayment's order), then the offer.
    loan = Loan.objects.select_for_update().select_related("member", "product").get(pk=loan_id)
    installments = list(
        Installment.objects.select_for_update().filter(loan=loan).order_by("number")
    )
    restructure = (
        Restructure.objects.select_for_update().get(pk=restructure_id) if restructure_id else None
    )
    return loan, installments, restructure


@transaction.atomic
def propose_restructure(
    *, loan: Loan, actor, new_installments, holiday_months, treatment, reason: str
) -> Restructure:
    _check_permission(actor)
    choice = clean_choice(new_installments, holiday_months, treatment)
    reason = (reason or "").strip()
    if len(reason) < REASON_MIN_LENGTH:
        raise DomainError(
            f"Say why the member needs new terms (at least {REASON_MIN_LENGTH} characters).",
            fields={"reason": "Required"},
        )
    loan, installments, _ = _lock(loan.pk)
    _check_loan(loan)
    check_independent(actor=actor, member=loan.member, action="restructure")
    return _create(loan, installments, choice, actor=actor, reason=reason[:2000])


def _still_valid(restructure: Restructure, loan: Loan, installments) -> bool:
    """The loan is as it was when the offer was made, and its first new installment is ahead."""
    terms = restructure.terms
    return (
        loan.status == LoanStatus.ACTIVE
        and rt.fingerprint(installments) == terms["fingerprint"]
        and date.fromisoformat(terms["first_due"]) > lagos_today()
    )


def _renew(restructure: Restructure, loan, installments, *, actor) -> Restructure | None:
    """Supersede an offer the loan no longer matches, and make it again on the same choices
    for the same officer when the loan still allows it."""
    _move(restructure, RestructureStatus.SUPERSEDED, actor=actor, note="The loan changed.")
    choice = Choice(
        restructure.new_installments, restructure.holiday_months, restructure.arrears_treatment
    )
    try:
        _check_loan(loan)
        return _create(
            loan, installments, choice, actor=restructure.proposed_by, reason=restructure.reason
        )
    except DomainError:
        return None


def _member_of(restructure: Restructure, actor) -> None:
    if not actor.is_authenticated or restructure.loan.member.user_id != actor.pk:
        raise NotAllowed("Only the member whose loan it is can accept new terms.")


@transaction.atomic
def _consent(restructure_id: int, *, actor, shown_hash: str, ip, user_agent: str):
    restructure = Restructure.objects.select_related("loan__member").get(pk=restructure_id)
    _member_of(restructure, actor)
    loan, installments, restructure = _lock(restructure.loan_id, restructure.pk)
    if restructure.status == RestructureStatus.SUPERSEDED:
        raise Conflict(OFFER_CHANGED)
    if restructure.status != RestructureStatus.PROPOSED:
        raise Conflict(f"This offer is {restructure.get_status_display().lower()}.")
    if not shown_hash or shown_hash != restructure.terms_hash:
        raise Conflict(OFFER_CHANGED)
    if not _still_valid(restructure, loan, installments):
        _renew(restructure, loan, installments, actor=actor)
        return None
    restructure.consent_at = timezone.now()
    restructure.consent_hash = shown_hash
    restructure.consent_ip = ip
    restructure.consent_user_agent = (user_agent or "")[:300]
    _move(
        restructure,
        RestructureStatus.CONSENTED,
        actor=actor,
        note=f"Accepted the key facts {shown_hash[:12]}.",
        fields=["consent_at", "consent_hash", "consent_ip", "consent_user_agent"],
    )
    return restructure


def consent_to_restructure(
    *, restructure: Restructure, actor, consent: bool, shown_hash: str, ip=None, user_agent=""
) -> Restructure:
    """The member accepts the key facts they were shown (their hash). If the loan changed
    since the offer was made, the offer is renewed (committed) and the member is told to
    review the new terms: nothing is accepted."""
    if not consent:
        raise DomainError(
            "Tick the box to confirm you have read and accept the new terms.",
            fields={"consent": "Required"},
        )
    accepted = _consent(
        restructure.pk, actor=actor, shown_hash=shown_hash, ip=ip, user_agent=user_agent
    )
    if accepted is None:
        raise Conflict(OFFER_CHANGED)
    return accepted


@transaction.atomic
def _approve(restructure_id: int, *, actor, note: str):
    _check_permission(actor)
    restructure = Restructure.objects.get(pk=restructure_id)
    loan, installments, restructure = _lock(restructure.loan_id, restructure.pk)
    if restructure.status != RestructureStatus.CONSENTED:
        raise Conflict(
            "Only an offer the member has accepted can be approved; this one is "
            f"{restructure.get_status_display().lower()}."
        )
    if restructure.proposed_by_id == actor.pk:
        raise NotAllowed("You proposed these terms, so a second officer must approve them.")
    check_independent(
        actor=actor,
        member=loan.member,
        counterparts=[restructure.proposed_by],
        action="restructure_approval",
    )
    _check_loan(loan)
    if not _still_valid(restructure, loan, installments):
        _renew(restructure, loan, installments, actor=actor)
        return None
    restructure.decided_by = actor
    restructure.decided_at = timezone.now()
    restructure.decision_note = (note or "").strip()[:2000]
    apply_restructure(restructure, loan, installments, actor=actor)
    _move(
        restructure,
        RestructureStatus.APPROVED,
        actor=actor,
        note=restructure.decision_note,
        fields=["decided_by", "decided_at", "decision_note", "journal_entry"],
    )
    send_after_commit(
        signals.restructure_approved, sender=Restructure, restructure_id=restructure.pk
    )
    return restructure


def approve_restructure(*, restructure: Restructure, actor, note: str = "") -> Restructure:
    """A second officer puts the accepted terms in force. If the loan changed since the member
    accepted, the offer is renewed for the member to review again (committed), and refused."""
    approved = _approve(restructure.pk, actor=actor, note=note)
    if approved is None:
        raise Conflict(
            "The loan changed since the member accepted (a payment, or a due date passed); the "
            "offer was renewed and waits for the member to review the new terms."
        )
    return approved


@transaction.atomic
def reject_restructure(*, restructure: Restructure, actor, note: str) -> Restructure:
    _check_permission(actor)
    note = (note or "").strip()
    if len(note) < REASON_MIN_LENGTH:
        raise DomainError(
            f"Say why the new terms are refused (at least {REASON_MIN_LENGTH} characters).",
            fields={"note": "Required"},
        )
    loan, _, restructure = _lock(restructure.loan_id, restructure.pk)
    if restructure.status != RestructureStatus.CONSENTED:
        raise Conflict(f"This offer is {restructure.get_status_display().lower()}.")
    if restructure.proposed_by_id == actor.pk:
        raise NotAllowed("You proposed these terms, so a second officer must decide them.")
    restructure.decided_by = actor
    restructure.decided_at = timezone.now()
    restructure.decision_note = note[:2000]
    _move(
        restructure,
        RestructureStatus.REJECTED,
        actor=actor,
        note=note,
        fields=["decided_by", "decided_at", "decision_note"],
    )
    return restructure


@transaction.atomic
def withdraw_restructure(*, restructure: Restructure, actor, note: str = "") -> Restructure:
    """The member declines the offer, or an officer withdraws it, before it is approved."""
    restructure = Restructure.objects.select_related("loan__member").get(pk=restructure.pk)
    if restructure.loan.member.user_id != getattr(actor, "pk", None):
        _check_permission(actor)
    _, _, restructure = _lock(restructure.loan_id, restructure.pk)
    _move(restructure, RestructureStatus.WITHDRAWN, actor=actor, note=(note or "").strip())
    return restructure
