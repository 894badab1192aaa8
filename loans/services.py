"""Origination: quote, key facts and consent, submit, assess, approve/reject, cancel.

Every write is one transaction that re-reads the row with ``select_for_update``, checks
the transition map, and writes one history row and one audit event.
"""

import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core import audit, jobs
from core.clock import lagos_today
from core.errors import Conflict, DomainError, NotAllowed, check_transition
from core.money import format_naira
from core.signals import send_after_commit
from loans import lifecycle, signals
from loans.eligibility import RuleResult, failed, member_rules, product_limit_rules
from loans.key_facts import build_key_facts, key_facts_hash
from loans.models import (
    APPLICATION_TRANSITIONS,
    OPEN_STATUSES,
    Application,
    ApplicationHistory,
    ApplicationNote,
    ApplicationStatus,
    Approval,
    Installment,
    Loan,
    LoanProduct,
    LoanStatus,
    Recommendation,
)
from loans.rules import approvals_needed
from loans.schedule import Schedule, build_schedule
from members.models import Member
from members.staff_identity import check_independent


def _reference(prefix: str) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread on the phone
    return prefix + "".join(secrets.choice(alphabet) for _ in range(8))


# --- Quote and key facts ------------------------------------------------------------------


@dataclass
class Quote:
    product: LoanProduct
    amount: int
    tenure: int
    schedule: Schedule | None
    rules: list[RuleResult]

    @property
    def problems(self) -> list[RuleResult]:
        return failed(self.rules)

    @property
    def can_apply(self) -> bool:
        return self.schedule is not None and not self.problems


def quote(
    *,
    product: LoanProduct,
    amount: int,
    tenure: int,
    member: Member | None = None,
    start_date: date | None = None,
) -> Quote:
    """A schedule preview and the eligibility hints for it. Writes nothing."""
    rules = product_limit_rules(product, amount, tenure)
    schedule = None
    if amount > 0 and 1 <= tenure <= 60:
        try:
            schedule = build_schedule(
                product.terms(
                    principal=amount, tenure_months=tenure, start_date=start_date or lagos_today()
                )
            )
        except ValueError as exc:
            rules.append(RuleResult("terms_valid", False, str(exc)))
    if schedule is not None and member is not None:
        rules += member_rules(member, product, schedule)
    return Quote(product, amount, tenure, schedule, rules)


# --- Applications ------------------------------------------------------------------------


def _history(application, *, actor, from_status, to_status, reason=""):
    ApplicationHistory.objects.create(
        application=application,
        actor=actor,
        from_status=from_status or "",
        to_status=to_status,
        reason=reason,
    )


def _move(application, target, *, actor, reason="", extra_fields=(), changes=None):
    check_transition(APPLICATION_TRANSITIONS, application.status, target, what="application")
    before = application.status
    application.status = target
    application.save(update_fields=["status", "updated_at", *extra_fields])
    _history(application, actor=actor, from_status=before, to_status=target, reason=reason)
    audit.record(
        actor=actor,
        action=f"application.{target}",
        obj=application,
        changes={"status": [before, target], **(changes or {})},
    )


@transaction.atomic
def start_application(
    *, member: Member, actor, product: LoanProduct, amount: int, tenure: int
) -> Application:
    """Create (or re-price) the member's draft and freeze the key facts they will read."""
    if member.user_id != actor.pk:
        raise NotAllowed("You can only apply for yourself.")
    member = Member.objects.select_for_update().get(pk=member.pk)
    product = LoanProduct.objects.get(pk=product.pk)
    result = quote(product=product, amount=amount, tenure=tenure, member=member)
    if not result.can_apply:
        raise DomainError(" ".join(r.reason for r in result.problems) or "Check the amount.")
    open_ones = list(
        Application.objects.select_for_update().filter(member=member, status__in=OPEN_STATUSES)
    )
    if any(a.status != ApplicationStatus.DRAFT for a in open_ones):
        raise Conflict(
            "You already have an application being reviewed. Wait for the "
            "decision or cancel it first."
        )
    if _has_live_loan(member):
        raise Conflict("You already have a loan. Repay it before applying again.")
    facts = build_key_facts(product=product, schedule=result.schedule, amount=amount, tenure=tenure)
    if open_ones:
        application = open_ones[0]
        application.product = product
        application.amount = amount
        application.tenure_months = tenure
        application.key_facts = facts
        application.key_facts_hash = key_facts_hash(facts)
        application.save(
            update_fields=[
                "product",
                "amount",
                "tenure_months",
                "key_facts",
                "key_facts_hash",
                "updated_at",
            ]
        )
        audit.record(
            actor=actor,
            action="application.repriced",
            obj=application,
            changes={"amount": amount, "tenure": tenure},
        )
        return application
    try:
        with transaction.atomic():
            application = Application.objects.create(
                reference=_reference("AP"),
                member=member,
                product=product,
                amount=amount,
                tenure_months=tenure,
                key_facts=facts,
                key_facts_hash=key_facts_hash(facts),
                deployment_state=member.deployment_state,
                applicant_name=member.full_name,
            )
    except IntegrityError as exc:
        raise Conflict("You already have an open application.") from exc
    _history(application, actor=actor, from_status="", to_status=ApplicationStatus.DRAFT)
    audit.record(
        actor=actor,
        action="application.draft",
        obj=application,
        changes={"amount": amount, "tenure": tenure, "product": product.pk},
    )
    return application


def _has_live_loan(member, exclude_application=None) -> bool:
    qs = Loan.objects.filter(
        member=member, status__in=[LoanStatus.PENDING_DISBURSEMENT, LoanStatus.ACTIVE]
    )
    if exclude_application is not None:
        qs = qs.exclude(application=exclude_application)
    return qs.exists()


@transaction.atomic
def submit_application(
    *,
    application: Application,
    actor,
    consent: bool,
    shown_hash: str,
    ip: str | None,
    user_agent: str,
) -> Application:
    """Submit with explicit consent to the exact key facts shown (hash checked)."""
    application = Application.objects.select_for_update().get(pk=application.pk)
    if application.member.user_id != actor.pk:
        raise NotAllowed("You can only submit your own application.")
    if application.status != ApplicationStatus.DRAFT:
        raise Conflict("This application was already submitted.")
    if not consent:
        raise DomainError(
            "Tick the box to confirm you have read and accept the key facts.",
            fields={"consent": "Required"},
        )
    if not shown_hash or shown_hash != application.key_facts_hash:
        raise Conflict(
            "The loan terms changed since you read them. Read the key facts again "
            "before you submit."
        )
    product = application.product
    if not product.is_active:
        raise DomainError("This product is no longer offered.")
    if application.key_facts["terms"]["monthly_rate"] != str(product.monthly_rate):
        raise Conflict("The product's price changed. Read the new key facts before you submit.")
    now = timezone.now()
    application.consent_at = now
    application.consent_ip = ip
    application.consent_user_agent = (user_agent or "")[:300]
    application.submitted_at = now
    _move(
        application,
        ApplicationStatus.SUBMITTED,
        actor=actor,
        extra_fields=["consent_at", "consent_ip", "consent_user_agent", "submitted_at"],
        changes={"key_facts_hash": application.key_facts_hash},
    )
    pk = application.pk
    # robust: the submission is saved even if the queue is down for a moment; the periodic
    # requeue_stale_assessments picks the application up then.
    jobs.enqueue_after_commit("loans.assess_application", pk)
    send_after_commit(
        signals.application_event, Application, application_id=pk, template="application_received"
    )
    return application


def fraud_flags(application: Application) -> list[RuleResult]:
    """Signals that another member shares this member's identity; the officer decides."""
    member = application.member
    others = Member.objects.exclude(pk=member.pk)
    checks = [
        ("same_bvn", Q(bvn_hash=member.bvn_hash) if member.bvn_hash else None, "BVN"),
        ("same_phone", Q(phone=member.phone) if member.phone else None, "phone number"),
        (
            "same_state_code",
            Q(state_code=member.state_code) if member.state_code else None,
            "NYSC state code",
        ),
        (
            "same_bank_account",
            Q(account_number=member.account_number) if member.account_number else None,
            "bank account number",
        ),
    ]
    flags = []
    for rule, condition, label in checks:
        if condition is not None and others.filter(condition).exists():
            flags.append(
                RuleResult(rule, False, f"Another member has the same {label}.", warning=True)
            )
    open_count = Application.objects.filter(member=member, status__in=OPEN_STATUSES).count()
    if open_count > 1:
        flags.append(
            RuleResult(
                "several_open_applications",
                False,
                f"The member has {open_count} open applications.",
                warning=True,
            )
        )
    return flags


STALE_ASSESSMENT_AFTER = timedelta(minutes=5)


def stale_submissions():
    """Submitted applications nobody assessed: the task was lost (queue down when enqueued,
    worker killed mid-task). Assessment is idempotent, so queueing one again is safe."""
    cutoff = timezone.now() - STALE_ASSESSMENT_AFTER
    return Application.objects.filter(
        status=ApplicationStatus.SUBMITTED, submitted_at__lt=cutoff
    ).values_list("pk", flat=True)


@transaction.atomic
def assess_application(*, application_id: int) -> Application | None:
    """Record every rule with its reason and a recommendation, then hand over to a person."""
    application = (
        Application.objects.select_for_update()
        .select_related("member", "product")
        .get(pk=application_id)
    )
    if application.status != ApplicationStatus.SUBMITTED:
        return None  # already assessed (a retried task) or cancelled meanwhile
    member, product = application.member, application.product
    schedule = build_schedule(application.terms(start_date=lagos_today()))
    rules = product_limit_rules(product, application.amount, application.tenure_months)
    rules += member_rules(member, product, schedule)
    other_open = (
        Application.objects.filter(member=member, status__in=OPEN_STATUSES)
        .exclude(pk=application.pk)
        .exists()
    )
    rules.append(
        RuleResult(
            "no_other_open_application",
            not other_open,
            "No other open application."
            if not other_open
            else "The member has another open application.",
        )
    )
    live = _has_live_loan(member)
    rules.append(
        RuleResult(
            "no_active_loan",
            not live,
            "No loan is running."
            if not live
            else "The member already has a loan running or awaiting payout.",
        )
    )
    flags = fraud_flags(application)
    rules += flags
    if failed(rules):
        recommendation = Recommendation.REJECT
    elif flags:
        recommendation = Recommendation.REFER
    else:
        recommendation = Recommendation.APPROVE
    application.assessment = [r.as_dict() for r in rules]
    application.flags = [f.rule for f in flags]
    application.is_flagged = bool(flags)
    application.recommendation = recommendation
    application.assessed_at = timezone.now()
    _move(
        application,
        ApplicationStatus.IN_REVIEW,
        actor=None,
        reason=f"Automatic assessment recommends: {recommendation.label}.",
        extra_fields=["assessment", "flags", "is_flagged", "recommendation", "assessed_at"],
        changes={"recommendation": recommendation.value},
    )
    return application


def _require(actor, perm: str, message: str):
    if not (actor.is_authenticated and actor.is_staff and actor.has_perm(perm)):
        raise NotAllowed(message)


def _lock_for_decision(application, actor) -> Application:
    _require(
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
        _history(
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
    _move(
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
    _move(
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
    _require(actor, "loans.review_application", "You cannot review applications.")
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
    _history(
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
    _require(actor, "loans.review_application", "You cannot add notes to applications.")
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


@transaction.atomic
def cancel_application(*, application: Application, actor) -> Application:
    """The member cancels: while not decided, or in cooling-off before any payout."""
    application = Application.objects.select_for_update().get(pk=application.pk)
    if application.member.user_id != actor.pk:
        raise NotAllowed("You can only cancel your own application.")
    if application.status == ApplicationStatus.APPROVED:
        loan = Loan.objects.select_for_update().get(application=application)
        if loan.status != LoanStatus.PENDING_DISBURSEMENT or _payout_started(loan):
            raise Conflict(
                "The money has already been sent, so the loan can no longer be "
                "cancelled. You can repay it early at no extra cost."
            )
        if lagos_today() > loan.cooling_off_until:
            raise Conflict(f"The cooling-off period ended on {loan.cooling_off_until:%d %b %Y}.")
        lifecycle.cancel(loan, actor=actor)
    _move(
        application,
        ApplicationStatus.CANCELLED,
        actor=actor,
        reason="Cancelled by the member",
    )
    return application


# Checks that apps above loans register (payments: a payout in flight) and that can keep an
# approved loan from being cancelled; each answers True when the loan must stay.
PAYOUT_STARTED_CHECKS: list = []


def _payout_started(loan) -> bool:
    return any(check(loan) for check in PAYOUT_STARTED_CHECKS)


# --- Loans -------------------------------------------------------------------------------


def create_loan(*, application: Application, actor) -> Loan:
    """The approved loan and its provisional schedule (dates fixed again at payout)."""
    product = application.product
    today = lagos_today()
    schedule = build_schedule(
        application.terms(
            start_date=today, amount=application.approved_amount, tenure=application.approved_tenure
        )
    )
    loan = Loan.objects.create(
        reference=_reference("LN"),
        application=application,
        member=application.member,
        product=product,
        principal=schedule.principal,
        tenure_months=len(schedule.installments),
        interest_method=application.key_facts["terms"]["method"],
        monthly_rate=application.key_facts["terms"]["monthly_rate"],
        fee_amount=schedule.total_fees,
        fee_treatment=application.key_facts["terms"]["fee_treatment"],
        disbursed_amount=schedule.disbursed_amount,
        total_interest=schedule.total_interest,
        total_repayable=schedule.total_repayable,
        apr=schedule.apr,
        approved_at=timezone.now(),
        cooling_off_until=today + timedelta(days=product.cooling_off_days),
        officer=actor,
    )
    late_fee_rule = late_fee_rule_of(application)
    Installment.objects.bulk_create(
        Installment(
            loan=loan,
            number=i.number,
            due_date=i.due_date,
            principal=i.principal,
            interest=i.interest,
            fee=i.fee,
            **late_fee_rule.fields(due_date=i.due_date, scheduled=i.principal + i.interest + i.fee),
        )
        for i in schedule.installments
    )
    audit.record(
        actor=actor,
        action="loan.created",
        obj=loan,
        changes={"principal": loan.principal, "total_repayable": loan.total_repayable},
    )
    return loan


def refix_schedule_dates(*, loan: Loan, disbursed_on: date) -> None:
    """At payout the due dates are fixed from the disbursement date (amounts unchanged
    unless the dates change the number of days, which they don't: interest is monthly)."""
    schedule = build_schedule(
        loan.application.terms(
            start_date=disbursed_on, amount=loan.principal, tenure=loan.tenure_months
        )
    )
    by_number = {i.number: i for i in schedule.installments}
    installments = list(loan.installments.all())
    rule = late_fee_rule_of(loan.application)
    for inst in installments:
        inst.due_date = by_number[inst.number].due_date
        inst.late_fee_from = rule.fields(due_date=inst.due_date, scheduled=0)["late_fee_from"]
    Installment.objects.bulk_update(installments, ["due_date", "late_fee_from"])


@dataclass(frozen=True)
class LateFeeRule:
    """The late-fee terms the member consented to (the key facts snapshot)."""

    percent_per_day: Decimal
    cap_percent: Decimal
    grace_days: int

    def fields(self, *, due_date: date, scheduled: int) -> dict:
        return {
            # Nothing is charged during the grace days; the first fee is for the day after.
            "late_fee_from": due_date + timedelta(days=self.grace_days + 1),
            # Millionths: the product's rate has at most 5 decimals, so this is exact.
            "late_fee_daily_ppm": int(self.percent_per_day * 1_000_000),
            # Rounded down: the cap never exceeds the stated share of the installment.
            "late_fee_cap": int(Decimal(scheduled) * self.cap_percent),
        }


def late_fee_rule_of(application: Application) -> LateFeeRule:
    terms = application.key_facts.get("terms", {})
    product = application.product
    return LateFeeRule(
        percent_per_day=Decimal(
            terms.get("late_fee_percent_per_day", product.late_fee_percent_per_day)
        ),
        cap_percent=Decimal(terms.get("late_fee_cap_percent", product.late_fee_cap_percent)),
        grace_days=int(terms.get("grace_days", product.grace_days)),
    )
