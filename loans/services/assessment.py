"""Automatic assessment of a submitted application: eligibility, fraud signals, the
recommendation; and the requeue of submissions nobody assessed."""

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.clock import lagos_today
from loans.eligibility import RuleResult, failed, member_rules, product_limit_rules
from loans.models import (
    OPEN_STATUSES,
    Application,
    ApplicationStatus,
    Recommendation,
)
from loans.schedule import build_schedule
from loans.services.application import has_live_loan
from loans.services.records import move
from members.models import Member
from members.service_year import disagreement_message


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
    if member.claimed_service_start and member.service_batch is not None:
        flags.append(
            RuleResult(
                "service_start_disagrees",
                False,
                disagreement_message(
                    member.claimed_service_start, member.service_batch, for_staff=True
                ),
                warning=True,
            )
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
    live = has_live_loan(member)
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
    move(
        application,
        ApplicationStatus.IN_REVIEW,
        actor=None,
        reason=f"Automatic assessment recommends: {recommendation.label}.",
        extra_fields=["assessment", "flags", "is_flagged", "recommendation", "assessed_at"],
        changes={"recommendation": recommendation.value},
    )
    return application
