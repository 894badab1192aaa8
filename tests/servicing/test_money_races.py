"""Money races on real PostgreSQL: settlement, refunds, credit and waivers at the same moment.

Each test releases real threads together against one loan or one member's credit and checks
that exactly one wins (the others get a plain Conflict, never a deadlock or a 500) or that both
apply consistently; that the books balance; that the member's credit is never negative nor
promised twice; and that the ledger still equals the schedule. Expected money is worked from
the loan's own installments and the settlement figures of the day, never from the outcome.
"""

import threading
import time as wall_time
from datetime import date, datetime, time, timedelta

import pytest
import time_machine

from core.clock import LAGOS
from core.errors import Conflict, DomainError
from ledger import chart
from ledger.models import EntryKind, JournalEntry
from ledger.posting import credit, debit, post_entry
from ledger.selectors import loan_balance, member_credit, trial_balance, unbalanced_entries
from loans.models import LoanStatus
from payments import services
from payments.models import Payment, PaymentStatus, Refund, RefundStatus
from payments.selectors import available_credit, reserved_credit
from payments.services import credit as credit_services
from payments.services import refunds as refund_services
from payments.services import settlement
from payments.services.checkout import confirm_checkout
from servicing.models import WaiverStatus
from servicing.services.waivers import approve_waiver, request_waiver
from simulator.models import SimulatedProviderRecord
from tests.factories import active_loan, make_finance, make_officer, schedule_outstanding
from tests.payments.reconciliation.test_postgres import committed_db  # noqa: F401
from tests.races import race

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("committed_db")]

PAID_OUT = date(2027, 1, 28)


def at(day: date):
    # Frozen wall clock: every thread sees the same Lagos day.
    return time_machine.travel(datetime.combine(day, time(12), tzinfo=LAGOS), tick=False)


def pay(loan, amount, evidence):
    return services.record_manual_payment(
        loan=loan,
        actor=make_finance(),
        amount=amount,
        reason="Paid at the branch",
        evidence=evidence,
    )


def books_sound(loan):
    loan.refresh_from_db()
    assert unbalanced_entries() == []
    assert trial_balance()["balanced"]
    if loan.status != LoanStatus.WRITTEN_OFF:
        assert loan_balance(loan) == schedule_outstanding(loan)
    credit = member_credit(loan.member)
    assert credit >= 0
    assert 0 <= reserved_credit(loan.member) <= credit
    assert available_credit(loan.member) == credit - reserved_credit(loan.member)


def only_conflicts(errors):
    # A deadlock or a lock timeout would be an OperationalError here, not a Conflict.
    assert all(isinstance(e, Conflict | DomainError) for e in errors), errors


def loan_in_month_two(extra_credit=0):
    """A loan paid out on 28 January whose first installment was paid on its day; on the day
    after, installment 2 is the one running. ``extra_credit``: money finance credited to the
    member by an adjustment (as a payment it could settle the loan on arrival)."""
    with at(PAID_OUT):
        loan = active_loan()
    first = loan.installments.get(number=1)
    with at(first.due_date):
        pay(loan, first.total_due, f"M1-{loan.pk}")
    day = first.due_date + timedelta(days=1)
    if extra_credit:
        dims = {"loan_id": loan.pk, "member_id": loan.member_id}
        post_entry(
            kind=EntryKind.ADJUSTMENT,
            lines=[
                debit(chart.CASH_BANK, extra_credit, **dims),
                credit(chart.MEMBER_CREDIT, extra_credit, **dims),
            ],
            effective_date=day,
            idempotency_key=f"adjustment:race-credit-{loan.pk}",
        )
    assert member_credit(loan.member) == extra_credit
    return loan, day


def settlement_entries(loan):
    return JournalEntry.objects.filter(loan=loan, idempotency_key__startswith="settlement:")


# --- Two settlements of one loan --------------------------------------------------------------


def test_two_settlements_from_credit_at_once_close_the_loan_once():
    loan, day = loan_in_month_two(extra_credit=80_000_00)
    with at(day):
        figures = settlement.quote(loan).figures
        assert figures.total == 0 and figures.gross > 0  # the credit covers it
        member = loan.member
        results, errors = race(
            2, lambda i: credit_services.settle_from_credit(loan=loan, actor=member.user)
        )
    assert len(results) == 1 and len(errors) == 1, errors
    assert isinstance(errors[0], Conflict) and "nothing to settle" in errors[0].message
    loan.refresh_from_db()
    assert loan.status == LoanStatus.CLOSED
    # What is left of the credit: what it was, less what the day's figure asked of it.
    assert member_credit(member) == 80_000_00 - (figures.gross - figures.refund)
    assert settlement_entries(loan).count() <= 1  # one rebate at most, never two
    assert Payment.objects.filter(loan=loan, provider="credit").count() == 1
    books_sound(loan)


def _two_checkouts_of(loan, amount):
    """Two card payments of ``amount`` for one loan the provider confirms together: the first
    checkout expired unpaid on our side, the member started another, both charges went through."""
    member = loan.member
    first, _ = services.start_checkout(
        loan=loan, actor=member.user, amount=amount, callback_url="http://127.0.0.1/"
    )
    Payment.objects.filter(pk=first.pk).update(status=PaymentStatus.EXPIRED)
    second, _ = services.start_checkout(
        loan=loan, actor=member.user, amount=amount, callback_url="http://127.0.0.1/"
    )
    references = [first.reference, second.reference]
    SimulatedProviderRecord.objects.filter(reference__in=references).update(status="success")
    return references


def test_two_settling_payments_at_once_settle_once_and_the_second_is_credit():
    loan, day = loan_in_month_two()
    with at(day):
        figures = settlement.quote(loan).figures
        assert figures.rebate > 0 and figures.credit == 0
        references = _two_checkouts_of(loan, figures.total)
        results, errors = race(2, lambda i: confirm_checkout(reference=references[i]))
    assert not errors and len(results) == 2
    loan.refresh_from_db()
    assert loan.status == LoanStatus.CLOSED
    assert Payment.objects.filter(reference__in=references, status="successful").count() == 2
    # One rebate: the second payment found nothing owed and became the member's credit whole.
    assert settlement_entries(loan).count() == 1
    assert member_credit(loan.member) == figures.total
    credit_parts = [
        sum(a.amount for a in p.allocations.all() if a.component == "credit")
        for p in Payment.objects.filter(reference__in=references).order_by("received_at", "pk")
    ]
    assert sorted(credit_parts) == [0, figures.total]
    books_sound(loan)


# --- Refunds of credit against other uses of it ------------------------------------------------


def _member_refund(loan, amount):
    member = loan.member
    return refund_services.request_credit_refund(
        member=member, actor=member.user, amount=amount, loan=loan
    )


def test_a_refund_approval_racing_the_members_use_of_the_same_credit_one_wins():
    loan, day = loan_in_month_two(extra_credit=10_000_00)
    second = loan.installments.get(number=2)
    assert second.outstanding > 10_000_00  # "use my credit" would take all of it
    refund = _member_refund(loan, 10_000_00)
    finance, member = make_finance(), loan.member

    def work(i):
        if i == 0:
            return refund_services.approve_refund(refund=refund, actor=finance)
        return credit_services.use_credit_now(loan=loan, actor=member.user)

    with at(day):
        results, errors = race(2, work)
    assert len(results) == 1 and len(errors) == 1, errors
    only_conflicts(errors)
    refund.refresh_from_db()
    second.refresh_from_db()
    if refund.status == RefundStatus.SUCCEEDED:  # sent on commit (tasks run at once here)
        assert second.total_paid == 0
    else:
        assert refund.status == RefundStatus.REQUESTED
        assert second.total_paid == 10_000_00
    assert member_credit(member) == 0
    books_sound(loan)


def test_approve_refund_waiting_for_the_member_row_never_deadlocks_with_use_credit_now(
    monkeypatch,
):
    """The interleaving that deadlocked: the approval holds its refund row while "use my
    credit" holds the member row and writes a payment recorded by the member's user. Approval
    used to lock the joined user row too (FOR UPDATE), so the payment's insert waited for it
    while the approval waited for the member row. The approval is slowed after its first
    locks, and "use my credit" starts meanwhile, to make that order certain."""
    loan, day = loan_in_month_two(extra_credit=10_000_00)
    refund = _member_refund(loan, 10_000_00)
    finance, member = make_finance(), loan.member
    approval_locked = threading.Event()
    real_check = refund_services.check_independent

    def slow_check(**kwargs):
        real_check(**kwargs)
        approval_locked.set()
        wall_time.sleep(1.5)

    monkeypatch.setattr(refund_services, "check_independent", slow_check)

    def work(i):
        if i == 0:
            return refund_services.approve_refund(refund=refund, actor=finance)
        approval_locked.wait(10)
        return credit_services.use_credit_now(loan=loan, actor=member.user)

    with at(day):
        started = wall_time.monotonic()
        results, errors = race(2, work)
    assert wall_time.monotonic() - started < 30
    # The approval took the member's row first, so it wins and "use my credit" then finds the
    # credit promised to the transfer.
    assert len(results) == 1 and len(errors) == 1, errors
    assert isinstance(errors[0], Conflict) and "no credit" in errors[0].message
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert member_credit(member) == 0
    books_sound(loan)


def test_three_approvals_of_one_credit_never_promise_it_twice():
    loan, _ = loan_in_month_two(extra_credit=5_000_00)
    member = loan.member
    # Asked for one after another, each within what was refundable when asked... and then
    # two more made by hand, as if the requests had slipped past each other.
    refunds = [_member_refund(loan, 2_000_00)]
    for n in (2, 3):
        refunds.append(
            Refund.objects.create(
                reference=f"RFD-RACE-{loan.pk}-{n}",
                source="credit",
                member=member,
                amount=2_000_00,
                bank_code=refunds[0].bank_code,
                account_number=refunds[0].account_number,
                account_name=refunds[0].account_name,
                requested_by=member.user,
            )
        )
    approvers = [make_finance() for _ in refunds]
    results, errors = race(
        3, lambda i: refund_services.approve_refund(refund=refunds[i], actor=approvers[i])
    )
    # ₦5,000 of credit pays two ₦2,000 refunds; the third finds ₦1,000 available.
    assert len(results) == 2 and len(errors) == 1, errors
    assert isinstance(errors[0], Conflict) and "₦1,000.00" in errors[0].message
    assert Refund.objects.filter(member=member, status=RefundStatus.SUCCEEDED).count() == 2
    assert SimulatedProviderRecord.objects.filter(kind="transfer").count() == 2
    assert member_credit(member) == 1_000_00
    books_sound(loan)


def test_use_credit_now_racing_prepay_from_credit_one_wins():
    loan, day = loan_in_month_two(extra_credit=30_000_00)
    member = loan.member
    second = loan.installments.get(number=2)
    assert 30_000_00 > second.outstanding  # the prepayment pays installment 2 and then some
    before = schedule_outstanding(loan)

    def work(i):
        if i == 0:
            return credit_services.use_credit_now(loan=loan, actor=member.user)
        return credit_services.prepay_from_credit(
            loan=loan, amount=30_000_00, mode="lower", actor=member.user
        )

    with at(day):
        results, errors = race(2, work)
    assert len(results) == 1 and len(errors) == 1, errors
    only_conflicts(errors)
    second.refresh_from_db()
    assert second.outstanding == 0
    if isinstance(results[0], Payment):  # "use my credit" won: installment 2 only
        assert member_credit(member) == 30_000_00 - second.total_due
        assert schedule_outstanding(loan) == before - second.total_due
    else:  # the prepayment won: all ₦30,000 went in, and the interest saved is off too
        plan = results[0]
        assert member_credit(member) == 0
        assert schedule_outstanding(loan) == before - 30_000_00 - plan.interest_saved
    books_sound(loan)


# --- A waiver approval racing a payment ---------------------------------------------------------


def test_a_waiver_approval_racing_a_payment_stays_consistent():
    """A waiver of all the interest left but ₦1 waits for a second person while installment 2
    is paid in full. Waiver first: installment 2 then owes less than the payment, and the
    difference is the member's credit. Payment first: installment 2's interest is paid, less
    interest is owed than the waiver asks, and the approval is refused in plain words."""
    loan, day = loan_in_month_two()
    officer, finance = make_officer(), make_finance()
    interest_left = sum(i.interest - i.paid_interest for i in loan.installments.all())
    amount = interest_left - 1_00
    waiver = request_waiver(
        loan=loan, actor=officer, component="interest", amount=amount, reason="Hardship agreed"
    )
    assert waiver.status == WaiverStatus.PENDING_APPROVAL
    second = loan.installments.get(number=2)
    payment_amount = second.total_due
    before = schedule_outstanding(loan)

    def work(i):
        if i == 0:
            return approve_waiver(waiver=waiver, actor=finance)
        return pay(loan, payment_amount, f"RACE-{loan.pk}")

    with at(day):
        results, errors = race(2, work)
    only_conflicts(errors)
    assert Payment.objects.filter(evidence=f"RACE-{loan.pk}", status="successful").count() == 1
    waiver.refresh_from_db()
    credit_now = member_credit(loan.member)
    if waiver.status == WaiverStatus.APPLIED:
        assert not errors
        on_second = sum(b["amount"] for b in waiver.breakdown if b["installment"] == 2)
        assert on_second == second.interest - second.paid_interest
        assert credit_now == on_second
        waived = amount
    else:
        assert len(errors) == 1 and "owed on this loan now" in errors[0].message
        assert waiver.status == WaiverStatus.PENDING_APPROVAL and credit_now == 0
        waived = 0
    assert schedule_outstanding(loan) == before - waived - (payment_amount - credit_now)
    books_sound(loan)
