"""The settlement and prepayment pages refuse what cannot be done in plain words, write nothing
half-way, and never over- or under-charge a quote paid on another day.

The loan of the dated examples: ₦100,000 reducing at 5 % a month over 6 months, no fee, paid out
on 28 January 2027 (interest to the day, Actual/365). Interest for d days on the ₦100,000 still
owed is 100,000 × 0.05 × 12 × d / 365: 10 days (7 February) ₦1,643.84, 11 days (8 February)
₦1,808.22. So the payoff is ₦101,643.84 on 7 February and ₦101,808.22 on 8 February.
"""

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from core.clock import LAGOS
from ledger.selectors import loan_balance, member_credit, trial_balance, unbalanced_entries
from loans import lifecycle
from loans.models import LoanStatus
from loans.selectors import contractual_outstanding
from payments import services
from payments.models import Payment, PaymentStatus
from payments.services import settlement
from simulator.models import SimulatedProviderRecord
from tests.factories import active_loan, approved_loan, make_finance, schedule_outstanding
from tests.form_tokens import with_form_token

pytestmark = pytest.mark.django_db

PAID_OUT = date(2027, 1, 28)
DAY_10 = date(2027, 2, 7)
DAY_11 = date(2027, 2, 8)


def at(day: date):
    return time_machine.travel(datetime.combine(day, time(12), tzinfo=LAGOS), tick=False)


@pytest.fixture
def reducing_loan():
    with at(PAID_OUT):
        return active_loan(
            amount=100_000_00,
            tenure=6,
            interest_method="reducing",
            fee_percent=Decimal(0),
            early_settlement_rule="daily",
        )


def settle_url(loan, on=None):
    url = reverse("servicing:settle", args=[loan.reference])
    return f"{url}?on={on}" if on is not None else url


def shown_figure(page: str) -> str | None:
    found = re.search(r'data-testid="settlement-amount">([^<]+)<', page)
    return found.group(1) if found else None


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def books_sound(loan):
    loan.refresh_from_db()
    assert unbalanced_entries() == []
    assert trial_balance()["balanced"]
    assert loan_balance(loan) == schedule_outstanding(loan)


# --- A loan with nothing to settle --------------------------------------------------------------


def _closed():
    loan = active_loan()
    services.record_manual_payment(
        loan=loan,
        actor=make_finance(),
        amount=settlement.quote(loan).amount,
        reason="Paid off at the branch",
        evidence=f"OFF-{loan.pk}",
    )
    loan.refresh_from_db()
    assert loan.status == LoanStatus.CLOSED
    return loan


def _cancelled():
    loan = approved_loan()
    lifecycle.cancel(loan, actor=loan.member.user)
    loan.refresh_from_db()
    assert loan.status == LoanStatus.CANCELLED
    return loan


def _pending():
    loan = approved_loan()
    assert loan.status == LoanStatus.PENDING_DISBURSEMENT
    return loan


@pytest.mark.parametrize(
    "make, words",
    [(_closed, "closed (repaid)"), (_cancelled, "cancelled"), (_pending, "pending disbursement")],
)
def test_a_loan_not_running_has_no_quote_and_cannot_be_settled(client, make, words):
    loan = make()
    payments_before = Payment.objects.count()
    client.force_login(loan.member.user)

    for url in (settle_url(loan), settle_url(loan, on=date.today() + timedelta(days=2))):
        page = client.get(url)
        assert page.status_code == 200
        text = page.content.decode()
        assert f"is {words}: there is nothing to settle." in text
        assert shown_figure(text) is None
        assert "close the loan" not in text

    response = client.post(reverse("servicing:settle_pay", args=[loan.reference]))
    assert response.status_code == 302
    assert response["Location"] == settle_url(loan)
    assert any("there is nothing to settle" in m for m in messages_of(response))
    assert Payment.objects.count() == payments_before
    assert not SimulatedProviderRecord.objects.filter(kind="charge").exists()


def test_a_written_off_loan_recovered_in_full_has_nothing_to_settle(client):
    from arrears import overdue
    from arrears import services as arrears_services
    from tests.arrears.builders import loan_in_arrears
    from tests.factories import make_officer

    today = date(2027, 6, 15)
    with at(today):
        loan = loan_in_arrears(120, today=today)
        overdue.run_overdue(run_date=today)
        write_off = arrears_services.request_write_off(
            loan=loan, actor=make_officer(), reason="Member unreachable for 120 days, no reply."
        )
        arrears_services.approve_write_off(write_off=write_off, actor=make_finance())
        services.record_manual_payment(
            loan=loan,
            actor=make_finance(),
            amount=settlement.quote(loan).amount,
            reason="Recovered at the branch",
            evidence="REC-ALL",
        )
        loan.refresh_from_db()
        assert loan.closed_at is not None and contractual_outstanding(loan) == 0
        client.force_login(loan.member.user)
        page = client.get(settle_url(loan, on=today + timedelta(days=1)))
    assert page.status_code == 200
    assert "recovered in full: there is nothing to settle" in page.content.decode()


# --- The quote's day ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "on, error",
    [
        (DAY_10 - timedelta(days=1), "for today or a day ahead, not a past day"),
        (DAY_10 + timedelta(days=31), "at most 30 days ahead"),
        ("07/02/2027x", "Enter a valid date"),
        ("2027-02-30", "Enter a valid date"),
        ("9" * 400, "Enter a valid date"),
    ],
)
def test_a_bad_day_is_explained_and_todays_figure_shown(client, reducing_loan, on, error):
    loan = reducing_loan
    with at(DAY_10):
        client.force_login(loan.member.user)
        page = client.get(settle_url(loan, on=on))
    assert page.status_code == 200
    text = page.content.decode()
    assert error in text
    assert shown_figure(text) == "₦101,643.84"


def test_the_figure_for_the_next_day_has_one_more_day_of_interest(client, reducing_loan):
    loan = reducing_loan
    with at(DAY_10):
        client.force_login(loan.member.user)
        today = client.get(settle_url(loan)).content.decode()
        tomorrow = client.get(settle_url(loan, on=DAY_11)).content.decode()
    assert shown_figure(today) == "₦101,643.84"
    assert shown_figure(tomorrow) == "₦101,808.22"


def test_only_the_borrower_pays_from_the_settlement_page(client, reducing_loan):
    loan = reducing_loan
    with at(DAY_10):
        client.force_login(make_finance())
        response = client.post(reverse("servicing:settle_pay", args=[loan.reference]))
    assert response.status_code == 302
    assert "Only the borrower pays their loan." in messages_of(response)
    assert not Payment.objects.filter(channel="checkout").exists()


# --- A quote paid on another day --------------------------------------------------------------


def _checkout_from_the_settle_page(client, loan) -> Payment:
    response = client.post(reverse("servicing:settle_pay", args=[loan.reference]))
    assert response.status_code == 302
    payment = Payment.objects.get(loan=loan, channel="checkout", status=PaymentStatus.PENDING)
    SimulatedProviderRecord.objects.filter(reference=payment.reference).update(status="success")
    return payment


def test_a_quote_paid_the_day_after_is_refigured_on_the_day_the_money_arrives(
    client, reducing_loan
):
    """Checkout for ₦101,643.84 on 7 February; the money is confirmed on 8 February, when the
    payoff is ₦101,808.22. It does not close the loan for ₦164.38 less: it pays installment 1
    (₦19,797.64) and the rest waits as credit, and the new quote is exactly the ₦164.38 short."""
    loan = reducing_loan
    with at(DAY_10):
        client.force_login(loan.member.user)
        payment = _checkout_from_the_settle_page(client, loan)
    assert payment.amount == 101_643_84 and payment.intent == "settle"

    with at(DAY_11):
        client.force_login(loan.member.user)  # a new day, a new session
        client.get(reverse("payments:checkout_return") + f"?reference={payment.reference}")
        payment.refresh_from_db()
        loan.refresh_from_db()
        assert payment.status == PaymentStatus.SUCCESSFUL
        assert loan.status == LoanStatus.ACTIVE
        assert member_credit(loan.member) == 101_643_84 - 19_797_64
        books_sound(loan)
        page = client.get(settle_url(loan)).content.decode()
        assert shown_figure(page) == "₦164.38"

        services.record_manual_payment(
            loan=loan, actor=make_finance(), amount=164_38, reason="The rest, in cash", evidence="R"
        )
    loan.refresh_from_db()
    assert loan.status == LoanStatus.CLOSED
    assert member_credit(loan.member) == 0
    # The new money the member sent is the payoff of the day it arrived, to the kobo.
    sent = Payment.objects.filter(loan=loan, status="successful").exclude(channel="credit")
    assert sum(p.amount for p in sent) == 101_808_22


def test_paying_the_next_days_figure_today_never_over_charges(reducing_loan):
    """₦101,808.22 (the figure for 8 February) paid on 7 February: the loan settles at
    ₦101,643.84 and the ₦164.38 of interest for a day that did not run is the member's credit."""
    loan = reducing_loan
    with at(DAY_10):
        assert settlement.quote(loan, on=DAY_11).amount == 101_808_22
        services.record_manual_payment(
            loan=loan,
            actor=make_finance(),
            amount=101_808_22,
            reason="Paid the quote early",
            evidence="EARLY",
        )
    loan.refresh_from_db()
    assert loan.status == LoanStatus.CLOSED
    assert member_credit(loan.member) == 164_38
    assert unbalanced_entries() == [] and trial_balance()["balanced"]


# --- Prepayment bad input -------------------------------------------------------------------------


def _post_prepay(client, loan, **data):
    return client.post(reverse("servicing:prepay", args=[loan.reference]), with_form_token(data))


@pytest.mark.parametrize("amount", ["19797.64", "5000", "0.01"])
def test_a_prepayment_not_above_what_is_due_is_refused_and_nothing_is_written(
    client, reducing_loan, amount
):
    loan = reducing_loan
    with at(DAY_10):
        client.force_login(loan.member.user)
        response = _post_prepay(client, loan, amount=amount, mode="lower", confirm="1")
    assert response.status_code == 200
    text = response.content.decode()
    assert "A prepayment is more than what is due now (₦19,797.64)" in text
    assert f'value="{amount}"' in text  # what was typed is kept
    assert not Payment.objects.filter(loan=loan).exclude(channel="manual").exists()
    loan.refresh_from_db()
    assert loan.schedule_version == 1
    books_sound(loan)


@pytest.mark.parametrize(
    "data, error",
    [
        ({"amount": "abc", "mode": "lower"}, "amount"),
        ({"amount": "-100", "mode": "lower"}, "amount"),
        ({"amount": "100.001", "mode": "lower"}, "amount"),
        ({"amount": "", "mode": "lower"}, "amount"),
        ({"amount": "30000", "mode": "sideways"}, "mode"),
        ({"amount": "30000"}, "mode"),
    ],
)
def test_prepayment_garbage_gets_a_field_error_and_no_money_moves(
    client, reducing_loan, data, error
):
    loan = reducing_loan
    with at(DAY_10):
        client.force_login(loan.member.user)
        response = _post_prepay(client, loan, confirm="1", **data)
    assert response.status_code == 200
    form = response.context["form"]
    assert error in form.errors
    assert not Payment.objects.filter(loan=loan).exists()


def test_a_prepayment_that_pays_everything_is_sent_to_the_settlement_quote(client, reducing_loan):
    loan = reducing_loan
    with at(DAY_10):
        client.force_login(loan.member.user)
        response = _post_prepay(client, loan, amount="101643.84", mode="shorter")
    assert "get a settlement quote instead" in response.content.decode()
    assert not Payment.objects.filter(loan=loan).exists()


def test_a_closed_loan_cannot_be_prepaid(client):
    loan = _closed()
    client.force_login(loan.member.user)
    response = _post_prepay(client, loan, amount="30000", mode="lower", confirm="1")
    assert response.status_code == 200
    assert f"Loan {loan.reference} is closed (repaid)." in response.content.decode()
    assert Payment.objects.filter(loan=loan).count() == 1
