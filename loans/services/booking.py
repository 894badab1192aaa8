"""The approved loan: its reference, schedule and late-fee rule; the checks that keep an
approved loan from being cancelled once its payout started."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from core import audit
from core.clock import lagos_today
from loans.models import (
    Application,
    Installment,
    Loan,
)
from loans.schedule import build_schedule
from loans.services.records import new_reference
from loans.settlement import rule_for

# Checks that apps above loans register (payments: a payout in flight) and that can keep an
# approved loan from being cancelled; each answers True when the loan must stay.
PAYOUT_STARTED_CHECKS: list = []


def payout_started(loan) -> bool:
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
        reference=new_reference("LN"),
        application=application,
        member=application.member,
        product=product,
        principal=schedule.principal,
        tenure_months=len(schedule.installments),
        interest_method=application.key_facts["terms"]["method"],
        monthly_rate=application.key_facts["terms"]["monthly_rate"],
        fee_amount=schedule.total_fees,
        fee_treatment=application.key_facts["terms"]["fee_treatment"],
        settlement_rule=rule_for(
            application.key_facts["terms"]["method"],
            application.key_facts["terms"].get("early_settlement", ""),
        ),
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


def refix_schedule_dates(*, loan: Loan, disbursed_on: date, actor=None) -> None:
    """At payout the due dates are fixed from the disbursement date (amounts unchanged: interest
    is monthly), and the APR with them: the first period's length, hence the APR, depends on the
    payout day, so the loan keeps the APR of the schedule the member really has (the e-mail at
    payout states it). A change from the approval-day APR leaves an audit event."""
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
    if schedule.apr != loan.apr:
        before = loan.apr
        loan.apr = schedule.apr
        loan.save(update_fields=["apr"])
        audit.record(
            actor=actor,
            action="loan.apr_fixed_at_payout",
            obj=loan,
            changes={"apr": [str(before), str(schedule.apr)], "paid_out_on": str(disbursed_on)},
        )


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
