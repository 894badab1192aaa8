"""Demo loans in every state (fake people): so the collections desk, the dashboard and the
daily report have something to show after ``make run``.

Each loan is built through the real services on the days it would really have happened: the
clock is moved back (time-machine, a development dependency) to the application, the approval,
the payout and any part payment, then returned to today for the overdue run. So every date
agrees with every other one: approval before payout, installments on the product's due day,
ledger entries dated when the money moved, and the borrower serving throughout. Idempotent."""

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import time_machine
from django.contrib.auth import get_user_model
from django.db import transaction

from arrears import overdue
from core.clock import LAGOS, lagos_today
from loans import services as loan_services
from loans.models import Loan, LoanProduct
from loans.schedule import due_dates
from members.models import KycStatus, Member, User
from members.service_year import ServiceBatch
from payments.services import disbursement, repayment
from reports.services import generate_daily_report

from .members import assign_batch, estimate_calendar_through


@dataclass(frozen=True)
class DemoLoan:
    """One demo borrower's story: paid out ``paid_out_days_ago`` days ago (loans not yet due),
    or with the first installment about ``days_past_due`` days overdue, and the share of that
    installment already paid."""

    days_past_due: int = 0
    paid_out_days_ago: int = 0
    paid_share: float = 0.0


# Three loans not due yet, then one in each arrears bucket (some twice, some part-paid). The
# first due date is the product's due day nearest to the target, so on any day of the month
# the buckets 1–30, 31–60, 61–90 and 90+ are all filled.
PORTFOLIO = [
    DemoLoan(paid_out_days_ago=0),
    DemoLoan(paid_out_days_ago=5),
    DemoLoan(paid_out_days_ago=10),
    DemoLoan(days_past_due=8),
    DemoLoan(days_past_due=16, paid_share=0.5),
    DemoLoan(days_past_due=46),
    DemoLoan(days_past_due=75, paid_share=0.3),
    DemoLoan(days_past_due=77),
    DemoLoan(days_past_due=125),
]
TENURE = 3
PRINCIPAL = 50_000_00


def _on(day: date, hour: int = 10):
    """Move the clock to ``hour`` o'clock Lagos time on ``day`` (nothing ticks meanwhile)."""
    return time_machine.travel(datetime.combine(day, time(hour), tzinfo=LAGOS), tick=False)


def _first_due_near(target: date, due_day: int, *, today: date) -> date:
    """The product's due day closest to ``target`` that has passed by ``today``."""
    candidates = []
    for months in (-1, 0, 1):
        index = target.year * 12 + target.month - 1 + months
        candidates.append(date(index // 12, index % 12 + 1, due_day))
    return min((d for d in candidates if d < today), key=lambda d: abs((d - target).days))


def payout_day(story: DemoLoan, product: LoanProduct, *, today: date, rng) -> date:
    """The day the loan was paid out, so that its first installment falls due as the story
    says (on the product's due day, at least ``MIN_DAYS_TO_FIRST_DUE`` days after payout)."""
    if not story.days_past_due:
        return today - timedelta(days=story.paid_out_days_ago)
    first_due = _first_due_near(
        today - timedelta(days=story.days_past_due), product.due_day, today=today
    )
    # Up to ten days before the due day of the month before: a month or more ahead of the
    # first due date, so never closer than MIN_DAYS_TO_FIRST_DUE.
    index = first_due.year * 12 + first_due.month - 2
    day = date(index // 12, index % 12 + 1, max(1, first_due.day - rng.randrange(0, 10)))
    if due_dates(day, TENURE, product.due_day)[0] != first_due:
        raise ValueError(f"No payout day gives a first due date of {first_due}")
    return day


def _serving_through(start: date, end: date, rng) -> ServiceBatch:
    """A calendar batch whose service covers the whole loan, from a few weeks before the
    application to the last due date."""
    estimate_calendar_through(end)
    found = ServiceBatch.objects.filter(
        orientation_start__lte=start - timedelta(days=21), passing_out__gte=end
    )
    return rng.choice(list(found))


def _lend(member, story, product, paid_out, *, officer, finance, rng) -> Loan:
    # Serving from before the application until the product's margin after the last due date
    # (a month more: the application's schedule starts two days before the payout's).
    last_due = due_dates(paid_out, TENURE, product.due_day)[-1]
    serving_until = last_due + timedelta(days=product.min_days_before_passing_out + 31)
    with transaction.atomic():
        assign_batch(
            member, _serving_through(paid_out, serving_until, rng), serial=5000 + member.pk
        )
        fields = member.mark_payout_confirmed(member.full_name)
        member.save(
            update_fields=[
                "state_code",
                "batch",
                "stream",
                "service_batch",
                "service_start",
                "passing_out",
                *fields,
            ]
        )
        # The borrower joined (and was verified) a few weeks before applying.
        joined = datetime.combine(paid_out - timedelta(days=30), time(9), tzinfo=LAGOS)
        User.objects.filter(pk=member.user_id).update(date_joined=joined)
        Member.objects.filter(pk=member.pk).update(created_at=joined)
    with _on(paid_out - timedelta(days=2)), transaction.atomic():
        application = loan_services.start_application(
            member=member, actor=member.user, product=product, amount=PRINCIPAL, tenure=TENURE
        )
        loan_services.submit_application(
            application=application,
            actor=member.user,
            consent=True,
            shown_hash=application.key_facts_hash,
            ip="127.0.0.1",
            user_agent="seed_demo",
        )
        loan_services.assess_application(application_id=application.pk)
    with _on(paid_out - timedelta(days=1), hour=11), transaction.atomic():
        application.refresh_from_db()
        loan = loan_services.approve_application(application=application, actor=officer).loan
    with _on(paid_out, hour=12), transaction.atomic():
        disbursement.record_manual_disbursement(
            loan=loan, actor=finance, bank_reference=f"DEMO-{loan.reference}"
        )
    loan.refresh_from_db()
    if story.paid_share:
        first = loan.installments.order_by("number").first()
        paid_on = min(first.due_date + timedelta(days=2), lagos_today())
        with _on(paid_on, hour=14), transaction.atomic():
            repayment.record_manual_payment(
                loan=loan,
                actor=finance,
                amount=int(first.outstanding * story.paid_share),
                reason="Demo: part payment at the branch",
            )
    return loan


def seed(stdout=None):
    users = get_user_model().objects
    officer = users.filter(email="officer@allaweeplus.test").first()
    finance = users.filter(email="finance@allaweeplus.test").first()
    product = LoanProduct.objects.filter(interest_method="flat").order_by("id").first()
    if not (officer and finance and product) or Loan.objects.exists():
        return
    today = lagos_today()
    rng = random.Random(2026)
    borrowers = Member.objects.filter(
        kyc_status=KycStatus.VERIFIED, user__email__startswith="corper"
    ).order_by("id")[: len(PORTFOLIO)]
    for member, story in zip(borrowers, PORTFOLIO, strict=False):
        paid_out = payout_day(story, product, today=today, rng=rng)
        _lend(member, story, product, paid_out, officer=officer, finance=finance, rng=rng)
    overdue.run_overdue()
    generate_daily_report(report_date=today - timedelta(days=1))
    if stdout is not None:
        stdout.write(f"Demo loans: {Loan.objects.count()} (some in arrears), overdue run done.")
