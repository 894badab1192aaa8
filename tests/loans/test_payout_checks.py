"""Checks at payout (issue 18): an approval expires, and eligibility is run again when the money
is about to leave. The review's example: approved with the last installment due 28 April,
paid out 40 days later, the loan ran to 28 May — after passing-out on 30 April."""

from datetime import date, datetime

import pytest
import time_machine
from django.core import mail

from core.clock import LAGOS
from core.errors import Conflict
from core.models import AuditEvent
from loans.models import ApplicationStatus, LoanStatus
from loans.services import expire_approvals, payout_problems
from notifications.models import Message
from payments import services as payment_services
from payments.models import Disbursement
from tests.factories import active_loan, approved_loan, eligible_member, make_finance, on_commit

pytestmark = pytest.mark.django_db


def _at(day: date):
    return time_machine.travel(datetime(day.year, day.month, day.day, 10, tzinfo=LAGOS), tick=False)


def _approved_on(day: date, **kwargs):
    with _at(day):
        return approved_loan(**kwargs)


def _pay_out(loan, day: date, reference="FT-PAYOUT-01"):
    with _at(day):
        payment_services.record_manual_disbursement(
            loan=loan, actor=make_finance(), bank_reference=reference
        )


def test_the_forty_day_example_is_refused_with_both_reasons():
    # Approved 20 Jan 2027 for 3 months: dues 28 Feb, 28 Mar, 28 Apr; passing-out 30 Apr
    # with 0 days' margin lets it through at approval.
    member = eligible_member(passing_out=date(2027, 4, 30))
    loan = _approved_on(date(2027, 1, 20), member=member, tenure=3, min_days_before_passing_out=0)
    assert loan.installments.order_by("number").last().due_date == date(2027, 4, 28)

    with pytest.raises(Conflict) as refused:
        # 40 days later: 28 Mar is too close for a first due date, so the dues would move to
        # 28 Apr, 28 May, 28 Jun.
        _pay_out(loan, date(2027, 3, 1))
    message = refused.value.message
    assert "The approval expired on 03 Feb 2027" in message
    assert "within 14 days" in message
    assert (
        "the last installment would fall due on 28 Jun 2027, after the member's passing-out "
        "on 30 Apr 2027" in message
    )
    loan.refresh_from_db()
    assert loan.status == LoanStatus.PENDING_DISBURSEMENT
    assert not Disbursement.objects.filter(loan=loan).exists()


def test_a_payout_inside_the_validity_is_refused_only_when_the_dates_now_run_too_late():
    member = eligible_member(passing_out=date(2027, 4, 30))
    loan = _approved_on(
        date(2027, 1, 20),
        member=member,
        tenure=3,
        min_days_before_passing_out=0,
        approval_valid_days=30,
    )
    # Paid out 13 Feb: the first due date moves to 28 Mar (fewer than the product's minimum
    # days to 28 Feb), so the last to 28 May — past passing-out.
    problems = payout_problems(loan, payout_date=date(2027, 2, 13))
    assert len(problems) == 1 and "28 May 2027" in problems[0]
    assert payout_problems(loan, payout_date=date(2027, 1, 27)) == []


def test_a_member_with_another_loan_running_or_no_longer_verified_is_not_paid():
    member = eligible_member()
    second = approved_loan(member=member)
    # A member cannot apply while a loan runs; a loan that went live meanwhile (say, two
    # approvals racing before this check existed) must still stop the second payout.
    running = active_loan()
    type(running).objects.filter(pk=running.pk).update(member=member)
    problems = payout_problems(second, payout_date=second.approved_at.date())
    assert problems == [f"The member already has loan {running.reference} running."]

    member.kyc_status = "rejected"
    member.save(update_fields=["kyc_status"])
    second.refresh_from_db()
    assert "The member's profile is no longer verified." in payout_problems(
        second, payout_date=second.approved_at.date()
    )


def test_an_expired_approval_is_cancelled_and_the_member_told():
    loan = _approved_on(date(2027, 1, 20))
    with _at(date(2027, 2, 3)):  # the 14th day: still valid
        assert expire_approvals() == 0
    with _at(date(2027, 2, 4)), on_commit(execute=True):
        assert expire_approvals() == 1
    loan.refresh_from_db()
    application = loan.application
    application.refresh_from_db()
    assert loan.status == LoanStatus.CANCELLED
    assert application.status == ApplicationStatus.CANCELLED
    assert application.history.order_by("-id").first().reason == (
        "The approval expired: the loan was not paid out by 03 Feb 2027."
    )
    event = AuditEvent.objects.get(action="loan.approval_expired", object_id=str(loan.pk))
    assert event.changes == {"approved_on": "2027-01-20", "expired_after": "2027-02-03"}
    message = Message.objects.get(member=loan.member, kind="approval_expired", channel="email")
    assert application.reference in message.body and "within 14 days" in message.body
    with _at(date(2027, 2, 5)):
        assert expire_approvals() == 0  # nothing twice


def test_an_approval_whose_payout_is_in_flight_does_not_expire():
    loan = _approved_on(date(2027, 1, 20))
    with _at(date(2027, 2, 2)):
        payment_services.request_disbursement(loan=loan, actor=make_finance())
    with _at(date(2027, 2, 10)):
        assert expire_approvals() == 0
    loan.refresh_from_db()
    assert loan.status == LoanStatus.PENDING_DISBURSEMENT
    assert mail.outbox == [] or all("expired" not in m.subject for m in mail.outbox)
