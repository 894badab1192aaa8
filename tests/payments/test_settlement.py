"""Early settlement, member credit and partial prepayment, with worked examples checked by hand.

The reducing loan of the examples: ₦100,000 at 5 % a month over 6 months, no fee, paid out on
28 January 2027; installments fall due on the 28th from 28 February. The annuity payment is
100,000 × 0.05 / (1 − 1.05⁻⁶) = ₦19,701.75; the standard schedule's principal parts are
14,701.75 · 15,436.84 · 16,208.68 · 17,019.11 · 17,870.07 · 18,763.55 and its interest for
months 2–6 is 4,264.91 · 3,493.07 · 2,682.64 · 1,831.68 · 938.18 (opening balance × 5 %).
"""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine

from core.audit import AuditEvent
from core.clock import LAGOS
from core.errors import Conflict, DomainError, NotAllowed
from ledger import chart
from ledger.models import EntryKind
from ledger.posting import credit, debit, post_entry
from ledger.selectors import (
    loan_balance,
    member_credit,
    trial_balance,
    unbalanced_entries,
)
from loans.models import LoanStatus
from loans.versions import ScheduleVersion
from payments import services
from payments.models import Payment, PaymentChannel
from payments.services import credit as credit_services
from payments.services import settlement
from tests.factories import (
    active_loan,
    approved_loan,
    make_finance,
    make_officer,
    schedule_outstanding,
)

pytestmark = pytest.mark.django_db


def at(day: date, hour: int = 12):
    return time_machine.travel(datetime.combine(day, time(hour), tzinfo=LAGOS), tick=False)


def books_agree(loan):
    loan.refresh_from_db()
    assert trial_balance()["balanced"]
    assert unbalanced_entries() == []
    if loan.status != LoanStatus.WRITTEN_OFF:
        assert loan_balance(loan) == schedule_outstanding(loan)
    assert member_credit(loan.member) >= 0


def pay(loan, amount, evidence):
    return services.record_manual_payment(
        loan=loan,
        actor=make_finance(),
        amount=amount,
        reason="Paid at the branch",
        evidence=evidence,
    )


@pytest.fixture
def reducing_loan():
    with at(date(2027, 1, 28)):
        loan = active_loan(
            amount=100_000_00, tenure=6, interest_method="reducing", fee_percent=Decimal(0)
        )
    assert [i.due_date for i in loan.installments.all()][:2] == [
        date(2027, 2, 28),
        date(2027, 3, 28),
    ]
    assert [i.principal for i in loan.installments.all()] == [
        14_701_75,
        15_436_84,
        16_208_68,
        17_019_11,
        17_870_07,
        18_763_55,
    ]
    return loan


@pytest.fixture
def reducing_loan_after_month_one(reducing_loan):
    loan = reducing_loan
    first = loan.installments.get(number=1)
    with at(date(2027, 2, 28)):
        pay(loan, first.total_due, "M1")
    return loan


# --- Early settlement ---------------------------------------------------------------------


def test_reducing_loan_settled_on_day_45_costs_interest_to_the_day(reducing_loan_after_month_one):
    """Day 45 after the 28 January payout is 14 March. Installment 1 was paid on 28 February,
    so ₦100,000 − 14,701.75 = ₦85,298.25 is owed and month 2 has run 14 days:
    85,298.25 × 0.05 × 12 × 14 / 365 = ₦1,963.03 of interest (Actual/365).
    Settlement: 85,298.25 + 1,963.03 = ₦87,261.28. Rebated: the months' scheduled interest
    4,264.91 + 3,493.07 + 2,682.64 + 1,831.68 + 938.18 = 13,210.48, less 1,963.03 = ₦11,247.45."""
    loan = reducing_loan_after_month_one
    with at(date(2027, 3, 14)):
        quote = settlement.quote(loan)
        assert quote.valid_until == date(2027, 3, 14)
        assert quote.figures.principal == 85_298_25
        assert quote.figures.interest == 1_963_03
        assert quote.figures.fees == quote.figures.late_fees == quote.figures.credit == 0
        assert quote.amount == 87_261_28
        assert quote.figures.rebate == 11_247_45
        pay(loan, 87_261_28, "SETTLE")
    loan.refresh_from_db()
    assert loan.status == LoanStatus.CLOSED
    assert member_credit(loan.member) == 0
    assert AuditEvent.objects.filter(action="loan.discharge_letter_issued", object_id=str(loan.pk))
    # The interest not charged left the receivable; the schedule shows what was charged.
    assert [i.interest for i in loan.installments.all()][1:] == [1_963_03, 0, 0, 0, 0]
    # Everything the member paid: installment 1, 14,701.75 + 5,095.89 (month 1's interest for
    # its 31 days, 28 Jan → 28 Feb: 100,000 × 0.05 × 12 × 31 / 365 = 5,095.89) = 19,797.64,
    # then 87,261.28 (unchanged: month 2 onwards keep the standard schedule). The loan cost
    # ₦7,058.92 in interest (5,095.89 + 1,963.03), not the ₦18,306.37 of the whole schedule.
    paid = sum(p.amount for p in Payment.objects.filter(loan=loan))
    assert paid == 19_797_64 + 87_261_28 == 100_000_00 + 5_095_89 + 1_963_03
    version = ScheduleVersion.objects.get(loan=loan)
    assert version.number == 1 and version.replaced_because == "settlement"
    assert version.total_interest == 5_095_89 + 13_210_48
    books_agree(loan)


def test_a_quote_for_a_later_day_includes_the_days_until_then(reducing_loan_after_month_one):
    """Quoted on 14 March for 24 March: 24 days of month 2 → 85,298.25 × 0.6 × 24 / 365 =
    ₦3,365.19; paid on 14 March it settles for less and the ₦1,402.16 difference is credit."""
    loan = reducing_loan_after_month_one
    with at(date(2027, 3, 14)):
        later = settlement.quote(loan, on=date(2027, 3, 24))
        assert later.figures.interest == 3_365_19 and later.amount == 88_663_44
        pay(loan, later.amount, "EARLY")
    loan.refresh_from_db()
    assert loan.status == LoanStatus.CLOSED
    assert member_credit(loan.member) == 88_663_44 - 87_261_28 == 1_402_16
    books_agree(loan)


def test_a_quote_paid_after_its_day_is_refigured_never_under_charged(reducing_loan_after_month_one):
    """Quoted for 14 March (₦87,261.28) but paid on 20 March: 20 days have run,
    85,298.25 × 0.6 × 20 / 365 = ₦2,804.33, so the loan needs ₦88,102.58. The money pays
    installment 2 (₦19,701.75, whose ₦4,264.91 interest runs to 28 March) and the rest waits
    as credit. A new quote gives back the interest paid for the days after 20 March
    (4,264.91 − 2,804.33 = ₦1,460.58) and asks for the difference only: ₦841.30."""
    loan = reducing_loan_after_month_one
    with at(date(2027, 3, 14)):
        stale = settlement.quote(loan).amount
    with at(date(2027, 3, 20)):
        assert settlement.quote(loan).amount == 88_102_58
        pay(loan, stale, "LATE")
        loan.refresh_from_db()
        assert loan.status == LoanStatus.ACTIVE
        assert member_credit(loan.member) == stale - 19_701_75
        requote = settlement.quote(loan)
        assert requote.figures.refund == 1_460_58
        assert requote.amount == 88_102_58 - stale == 841_30
        pay(loan, requote.amount, "TOPUP")
    loan.refresh_from_db()
    assert loan.status == LoanStatus.CLOSED
    assert member_credit(loan.member) == 0
    books_agree(loan)


def test_flat_loan_settled_after_two_of_six_installments():
    """₦60,000 flat at 5 % over 6 months: ₦10,000 principal a month. Settled on the day the
    second installment falls due, after paying it: 4 × 10,000 = ₦40,000; months 3–6 have not
    begun, so their 4 × ₦3,000 of interest is not charged."""
    with at(date(2027, 1, 28)):
        loan = active_loan(amount=60_000_00, tenure=6, fee_percent=Decimal(0))
    first, second = loan.installments.all()[:2]
    with at(first.due_date):
        pay(loan, first.total_due, "F1")
    with at(second.due_date):
        pay(loan, second.total_due, "F2")
        quote = settlement.quote(loan)
        assert (quote.figures.principal, quote.figures.interest) == (40_000_00, 0)
        assert quote.figures.rebate == 4 * 3_000_00
        pay(loan, 40_000_00, "F-SETTLE")
    loan.refresh_from_db()
    assert loan.status == LoanStatus.CLOSED
    books_agree(loan)


def test_a_product_without_rebate_settles_for_everything_left():
    with at(date(2027, 1, 28)):
        loan = active_loan(amount=60_000_00, tenure=3, early_settlement_rule="none")
        assert settlement.quote(loan).amount == schedule_outstanding(loan)


def test_the_key_facts_state_the_early_repayment_rule_before_consent(reducing_loan):
    facts = reducing_loan.application.key_facts
    assert facts["terms"]["early_settlement"] == "daily"
    assert "monthly rate × 12 ÷ 365" in facts["early_repayment"]
    assert reducing_loan.settlement_rule == "daily"


@pytest.mark.parametrize("status", [LoanStatus.CLOSED, LoanStatus.CANCELLED])
def test_a_loan_that_is_not_running_has_nothing_to_settle(reducing_loan, status):
    type(reducing_loan).objects.filter(pk=reducing_loan.pk).update(status=status)
    reducing_loan.refresh_from_db()
    with pytest.raises(Conflict, match="nothing to settle"):
        settlement.quote(reducing_loan)


def test_a_loan_awaiting_payout_has_nothing_to_settle():
    with pytest.raises(Conflict, match="nothing to settle"):
        settlement.quote(approved_loan())


@pytest.mark.parametrize("days", [-1, 31])
def test_a_quote_is_for_today_up_to_thirty_days_ahead(reducing_loan, days):
    with at(date(2027, 2, 1)), pytest.raises(DomainError):
        settlement.quote(reducing_loan, on=date(2027, 2, 1) + timedelta(days=days))


def test_a_settling_payment_cannot_be_reversed_on_its_own(reducing_loan_after_month_one):
    loan = reducing_loan_after_month_one
    with at(date(2027, 3, 14)):
        payment = pay(loan, 87_261_28, "SETTLE")
        with pytest.raises(Conflict, match="settled early"):
            services.reverse_payment(payment=payment, actor=make_finance(), reason="Bounced cheque")
    books_agree(loan)


# --- Credit -----------------------------------------------------------------------------------


def test_credit_pays_the_next_installment_when_it_falls_due(reducing_loan):
    """₦30,000 on the payout day: installment 1 (₦14,701.75 + ₦5,095.89 interest for its 31 days
    = ₦19,797.64) is running and is paid, ₦10,202.36 is credit; on 28 March the daily job pays
    installment 2 from it."""
    loan = reducing_loan
    with at(date(2027, 1, 28)):
        pay(loan, 30_000_00, "C1")
    assert member_credit(loan.member) == 10_202_36
    with at(date(2027, 3, 27)):
        assert credit_services.apply_due_credit_everywhere() == 0
    with at(date(2027, 3, 28), hour=4):
        assert credit_services.apply_due_credit_everywhere() == 1
    second = loan.installments.get(number=2)
    assert second.total_paid == 10_202_36
    used = Payment.objects.get(loan=loan, channel=PaymentChannel.CREDIT)
    assert used.amount == 10_202_36
    assert member_credit(loan.member) == 0
    books_agree(loan)


def test_the_member_can_use_credit_now_and_nobody_else_can(reducing_loan):
    loan = reducing_loan
    with at(date(2027, 1, 28)):
        pay(loan, 30_000_00, "C2")
    with at(date(2027, 3, 1)):
        with pytest.raises(NotAllowed):
            credit_services.use_credit_now(loan=loan, actor=make_officer())
        payment = credit_services.use_credit_now(loan=loan, actor=loan.member.user)
        assert payment.amount == 10_202_36
        with pytest.raises(Conflict, match="no credit"):
            credit_services.use_credit_now(loan=loan, actor=loan.member.user)
    books_agree(loan)


def test_a_payment_whose_credit_was_used_cannot_be_reversed(reducing_loan):
    loan = reducing_loan
    with at(date(2027, 1, 28)):
        payment = pay(loan, 30_000_00, "C3")
    with at(date(2027, 3, 1)):
        credit_services.use_credit_now(loan=loan, actor=loan.member.user)
        with pytest.raises(Conflict, match="used or refunded"):
            services.reverse_payment(payment=payment, actor=make_finance(), reason="Wrong loan!!")
    books_agree(loan)


def test_credit_that_covers_the_figure_settles_the_loan(reducing_loan_after_month_one):
    """On 14 March the member pays installment 2 and ₦60,000 more (not enough to settle: the
    figure is ₦87,261.28). Installment 2's interest runs to 28 March; settling on 14 March
    gives back the 4,264.91 − 1,963.03 = ₦2,301.88 paid for later days, so the figure is
    69,861.41 − 2,301.88 = ₦67,559.53, and the ₦60,000 credit leaves ₦7,559.53 to pay. With
    ₦10,000 more credit (a finance adjustment here) the credit alone settles it, and
    60,000 + 10,000 + 2,301.88 − 69,861.41 = ₦2,440.47 stays the member's."""
    loan = reducing_loan_after_month_one
    with at(date(2027, 3, 14)):
        pay(loan, 19_701_75 + 60_000_00, "BIG")
        loan.refresh_from_db()
        assert loan.status == LoanStatus.ACTIVE
        quote = settlement.quote(loan)
        assert (quote.figures.refund, quote.amount) == (2_301_88, 7_559_53)
        with pytest.raises(Conflict, match="pay the other ₦7,559.53"):
            credit_services.settle_from_credit(loan=loan, actor=loan.member.user)
        dims = {"loan_id": loan.pk, "member_id": loan.member_id}
        post_entry(
            kind=EntryKind.ADJUSTMENT,
            lines=[
                debit(chart.CASH_BANK, 10_000_00, **dims),
                credit(chart.MEMBER_CREDIT, 10_000_00, **dims),
            ],
            effective_date=date(2027, 3, 14),
            idempotency_key=f"adjustment:test-credit-{loan.pk}",
        )
        with pytest.raises(NotAllowed):
            credit_services.settle_from_credit(loan=loan, actor=make_officer())
        credit_services.settle_from_credit(loan=loan, actor=loan.member.user)
    loan.refresh_from_db()
    assert loan.status == LoanStatus.CLOSED
    assert member_credit(loan.member) == 2_440_47
    books_agree(loan)


# --- Partial prepayment -------------------------------------------------------------------


def _prepay(loan, mode):
    """On 14 March the member pays installment 2 (₦19,701.75) and ₦40,000 more."""
    with at(date(2027, 3, 14)):
        pay(loan, 19_701_75 + 40_000_00, f"PP-{mode}")
        return credit_services.prepay_from_credit(
            loan=loan, amount=40_000_00, mode=mode, actor=loan.member.user
        )


def test_prepaying_40000_in_month_two_to_pay_less_each_month(reducing_loan_after_month_one):
    """After installment 2, ₦69,861.41 is owed; ₦40,000 prepaid leaves ₦29,861.41 over the same
    4 months: 29,861.41 × 0.05 / (1 − 1.05⁻⁴) = ₦8,421.27 a month. Interest 1,493.07 ·
    1,146.66 · 782.93 · 401.01 = ₦3,823.67 instead of ₦8,945.57: ₦5,121.90 saved."""
    loan = reducing_loan_after_month_one
    plan = _prepay(loan, "lower")
    assert plan.prepaid == 40_000_00 and plan.interest_saved == 5_121_90
    rows = [(i.number, i.due_date, i.principal, i.interest) for i in loan.installments.all()][2:]
    assert rows == [
        (3, date(2027, 4, 28), 6_928_20, 1_493_07),
        (4, date(2027, 5, 28), 7_274_61, 1_146_66),
        (5, date(2027, 6, 28), 7_638_34, 782_93),
        (6, date(2027, 7, 28), 8_020_26, 401_01),
    ]
    assert {i.principal + i.interest for i in loan.installments.all()[2:]} == {8_421_27}
    loan.refresh_from_db()
    assert loan.schedule_version == 2
    assert ScheduleVersion.objects.get(loan=loan).replaced_because == "prepayment_lower"
    assert member_credit(loan.member) == 0
    books_agree(loan)


def test_prepaying_40000_in_month_two_to_finish_sooner(reducing_loan_after_month_one):
    """The same ₦29,861.41 at the same ₦19,701.75 a month: April pays 1,493.07 interest and
    18,208.68 principal, leaving ₦11,652.73; May pays it with 582.64 interest (₦12,235.37).
    Two installments instead of four; interest ₦2,075.71 instead of ₦8,945.57."""
    loan = reducing_loan_after_month_one
    plan = _prepay(loan, "shorter")
    assert plan.interest_saved == 8_945_57 - 2_075_71
    rows = [(i.number, i.principal, i.interest) for i in loan.installments.all()][2:]
    assert rows == [(3, 18_208_68, 1_493_07), (4, 11_652_73, 582_64)]
    assert ScheduleVersion.objects.get(loan=loan).installments[-1]["number"] == 6
    books_agree(loan)
    with at(date(2027, 4, 28)):
        pay(loan, 19_701_75, "A")
    with at(date(2027, 5, 28)):
        pay(loan, 12_235_37, "M")
    loan.refresh_from_db()
    assert loan.status == LoanStatus.CLOSED
    books_agree(loan)


def test_a_prepayment_must_be_more_than_what_is_due(reducing_loan_after_month_one):
    """On 14 March installment 2 (₦19,701.75) is due now: a prepayment is more than that."""
    loan = reducing_loan_after_month_one
    with at(date(2027, 3, 14)):
        for amount in (0, -5, 19_701_75):
            with pytest.raises(DomainError):
                credit_services.preview_prepayment(loan=loan, amount=amount, mode="lower")
        with pytest.raises(DomainError, match="finish sooner"):
            credit_services.preview_prepayment(loan=loan, amount=5_000_00, mode="sideways")
        with pytest.raises(Conflict, match="credit is"):
            credit_services.prepay_from_credit(
                loan=loan, amount=20_000_00, mode="lower", actor=loan.member.user
            )
    assert loan.versions.count() == 0
    books_agree(loan)


def test_a_prepayment_that_would_pay_everything_is_sent_to_settlement(
    reducing_loan_after_month_one,
):
    with at(date(2027, 3, 14)), pytest.raises(DomainError, match="settlement quote"):
        credit_services.preview_prepayment(
            loan=reducing_loan_after_month_one, amount=95_000_00, mode="lower"
        )
