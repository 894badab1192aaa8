"""Final APR at payout (issue 17): the due dates move with the payout day and so does the first
period's length, hence installment 1's interest (interest for its real days). At payout the
loan's schedule, totals and APR are fixed again from the real payout date, audited, booked in
the ledger with the refixed interest, and the member is given the final key facts (payout
e-mail, loan page, final key facts page).

The worked loan: the factory's product (flat, 5 % a month, 1 % fee deducted, due day 28, late
fee capped at 10 % of the installment), ₦50,000 over 1 month.

* Approved on 2 Mar 2026: first due 28 Apr (28 Mar is 26 days away but the first due date is
  the due day of the month after the start), 29 + 28 = 57 days.
  Interest 5,000,000 × 0.05 × 12 × 57 / 365 = 171,000,000 / 365 = 468,493.15 → 468,493.
* Paid out on 30 Mar 2026: first due 28 Apr, 1 + 28 = 29 days (≥ 15, kept).
  Interest 5,000,000 × 0.05 × 12 × 29 / 365 = 87,000,000 / 365 = 238,356.16 → 238,356.
* Fee 1 % of 5,000,000 = 50,000, deducted: 4,950,000 reaches the member.
"""

from datetime import date, datetime
from decimal import Decimal, localcontext

import time_machine
from django.core import mail
from django.urls import reverse

from core.clock import LAGOS
from core.models import AuditEvent
from ledger import chart
from ledger.models import Posting
from ledger.selectors import loan_balance
from payments import services as payment_services
from tests.factories import approved_loan, make_finance, on_commit, schedule_outstanding

APPROVED = datetime(2026, 3, 2, 12, tzinfo=LAGOS)
PAID_OUT = datetime(2026, 3, 30, 12, tzinfo=LAGOS)


def _apr_by_hand(paid_out: int, repaid: int, days: int) -> Decimal:
    """One payment: (repaid / paid out)^(365 / days) − 1, as a percentage to 2 decimals."""
    with localcontext() as ctx:
        ctx.prec = 30
        rate = (Decimal(repaid) / Decimal(paid_out)) ** (Decimal(365) / Decimal(days)) - 1
    return (rate * 100).quantize(Decimal("0.01"))


def _approve():
    with time_machine.travel(APPROVED, tick=False):
        return approved_loan(amount=50_000_00, tenure=1, approval_valid_days=30)


def _pay_out(loan, reference="FT-APR-0001"):
    with time_machine.travel(PAID_OUT, tick=False):
        with on_commit(execute=True):
            payment_services.record_manual_disbursement(
                loan=loan, actor=make_finance(), bank_reference=reference
            )
    loan.refresh_from_db()
    return loan


def test_the_approval_books_the_first_interest_for_the_days_to_the_first_due_date(db):
    loan = _approve()
    first = loan.installments.get()
    assert (first.due_date, first.interest) == (date(2026, 4, 28), 468_493)
    assert (loan.total_interest, loan.total_repayable) == (468_493, 5_468_493)
    # 4,950,000 out on 2 Mar, 5,468,493 back 57 days later.
    assert loan.apr == _apr_by_hand(4_950_000, 5_468_493, 57)


def test_a_loan_paid_out_four_weeks_after_approval_is_refixed_from_the_payout_day(db):
    loan = _approve()
    approval_apr = loan.apr

    loan = _pay_out(loan)

    first = loan.installments.get()
    assert (first.due_date, first.interest) == (date(2026, 4, 28), 238_356)
    # The late-fee cap follows the installment: 10 % of 5,238,356, rounded down.
    assert first.late_fee_cap == 523_835
    assert (loan.total_interest, loan.total_repayable) == (238_356, 5_238_356)
    final_apr = _apr_by_hand(4_950_000, 5_238_356, 29)
    assert loan.apr == final_apr != approval_apr

    event = AuditEvent.objects.get(action="loan.apr_fixed_at_payout", object_id=str(loan.pk))
    assert event.changes == {
        "apr": [str(approval_apr), str(final_apr)],
        "total_interest": [468_493, 238_356],
        "total_repayable": [5_468_493, 5_238_356],
        "first_interest": [468_493, 238_356],
        "paid_out_on": "2026-03-30",
    }


def test_the_payout_entry_books_the_refixed_interest_so_the_ledger_equals_the_schedule(db):
    loan = _pay_out(_approve())

    lines = {
        p.account.code: p.amount
        for p in Posting.objects.filter(loan=loan, entry__kind="disbursement").select_related(
            "account"
        )
    }
    assert lines == {
        chart.LOANS_PRINCIPAL: 5_000_000,
        chart.LOANS_INTEREST: 238_356,  # not the approval-day 468,493
        chart.UNEARNED_INTEREST: -238_356,
        chart.CASH_BANK: -4_950_000,
        chart.FEE_INCOME: -50_000,
    }
    assert loan_balance(loan) == schedule_outstanding(loan) == 5_238_356


def test_the_payout_email_gives_the_final_key_facts_when_the_figures_moved(db):
    loan = _approve()
    approval_apr = loan.apr
    loan = _pay_out(loan)

    sent = [m for m in mail.outbox if loan.reference in m.body and "APR" in m.body]
    assert sent
    body = sent[-1].body
    assert "These are your final key facts" in body
    assert f"When you applied you saw an APR of {approval_apr} %" in body
    assert "a total to repay of ₦54,684.93" in body
    assert "total interest: ₦2,383.56" in body
    assert "total cost of credit (interest and fees): ₦2,883.56" in body  # 5,238,356 − 4,950,000
    assert "total you repay: ₦52,383.56" in body
    assert f"APR: {loan.apr} %" in body
    assert "only for the days from payout to your first due date" in body
    assert reverse("payments:loan_key_facts", args=[loan.reference]) in body


def test_the_loan_page_shows_the_final_figures_and_key_facts_until_the_first_due_date(db, client):
    loan = _approve()
    approval_apr = loan.apr
    loan = _pay_out(loan)
    client.force_login(loan.member.user)
    url = reverse("payments:loan_detail", args=[loan.reference])
    facts_url = reverse("payments:loan_key_facts", args=[loan.reference])

    with time_machine.travel(datetime(2026, 4, 28, 12, tzinfo=LAGOS), tick=False):
        page = client.get(url).content.decode()
    assert 'data-testid="final-apr"' in page
    assert f"APR <strong>{loan.apr} %</strong>" in page
    assert "total to repay <strong>₦52,383.56</strong>" in page
    assert "cost of credit (interest and fees) is <strong>₦2,883.56</strong>" in page
    assert f"you saw an APR of {approval_apr} %" in page
    assert facts_url in page

    with time_machine.travel(datetime(2026, 4, 29, 12, tzinfo=LAGOS), tick=False):
        page = client.get(url).content.decode()
    assert 'data-testid="final-apr"' not in page  # past the first due date
    assert facts_url in page  # the final key facts stay one click away

    facts = client.get(facts_url).content.decode()
    assert "Final key facts statement" in facts
    assert "paid it out on 2026-03-30" in facts
    assert f"{loan.apr} %" in facts
    assert "₦2,383.56" in facts and "₦52,383.56" in facts and "2026-04-28" in facts
    assert "Interest for the first month is charged only for the days from payout" in facts


def test_another_member_cannot_read_the_final_key_facts(db, client):
    loan = _pay_out(_approve())
    other = approved_loan(amount=20_000_00, tenure=1)
    client.force_login(other.member.user)
    response = client.get(reverse("payments:loan_key_facts", args=[loan.reference]))
    assert response.status_code == 404


def test_a_payout_on_the_approval_day_changes_nothing(db):
    with time_machine.travel(APPROVED, tick=False):
        loan = approved_loan(amount=50_000_00, tenure=1)
        before = (loan.apr, loan.total_interest, loan.total_repayable)
        with on_commit(execute=True):
            payment_services.record_manual_disbursement(
                loan=loan, actor=make_finance(), bank_reference="FT-APR-0002"
            )
        loan.refresh_from_db()
        assert (loan.apr, loan.total_interest, loan.total_repayable) == before
        assert not AuditEvent.objects.filter(action="loan.apr_fixed_at_payout").exists()
        body = next(m.body for m in mail.outbox if loan.reference in m.body and "APR" in m.body)
        assert "final key facts" not in body
        assert loan.installments.get().interest == 468_493
