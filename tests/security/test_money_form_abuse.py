"""Issue 15, M5 and M6, written as the attacks of the second outside review: one money form
submitted three times, a double-clicked "Pay", two checkouts for one balance and money that
arrives for a loan that is already repaid."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.form_tokens import ALREADY_RECORDED, new_token
from core.models import FormSubmission
from ledger.selectors import loan_balance, member_credit, trial_balance, unbalanced_entries
from loans.models import LoanStatus
from payments import services
from payments.models import Payment, PaymentChannel, PaymentStatus
from simulator.models import SimulatedProviderRecord
from tests.factories import active_loan, make_finance, on_commit, schedule_outstanding
from tests.form_tokens import with_form_token
from tests.races import race


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _manual(loan, token, evidence="RCPT-000123"):
    return (
        reverse("payments:manual_payment", args=[loan.reference]),
        with_form_token(
            {"amount": "5,000", "reason": "Cash paid at the branch", "evidence": evidence},
            token,
        ),
    )


def _sign(body: bytes) -> str:
    return hmac.new(settings.SIMULATED_PROVIDER_SECRET.encode(), body, hashlib.sha512).hexdigest()


def _pay_at_provider(client, payment, event_id):
    """The member completes the provider page; the provider's webhook arrives."""
    SimulatedProviderRecord.objects.filter(reference=payment.reference).update(status="success")
    body = json.dumps(
        {"event": "charge.success", "data": {"id": event_id, "reference": payment.reference}}
    ).encode()
    with on_commit(execute=True):
        response = client.post(
            "/webhooks/simulated",
            data=body,
            content_type="application/json",
            headers={"x-simulated-signature": _sign(body)},
        )
    assert response.status_code == 200


# --- M5: one form, one payment ---------------------------------------------------------


@pytest.mark.django_db
def test_three_posts_of_one_manual_payment_form_record_one_payment(client):
    loan = active_loan()
    client.force_login(make_finance())
    token = new_token()
    responses = [client.post(*_manual(loan, token)) for _ in range(3)]
    assert Payment.objects.filter(loan=loan, channel=PaymentChannel.MANUAL).count() == 1
    staff_loan = reverse("payments:staff_loan", args=[loan.reference])
    # The repeats land on the first result with a message, not on an error page.
    assert all(r.status_code == 302 and r["Location"] == staff_loan for r in responses)
    assert ALREADY_RECORDED in _messages(responses[2])
    assert trial_balance()["balanced"]


@pytest.mark.django_db
def test_one_receipt_reference_pays_once_even_from_two_rendered_forms(client):
    loan = active_loan()
    client.force_login(make_finance())
    client.post(*_manual(loan, new_token(), evidence="RCPT-000123"))
    response = client.post(*_manual(loan, new_token(), evidence=" rcpt-000123 "))
    assert Payment.objects.filter(loan=loan, channel=PaymentChannel.MANUAL).count() == 1
    assert any("already recorded" in m for m in _messages(response))


@pytest.mark.django_db
def test_a_money_post_without_its_form_token_records_nothing(client):
    loan = active_loan()
    client.force_login(make_finance())
    url, data = _manual(loan, new_token())
    del data["form_token"]
    response = client.post(url, data)
    assert response.status_code == 302
    assert not Payment.objects.filter(loan=loan, channel=PaymentChannel.MANUAL).exists()


@pytest.mark.django_db
def test_every_money_form_on_the_back_office_page_carries_a_one_time_token(client):
    loan = active_loan()
    finance = make_finance()
    services.record_manual_payment(
        loan=loan, actor=finance, amount=1_000_00, reason="Cash at the branch"
    )
    client.force_login(finance)
    html = client.get(reverse("payments:staff_loan", args=[loan.reference])).text
    forms = html.count('<form method="post" action="/backoffice/loans/') + html.count(
        '<form method="post" action="/backoffice/payments/'
    )
    money_forms = html.count('name="form_token"')
    assert money_forms >= 2  # manual payment and the payment's reversal
    assert money_forms <= forms
    again = client.get(reverse("payments:staff_loan", args=[loan.reference])).text
    token = html.split('name="form_token" value="')[1].split('"')[0]
    assert token not in again  # unique per rendered form


@pytest.mark.django_db
def test_double_click_on_pay_starts_one_checkout(client):
    loan = active_loan()
    client.force_login(loan.member.user)
    token = new_token()
    url = reverse("payments:pay", args=[loan.reference])
    first = client.post(url, with_form_token({"amount": "23000"}, token))
    second = client.post(url, with_form_token({"amount": "23000"}, token))
    assert Payment.objects.filter(loan=loan, channel=PaymentChannel.CHECKOUT).count() == 1
    assert first.status_code == second.status_code == 302
    assert second["Location"] == first["Location"]  # back to the same provider page


# --- M6: one checkout at a time; late money becomes credit ------------------------------


@pytest.mark.django_db
def test_a_second_checkout_while_one_is_pending_is_refused_with_a_link_to_it(client):
    loan = active_loan()
    client.force_login(loan.member.user)
    url = reverse("payments:pay", args=[loan.reference])
    client.post(url, with_form_token({"amount": "23000"}))
    response = client.post(url, with_form_token({"amount": "23000"}))
    assert Payment.objects.filter(loan=loan, channel=PaymentChannel.CHECKOUT).count() == 1
    assert response.status_code == 200
    assert "You have a payment in progress" in response.text
    pending = Payment.objects.get(loan=loan)
    assert pending.raw_payload["authorization_url"] in response.text
    assert 'name="form_token"' not in response.text  # no second "Pay" form


@pytest.mark.django_db
def test_a_new_checkout_is_allowed_once_the_pending_one_has_expired(client):
    loan = active_loan()
    client.force_login(loan.member.user)
    url = reverse("payments:pay", args=[loan.reference])
    client.post(url, with_form_token({"amount": "23000"}))
    Payment.objects.filter(loan=loan).update(
        created_at=timezone.now() - timedelta(minutes=settings.CHECKOUT_PENDING_MINUTES + 1)
    )
    client.post(url, with_form_token({"amount": "23000"}))
    assert Payment.objects.filter(loan=loan, channel=PaymentChannel.CHECKOUT).count() == 2


@pytest.mark.django_db
def test_money_for_a_closed_loan_becomes_member_credit_and_nothing_stays_pending(client):
    loan = active_loan()
    balance = loan_balance(loan)
    client.force_login(loan.member.user)
    url = reverse("payments:pay", args=[loan.reference])
    amount = f"{balance // 100}.{balance % 100:02d}"
    client.post(url, with_form_token({"amount": amount}))
    first = Payment.objects.get(loan=loan)
    # The member abandons the first page, later starts another for the full balance, then
    # completes both provider pages (the review's "charged twice").
    Payment.objects.filter(pk=first.pk).update(
        created_at=timezone.now() - timedelta(minutes=settings.CHECKOUT_PENDING_MINUTES + 1)
    )
    client.post(url, with_form_token({"amount": amount}))
    second = Payment.objects.exclude(pk=first.pk).get(loan=loan)
    _pay_at_provider(client, first, 9101)
    loan.refresh_from_db()
    assert loan.status == LoanStatus.CLOSED
    _pay_at_provider(client, second, 9102)
    second.refresh_from_db()
    loan.refresh_from_db()
    assert second.status == PaymentStatus.SUCCESSFUL
    assert not Payment.objects.filter(status=PaymentStatus.PENDING).exists()
    # The first settled the loan on its payout day for the ₦60,000 borrowed (no month begun);
    # the rest of it and all of the second are the member's credit.
    assert member_credit(loan.member) == (balance - 60_000_00) + balance
    assert loan_balance(loan) == schedule_outstanding(loan) == 0
    assert trial_balance()["balanced"] and unbalanced_entries() == []
    from payments.models import WebhookEvent

    assert not WebhookEvent.objects.filter(status="flagged").exists()


# --- Races on PostgreSQL ---------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_three_simultaneous_posts_of_one_manual_payment_form_record_one_payment():
    if connection.vendor != "postgresql":
        pytest.skip("the race needs PostgreSQL")
    loan = active_loan()
    finance = make_finance()
    token = new_token()

    def submit(i):
        client = Client()
        client.force_login(finance)
        return client.post(*_manual(loan, token)).status_code

    results, errors = race(3, submit)
    assert errors == [] and results == [302, 302, 302]
    assert Payment.objects.filter(loan=loan, channel=PaymentChannel.MANUAL).count() == 1
    assert FormSubmission.objects.filter(token=token).count() == 1
    assert trial_balance()["balanced"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_checkouts_for_one_balance_start_one():
    if connection.vendor != "postgresql":
        pytest.skip("the race needs PostgreSQL")
    loan = active_loan()
    user = loan.member.user

    def pay(i):
        client = Client()
        client.force_login(user)
        # Two tabs: two rendered forms, two tokens; the loan lock decides.
        return client.post(
            reverse("payments:pay", args=[loan.reference]), with_form_token({"amount": "23000"})
        ).status_code

    results, errors = race(2, pay)
    assert errors == []
    assert sorted(results) == [200, 302]
    assert Payment.objects.filter(loan=loan, channel=PaymentChannel.CHECKOUT).count() == 1
