"""The member's side of origination: quote and key facts, start, submit, cancel."""

from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone

from core import audit, jobs
from core.clock import lagos_today
from core.errors import Conflict, DomainError, NotAllowed
from core.signals import send_after_commit
from loans import lifecycle, signals
from loans.eligibility import RuleResult, failed, member_rules, product_limit_rules
from loans.key_facts import build_key_facts, key_facts_hash
from loans.models import (
    OPEN_STATUSES,
    Application,
    ApplicationStatus,
    Loan,
    LoanProduct,
    LoanStatus,
)
from loans.schedule import Schedule, build_schedule
from loans.services.booking import payout_started
from loans.services.records import move, new_reference, write_history
from members.models import Member

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
    if has_live_loan(member):
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
                reference=new_reference("AP"),
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
    write_history(application, actor=actor, from_status="", to_status=ApplicationStatus.DRAFT)
    audit.record(
        actor=actor,
        action="application.draft",
        obj=application,
        changes={"amount": amount, "tenure": tenure, "product": product.pk},
    )
    return application


def has_live_loan(member, exclude_application=None) -> bool:
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
    move(
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


@transaction.atomic
def cancel_application(*, application: Application, actor) -> Application:
    """The member cancels: while not decided, or in cooling-off before any payout."""
    application = Application.objects.select_for_update().get(pk=application.pk)
    if application.member.user_id != actor.pk:
        raise NotAllowed("You can only cancel your own application.")
    if application.status == ApplicationStatus.APPROVED:
        loan = Loan.objects.select_for_update().get(application=application)
        if loan.status != LoanStatus.PENDING_DISBURSEMENT or payout_started(loan):
            raise Conflict(
                "The money has already been sent, so the loan can no longer be "
                "cancelled. You can repay it early at no extra cost."
            )
        if lagos_today() > loan.cooling_off_until:
            raise Conflict(f"The cooling-off period ended on {loan.cooling_off_until:%d %b %Y}.")
        lifecycle.cancel(loan, actor=actor)
    move(
        application,
        ApplicationStatus.CANCELLED,
        actor=actor,
        reason="Cancelled by the member",
    )
    return application
