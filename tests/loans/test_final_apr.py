"""Final APR at payout (issue 17 slice): the due dates move with the payout day and so does the
first period's length; the loan keeps the APR of the schedule the member really has, the
change is audited and the payout e-mail states it."""

from datetime import date, datetime

import time_machine
from django.core import mail

from core.clock import LAGOS
from core.models import AuditEvent
from loans.schedule import build_schedule
from payments import services as payment_services
from tests.factories import approved_loan, make_finance, on_commit


def _schedule_apr(loan, start: date):
    terms = loan.application.terms(start_date=start, amount=loan.principal, tenure=1)
    return build_schedule(terms).apr


def test_a_loan_paid_out_four_weeks_after_approval_keeps_the_apr_of_its_real_schedule(db):
    with time_machine.travel(datetime(2026, 3, 2, 12, tzinfo=LAGOS), tick=False):
        loan = approved_loan(amount=50_000_00, tenure=1, approval_valid_days=30)
    approval_apr = loan.apr
    assert approval_apr == _schedule_apr(loan, date(2026, 3, 2))
    payout_apr = _schedule_apr(loan, date(2026, 3, 30))
    assert payout_apr != approval_apr  # the first period is shorter or longer from the 30th

    with time_machine.travel(datetime(2026, 3, 30, 12, tzinfo=LAGOS), tick=False):
        with on_commit(execute=True):
            payment_services.record_manual_disbursement(
                loan=loan, actor=make_finance(), bank_reference="FT-APR-0001"
            )
    loan.refresh_from_db()
    assert loan.apr == payout_apr
    event = AuditEvent.objects.get(action="loan.apr_fixed_at_payout", object_id=str(loan.pk))
    assert event.changes == {
        "apr": [str(approval_apr), str(payout_apr)],
        "paid_out_on": "2026-03-30",
    }
    sent = [m for m in mail.outbox if loan.reference in m.body and "APR" in m.body]
    assert sent and f"{payout_apr} %" in sent[-1].body


def test_a_payout_on_the_approval_day_changes_nothing(db):
    with time_machine.travel(datetime(2026, 3, 2, 12, tzinfo=LAGOS), tick=False):
        loan = approved_loan(amount=50_000_00, tenure=1)
        before = loan.apr
        payment_services.record_manual_disbursement(
            loan=loan, actor=make_finance(), bank_reference="FT-APR-0002"
        )
    loan.refresh_from_db()
    assert loan.apr == before
    assert not AuditEvent.objects.filter(action="loan.apr_fixed_at_payout").exists()
