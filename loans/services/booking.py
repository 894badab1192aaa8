"""The approved loan: its reference, schedule and late-fee rule; the checks that keep an
approved loan from being cancelled once its payout started."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from core import audit
from core.clock import lagos_today
from core.errors import DomainError
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
    """At payout the schedule is fixed from the disbursement date: the due dates, and with the
    first period's real length installment 1's interest (interest for the days from payout to
    the first due date) and its late-fee cap; so the loan's total interest, total repayable and
    APR are those of the schedule the member really has. ``loan`` is updated in place, so the
    payout's ledger entry (posted next, in the same transaction) books the refixed interest.
    A change from the approval-day figures leaves an audit event; the payout e-mail and the
    loan page state the final figures."""
    schedule = build_schedule(
        loan.application.terms(
            start_date=disbursed_on, amount=loan.principal, tenure=loan.tenure_months
        )
    )
    by_number = {i.number: i for i in schedule.installments}
    installments = list(loan.installments.all())
    if sorted(by_number) != sorted(i.number for i in installments) or any(
        (inst.principal, inst.fee) != (by_number[inst.number].principal, by_number[inst.number].fee)
        for inst in installments
    ):
        # Only the dates and the first interest may move at payout; anything else means the
        # stored schedule is not the one these terms give, and nothing is booked on it.
        raise DomainError(
            f"Loan {loan.reference}'s schedule does not match its terms; it cannot be paid out "
            "until it is checked."
        )
    first_before = next(i.interest for i in installments if i.number == 1)
    rule = late_fee_rule_of(loan.application)
    for inst in installments:
        fixed = by_number[inst.number]
        inst.due_date = fixed.due_date
        inst.interest = fixed.interest
        inst.late_fee_from = rule.fields(due_date=inst.due_date, scheduled=0)["late_fee_from"]
        inst.late_fee_cap = rule.fields(due_date=inst.due_date, scheduled=fixed.total)[
            "late_fee_cap"
        ]
    Installment.objects.bulk_update(
        installments, ["due_date", "interest", "late_fee_from", "late_fee_cap"]
    )
    before = {
        "apr": str(loan.apr),
        "total_interest": loan.total_interest,
        "total_repayable": loan.total_repayable,
    }
    loan.apr = schedule.apr
    loan.total_interest = schedule.total_interest
    loan.total_repayable = schedule.total_repayable
    after = {
        "apr": str(loan.apr),
        "total_interest": loan.total_interest,
        "total_repayable": loan.total_repayable,
    }
    if after != before:
        loan.save(update_fields=["apr", "total_interest", "total_repayable"])
        audit.record(
            actor=actor,
            action="loan.apr_fixed_at_payout",
            obj=loan,
            changes={
                **{name: [before[name], after[name]] for name in after},
                "first_interest": [first_before, by_number[1].interest],
                "paid_out_on": str(disbursed_on),
            },
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
