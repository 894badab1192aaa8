"""The daily overdue run: late fees exactly as the product rule, once a day, caught up after
a missed day, paused while the allowance is delayed, posted to the ledger; PAR buckets."""

import random
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from huey.contrib.djhuey import HUEY

from arrears import overdue
from arrears.models import AllowanceDelay, LateFeeCharge, OverdueRun, PortfolioSnapshot
from core.clock import LAGOS
from core.errors import DomainError
from core.models import AuditEvent
from ledger.selectors import loan_balance, trial_balance, unbalanced_entries
from loans.models import InstallmentStatus, Loan
from payments import services as payment_services
from tests import factories
from tests.factories import MemberFactory, make_finance

pytestmark = pytest.mark.django_db


def at(day: date, hour: int = 6):
    return time_machine.travel(
        datetime(day.year, day.month, day.day, hour, tzinfo=LAGOS), tick=False
    )


def loan_disbursed_on(day: date, **kwargs) -> Loan:
    with at(day, 10):
        member = MemberFactory(passing_out=day + timedelta(days=400), monthly_allowance=300_000_00)
        return factories.active_loan(member=member, **kwargs)


def run(day: date):
    with at(day):
        return overdue.run_overdue(run_date=day)


def daily_fee(unpaid: int, rate: str) -> int:
    return int((Decimal(unpaid) * Decimal(rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def assert_ledger_matches(loan):
    loan.refresh_from_db()
    assert loan_balance(loan) == factories.schedule_outstanding(loan)
    assert trial_balance()["balanced"]
    assert unbalanced_entries() == []


def test_fees_follow_the_rule_exactly_once_a_day_and_reach_the_ledger():
    loan = loan_disbursed_on(date(2027, 1, 10))
    first = loan.installments.order_by("number").first()
    scheduled = first.principal + first.interest + first.fee
    # Grace days (3) after the due date: nothing; the first fee is for the day after.
    assert first.late_fee_from == first.due_date + timedelta(days=4)
    assert first.late_fee_daily_ppm == 5000  # 0.5 % a day
    assert first.late_fee_cap == scheduled * 10 // 100

    day_after_due = first.due_date + timedelta(days=1)
    (outcome,) = run(day_after_due)
    first.refresh_from_db()
    assert first.status == InstallmentStatus.OVERDUE and first.late_fee == 0
    assert outcome.run.installments_marked_overdue == 1 and outcome.run.fees_charged == 0
    loan.refresh_from_db()
    assert loan.arrears_since == first.due_date

    for offset in (2, 3):  # still inside the grace days
        run(first.due_date + timedelta(days=offset))
    first.refresh_from_db()
    assert first.late_fee == 0

    charge_day = first.late_fee_from
    run(charge_day)
    first.refresh_from_db()
    fee = daily_fee(scheduled, "0.005")
    assert first.late_fee == fee
    assert LateFeeCharge.objects.get(installment=first).amount == fee
    assert_ledger_matches(loan)

    # A second run the same day changes nothing.
    (again,) = run(charge_day)
    assert again.created is False
    first.refresh_from_db()
    assert first.late_fee == fee
    assert LateFeeCharge.objects.count() == 1
    assert OverdueRun.objects.filter(run_date=charge_day).count() == 1
    assert_ledger_matches(loan)
    assert AuditEvent.objects.filter(action="arrears.overdue_run").count() == 4


def test_a_missed_day_is_caught_up_as_if_run_every_day():
    loan = loan_disbursed_on(date(2027, 1, 10))
    first = loan.installments.order_by("number").first()
    start = first.late_fee_from
    run(start)
    # The next two days were missed (server down); the third day's run catches them up.
    outcomes = run(start + timedelta(days=3))
    assert [o.run.run_date for o in outcomes] == [start + timedelta(days=n) for n in (1, 2, 3)]
    assert all(o.created for o in outcomes)
    first.refresh_from_db()
    assert first.late_fee == 4 * daily_fee(first.principal + first.interest + first.fee, "0.005")
    assert LateFeeCharge.objects.filter(installment=first).count() == 4
    assert_ledger_matches(loan)


def test_late_fees_stop_at_the_cap_exactly():
    loan = loan_disbursed_on(date(2027, 1, 10))
    first = loan.installments.order_by("number").first()
    run(first.late_fee_from)
    # Installment 1: ₦20,000 + interest for 10 Jan → 28 Feb (49 days): 6,000,000 × 0.05 × 12
    # × 49 / 365 = 483,287.67 → 483,288; 2,483,288 kobo. 0.5 % a day = 12,416.44 → 12,416;
    # the 10 % cap is 248,328 (rounded down): 20 days charge 248,320, the 21st the last 8 kobo,
    # nothing after.
    outcomes = run(first.late_fee_from + timedelta(days=25))
    assert len(outcomes) == 25
    first.refresh_from_db()
    assert (first.late_fee_cap, first.late_fee) == (248_328, 248_328)
    charges = LateFeeCharge.objects.filter(installment=first).order_by("charge_date")
    assert [c.amount for c in charges] == [12_416] * 20 + [8]
    assert_ledger_matches(loan)


@pytest.mark.parametrize(
    ("year", "first_fee_day"),
    [(2028, date(2028, 3, 3)), (2027, date(2027, 3, 4))],
    ids=["leap-year", "common-year"],
)
def test_grace_days_run_across_the_end_of_february(year, first_fee_day):
    loan = loan_disbursed_on(date(year, 1, 10))
    feb = loan.installments.get(due_date__month=2)
    assert feb.due_date == date(year, 2, 28)
    assert feb.late_fee_from == first_fee_day
    run(first_fee_day - timedelta(days=1))
    feb.refresh_from_db()
    assert feb.status == InstallmentStatus.OVERDUE and feb.late_fee == 0
    run(first_fee_day)
    feb.refresh_from_db()
    assert feb.late_fee > 0


def test_allowance_delayed_pauses_fees_for_its_days_only():
    loan = loan_disbursed_on(date(2027, 1, 10))
    first = loan.installments.order_by("number").first()
    start = first.late_fee_from
    AllowanceDelay.objects.create(
        starts_on=start,
        ends_on=start + timedelta(days=1),
        reason="Allowance for this month reached members late",
        created_by=make_finance(),
    )
    run(start)
    outcomes = run(start + timedelta(days=2))
    paused = OverdueRun.objects.filter(fees_paused=True).values_list("run_date", flat=True)
    assert set(paused) == {start, start + timedelta(days=1)}
    assert outcomes[-1].run.fees_charged == 1
    first.refresh_from_db()
    assert first.status == InstallmentStatus.OVERDUE
    assert first.late_fee == daily_fee(first.principal + first.interest + first.fee, "0.005")
    assert_ledger_matches(loan)


def test_a_payment_clears_late_fees_first_and_the_arrears_date():
    loan = loan_disbursed_on(date(2027, 1, 10))
    first = loan.installments.order_by("number").first()
    run(first.late_fee_from)
    first.refresh_from_db()
    with at(first.late_fee_from, 12):
        payment_services.record_manual_payment(
            loan=loan, actor=make_finance(), amount=first.outstanding, reason="Paid at branch"
        )
    first.refresh_from_db()
    loan.refresh_from_db()
    assert first.status == InstallmentStatus.PAID and first.paid_late_fee == first.late_fee
    assert loan.arrears_since is None
    assert_ledger_matches(loan)


def test_future_dates_and_a_run_already_in_progress_change_nothing():
    loan = loan_disbursed_on(date(2027, 1, 10))
    first = loan.installments.order_by("number").first()
    with at(first.late_fee_from):
        with pytest.raises(DomainError, match="has not come yet"):
            overdue.run_overdue(run_date=first.late_fee_from + timedelta(days=1))
        with HUEY.lock_task(overdue.LOCK_NAME):
            with pytest.raises(overdue.RunInProgress):
                overdue.run_overdue()
            with pytest.raises(CommandError, match="in progress"):
                call_command("run_overdue")
    assert not OverdueRun.objects.exists()
    first.refresh_from_db()
    assert first.status == InstallmentStatus.PENDING and first.late_fee == 0


def test_command_runs_a_given_date_and_reports_it(capsys):
    loan = loan_disbursed_on(date(2027, 1, 10))
    first = loan.installments.order_by("number").first()
    with at(first.late_fee_from + timedelta(days=5)):
        call_command("run_overdue", "--date", first.late_fee_from.isoformat())
        with pytest.raises(CommandError, match="YYYY-MM-DD"):
            call_command("run_overdue", "--date", "31/12/2027")
    out = capsys.readouterr().out
    assert first.late_fee_from.isoformat() in out and "1 charged" in out


def brute_force_par(day: date) -> dict[str, tuple[int, int]]:
    buckets = {b: [0, 0] for b in ("current", "1-30", "31-60", "61-90", "90+")}
    for loan in Loan.objects.filter(status="active"):
        installments = list(loan.installments.all())
        late = [i.due_date for i in installments if i.outstanding > 0 and i.due_date < day]
        dpd = (day - min(late)).days if late else 0
        bucket = (
            "current"
            if dpd == 0
            else "1-30"
            if dpd <= 30
            else "31-60"
            if dpd <= 60
            else "61-90"
            if dpd <= 90
            else "90+"
        )
        buckets[bucket][0] += 1
        buckets[bucket][1] += sum(i.principal - i.paid_principal for i in installments)
    return {b: tuple(v) for b, v in buckets.items()}


def test_par_buckets_match_a_brute_force_count_on_random_loans():
    rng = random.Random(20261127)
    finance = make_finance()
    day = date(2027, 9, 15)
    for _ in range(10):
        disbursed = date(2027, 1, 1) + timedelta(days=rng.randrange(0, 240))
        loan = loan_disbursed_on(disbursed, tenure=rng.choice([1, 2, 3, 6]))
        if rng.random() < 0.5:
            inst = loan.installments.order_by("number").first()
            with at(disbursed + timedelta(days=rng.randrange(1, 60)), 12):
                payment_services.record_manual_payment(
                    loan=loan,
                    actor=finance,
                    amount=rng.randrange(1, inst.outstanding * 2),
                    reason="Random part payment",
                )
    run(day)
    expected = brute_force_par(day)
    snapshot = {
        s.bucket: (s.loans, s.outstanding_principal)
        for s in PortfolioSnapshot.objects.filter(snapshot_date=day)
    }
    assert snapshot == expected
    assert sum(1 for v in expected.values() if v[0]) >= 3, expected  # several buckets in play
    assert sum(v[0] for v in expected.values()) == Loan.objects.filter(status="active").count()


def test_the_periodic_run_is_planned_in_lagos_time():
    from arrears.tasks import overdue_run_task
    from core.clock import lagos_crontab

    # Huey compares crontabs with UTC times: 05:00 Lagos is 04:00 UTC (WAT has no DST).
    validate = overdue_run_task.task_class().validate_datetime
    assert validate(datetime(2027, 7, 1, 4, 0))
    assert not validate(datetime(2027, 7, 1, 5, 0))
    assert lagos_crontab(hour=0, minute=30)(datetime(2027, 12, 31, 23, 30))
    with pytest.raises(ValueError):
        lagos_crontab(hour=24)
