"""Servicing in /api/v1/: settlement quote, prepayment (preview and confirm), settlement and use
of credit, with the permissions, idempotency and error shape of the rest of the API.

Expected figures come from the services the web pages use (``settlement.quote``,
``credit.preview_prepayment``) — the API must show and post exactly what they give — except
where a figure is plain arithmetic on the test's own numbers (a credit, a payment)."""

import json
from datetime import date, timedelta

import pytest

from core.clock import lagos_today
from core.money import api_amount
from ledger import chart
from ledger.models import EntryKind
from ledger.posting import credit, debit, post_entry
from ledger.selectors import member_credit
from loans import lifecycle
from loans.models import Loan, LoanStatus
from loans.versions import ScheduleVersion
from payments.models import Payment, PaymentChannel, PaymentStatus
from payments.services import checkout, settlement
from payments.services import credit as credit_services
from simulator.models import SimulatedProviderRecord
from tests.api.conftest import Api, error_code, new_member, token_for
from tests.factories import active_loan, approved_loan, make_finance, make_officer
from tests.payments.reconciliation.test_postgres import committed_db  # noqa: F401
from tests.payments.test_refunds import loan_with_credit
from tests.payments.test_settlement import at, pay
from tests.payments.test_settlement import reducing_loan as reducing_loan  # noqa: F401
from tests.payments.test_settlement import (  # noqa: F401
    reducing_loan_after_month_one as reducing_loan_after_month_one,
)

pytestmark = pytest.mark.django_db

ROLES = ["owner", "other member", "officer", "finance", "anonymous"]
MARCH_14 = date(2027, 3, 14)
# Reading a loan: the owner and staff who may view loans; another member gets a 404.
VIEW = [200, 404, 200, 200, 401]


def caller(role, owner) -> Api:
    user = {
        "owner": lambda: owner,
        "other member": lambda: new_member().user,
        "officer": make_officer,
        "finance": make_finance,
        "anonymous": lambda: None,
    }[role]()
    return Api(token_for(user) if user else None)


def key(value: str) -> dict:
    return {"Idempotency-Key": value}


def written(loan) -> tuple:
    """Everything a servicing call could write for the loan."""
    loan = Loan.objects.get(pk=loan.pk)
    return (
        loan.status,
        loan.schedule_version,
        Payment.objects.filter(loan=loan).count(),
        ScheduleVersion.objects.filter(loan=loan).count(),
        member_credit(loan.member),
        [(i.number, i.principal, i.interest, i.total_paid) for i in loan.installments.all()],
    )


def expected_quote(loan, on: date) -> dict:
    quote = settlement.quote(loan, on=on)
    f = quote.figures
    return {
        "loan": loan.reference,
        "on": on.isoformat(),
        "valid_until": on.isoformat(),
        "principal": api_amount(f.principal),
        "interest": api_amount(f.interest),
        "fees": api_amount(f.fees),
        "late_fees": api_amount(f.late_fees),
        "interest_given_back": api_amount(f.refund),
        "credit": api_amount(f.credit),
        "rebate": api_amount(f.rebate),
        "total": api_amount(quote.amount),
    }


def expected_plan(plan, loan, paid_from: str) -> dict:
    return {
        "loan": loan.reference,
        "amount": api_amount(plan.amount),
        "choice": str(plan.mode),
        "paid_from": paid_from,
        "due_now": api_amount(plan.due_now),
        "prepaid": api_amount(plan.prepaid),
        "installments_before": len(plan.old),
        "installments_after": len(plan.new),
        "total_before": api_amount(plan.old_total),
        "total_after": api_amount(plan.new_total),
        "interest_saved": api_amount(plan.interest_saved),
        "installments": [
            {
                "due_date": i.due_date.isoformat(),
                "principal": api_amount(i.principal),
                "interest": api_amount(i.interest),
                "total": api_amount(i.total),
            }
            for i in plan.new
        ],
    }


# --- Settlement quote -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"), list(zip(ROLES, [200, 404, 200, 200, 401], strict=True))
)
def test_settlement_quote_answers_each_role(role, status):
    loan = active_loan()
    response = caller(role, loan.member.user).get(f"/loans/{loan.reference}/settlement-quote")
    assert response.status_code == status, response.content
    if status == 200:
        assert response.json() == expected_quote(loan, lagos_today())
    else:
        error_code(response)


def test_quote_for_a_later_day_is_the_services_figure_with_interest_to_that_day(
    reducing_loan_after_month_one,
):
    """On 14 March, a quote for 24 March carries ten more days of interest than today's."""
    loan = reducing_loan_after_month_one
    api = Api(token_for(loan.member.user))
    with at(MARCH_14):
        today = api.get(f"/loans/{loan.reference}/settlement-quote").json()
        later = api.get(f"/loans/{loan.reference}/settlement-quote?date=2027-03-24")
        assert later.status_code == 200, later.content
        assert later.json() == expected_quote(loan, date(2027, 3, 24))
    assert today["on"] == "2027-03-14" and later.json()["valid_until"] == "2027-03-24"
    assert float(later.json()["interest"]) > float(today["interest"]) > 0
    assert later.json()["principal"] == today["principal"]


@pytest.mark.parametrize(
    ("when", "status", "code"),
    [
        ("yesterday", 400, "invalid_date"),
        ("31 days", 400, "invalid_date"),
        ("2027-02-30", 422, "validation_error"),
        ("tomorrow", 422, "validation_error"),
    ],
)
def test_quote_for_a_past_day_or_too_far_ahead_is_refused(when, status, code):
    loan = active_loan()
    today = lagos_today()
    value = {
        "yesterday": (today - timedelta(days=1)).isoformat(),
        "31 days": (today + timedelta(days=31)).isoformat(),
    }.get(when, when)
    response = Api(token_for(loan.member.user)).get(
        f"/loans/{loan.reference}/settlement-quote?date={value}"
    )
    assert response.status_code == status, response.content
    assert error_code(response) == code
    assert "date" in response.json()["error"]["fields"]


def test_quote_thirty_days_ahead_is_the_last_day_allowed():
    loan = active_loan()
    on = lagos_today() + timedelta(days=30)
    response = Api(token_for(loan.member.user)).get(
        f"/loans/{loan.reference}/settlement-quote?date={on.isoformat()}"
    )
    assert response.status_code == 200, response.content
    assert response.json() == expected_quote(loan, on)


def pending_loan():
    return approved_loan()


def cancelled_loan():
    loan = approved_loan()
    lifecycle.cancel(loan, actor=None)
    return loan


NOT_RUNNING = {"pending": pending_loan, "closed": loan_with_credit, "cancelled": cancelled_loan}


@pytest.mark.parametrize("state", sorted(NOT_RUNNING))
def test_a_loan_that_is_not_running_has_no_quote_and_cannot_be_settled(state):
    loan = NOT_RUNNING[state]()
    assert loan.status in (LoanStatus.PENDING_DISBURSEMENT, LoanStatus.CLOSED, LoanStatus.CANCELLED)
    api = Api(token_for(loan.member.user))
    before = written(loan)

    quote = api.get(f"/loans/{loan.reference}/settlement-quote")
    settle = api.post(f"/loans/{loan.reference}/settlement", headers=key(f"settle-{state}"))

    for response in (quote, settle):
        assert response.status_code == 409, response.content
        assert error_code(response) == "conflict"
        assert "nothing to settle" in response.json()["error"]["message"]
    assert written(loan) == before


# --- Settlement -----------------------------------------------------------------------------


def test_member_settles_through_the_checkout_once_per_key():
    loan = active_loan()
    api = Api(token_for(loan.member.user))
    figure = settlement.quote(loan).amount

    first = api.post(f"/loans/{loan.reference}/settlement", headers=key("settle-1"))
    again = api.post(f"/loans/{loan.reference}/settlement", headers=key("settle-1"))

    assert first.status_code == 201, first.content
    body = first.json()
    payment = Payment.objects.get(loan=loan)
    assert (payment.status, payment.amount, payment.intent) == (
        PaymentStatus.PENDING,
        figure,
        "settle",
    )
    assert body == {
        "loan": loan.reference,
        "loan_status": LoanStatus.ACTIVE,
        "paid_from": "checkout",
        "amount": api_amount(figure),
        "payment": None,
        "checkout": {
            "payment": payment.reference,
            "amount": api_amount(figure),
            "checkout_url": payment.raw_payload["authorization_url"],
        },
    }
    assert again.status_code == 201 and again.json() == body
    assert again["Idempotent-Replayed"] == "true"
    assert Payment.objects.filter(loan=loan).count() == 1

    # A new key while that checkout waits: refused, not a second charge.
    second = api.post(f"/loans/{loan.reference}/settlement", headers=key("settle-2"))
    assert second.status_code == 409 and error_code(second) == "conflict"
    assert Payment.objects.filter(loan=loan).count() == 1


def _credit_covering_the_figure(loan):
    """On 14 March the member pays installment 2 and ₦60,000 more (not enough to settle, so
    the loan stays active and the ₦60,000 is credit), then ₦10,000 more credit arrives (a
    finance adjustment here): the credit now covers today's figure."""
    second = loan.installments.get(number=2)
    pay(loan, second.total_due + 60_000_00, "BIG")
    dims = {"loan_id": loan.pk, "member_id": loan.member_id}
    post_entry(
        kind=EntryKind.ADJUSTMENT,
        lines=[
            debit(chart.CASH_BANK, 10_000_00, **dims),
            credit(chart.MEMBER_CREDIT, 10_000_00, **dims),
        ],
        effective_date=MARCH_14,
        idempotency_key=f"adjustment:api-credit-{loan.pk}",
    )
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ACTIVE
    assert member_credit(loan.member) == 70_000_00
    assert settlement.quote(loan).amount == 0


@pytest.mark.parametrize("role", ["owner", "finance"])
def test_credit_that_covers_the_figure_settles_the_loan(reducing_loan_after_month_one, role):
    loan = reducing_loan_after_month_one
    api = caller(role, loan.member.user)
    with at(MARCH_14):
        _credit_covering_the_figure(loan)
        figures = settlement.quote(loan).figures
        credit_before = member_credit(loan.member)
        response = api.post(f"/loans/{loan.reference}/settlement", headers=key("settle-credit"))
        again = api.post(f"/loans/{loan.reference}/settlement", headers=key("settle-credit"))

    assert response.status_code == 201, response.content
    used = Payment.objects.get(loan=loan, channel=PaymentChannel.CREDIT)
    # The interest given back joins the credit first; the credit then pays what is owed.
    assert used.amount == figures.gross
    assert response.json() == {
        "loan": loan.reference,
        "loan_status": LoanStatus.CLOSED,
        "paid_from": "credit",
        "amount": api_amount(figures.gross),
        "payment": used.reference,
        "checkout": None,
    }
    assert again.json() == response.json() and again["Idempotent-Replayed"] == "true"
    loan.refresh_from_db()
    assert loan.status == LoanStatus.CLOSED
    # What the figure did not need, and the interest given back, stay the member's.
    assert member_credit(loan.member) == credit_before + figures.refund - figures.gross > 0


def test_finance_cannot_open_a_checkout_for_the_member():
    loan = active_loan()
    before = written(loan)
    response = caller("finance", loan.member.user).post(
        f"/loans/{loan.reference}/settlement", headers=key("finance-settle")
    )
    assert response.status_code == 409, response.content
    assert error_code(response) == "not_enough_credit"
    assert "through the checkout" in response.json()["error"]["message"]
    assert written(loan) == before


@pytest.mark.parametrize(
    ("role", "status", "code"),
    [
        ("other member", 404, "not_found"),
        ("officer", 403, "forbidden"),
        ("anonymous", 401, "not_authenticated"),
    ],
)
@pytest.mark.parametrize("endpoint", ["settlement", "prepayments", "credit/use"])
def test_money_posts_are_refused_to_who_may_not_pay(endpoint, role, status, code):
    loan = active_loan()
    before = written(loan)
    body = {"amount": "30000.00", "choice": "lower"} if endpoint == "prepayments" else None
    response = caller(role, loan.member.user).post(
        f"/loans/{loan.reference}/{endpoint}", body, headers=key(f"{endpoint}-{role}")
    )
    assert response.status_code == status, response.content
    assert error_code(response) == code
    assert written(loan) == before


@pytest.mark.parametrize("endpoint", ["settlement", "prepayments", "credit/use"])
def test_money_posts_need_an_idempotency_key(endpoint):
    loan = active_loan()
    before = written(loan)
    body = {"amount": "30000.00", "choice": "lower"} if endpoint == "prepayments" else None
    response = Api(token_for(loan.member.user)).post(f"/loans/{loan.reference}/{endpoint}", body)
    assert response.status_code == 400
    assert error_code(response) == "idempotency_key_required"
    assert written(loan) == before


def test_read_only_token_cannot_pay():
    loan = active_loan()
    response = Api(token_for(loan.member.user, scope="read")).post(
        f"/loans/{loan.reference}/settlement", headers=key("read-only")
    )
    assert response.status_code == 403 and error_code(response) == "insufficient_scope"
    assert not Payment.objects.filter(loan=loan).exists()


def test_a_key_used_on_another_endpoint_is_refused():
    loan = active_loan()
    api = Api(token_for(loan.member.user))
    assert api.post(f"/loans/{loan.reference}/settlement", headers=key("k")).status_code == 201
    before = written(loan)
    response = api.post(f"/loans/{loan.reference}/credit/use", headers=key("k"))
    assert response.status_code == 422 and error_code(response) == "idempotency_key_reused"
    assert written(loan) == before


# --- Prepayment -----------------------------------------------------------------------------


def _credit_of(loan, amount=40_000_00):
    """On 14 March the member pays installment 2 and ``amount`` more, which becomes credit."""
    second = loan.installments.get(number=2)
    pay(loan, second.total_due + amount, "PP")
    assert member_credit(loan.member) == amount


@pytest.mark.parametrize(
    ("role", "status"), list(zip(ROLES, [200, 404, 200, 200, 401], strict=True))
)
def test_prepayment_preview_shows_the_services_plan_and_writes_nothing(
    reducing_loan_after_month_one, role, status
):
    loan = reducing_loan_after_month_one
    api = caller(role, loan.member.user)
    body = {"amount": "59701.75", "choice": "lower"}
    with at(MARCH_14):
        before = written(loan)
        response = api.post(f"/loans/{loan.reference}/prepayments/preview", body)
        assert response.status_code == status, response.content
        if status == 200:
            plan = credit_services.preview_prepayment(loan=loan, amount=59_701_75, mode="lower")
            assert response.json() == expected_plan(plan, loan, "checkout")
            # Installment 2 (due now) first, the other ₦40,000 off the principal.
            assert plan.due_now == loan.installments.get(number=2).outstanding
            assert plan.prepaid == 59_701_75 - plan.due_now
        else:
            error_code(response)
        assert written(loan) == before


@pytest.mark.parametrize("choice", ["lower", "shorter"])
def test_member_prepays_from_credit_and_the_loan_gets_the_previewed_schedule(
    reducing_loan_after_month_one, choice
):
    loan = reducing_loan_after_month_one
    api = Api(token_for(loan.member.user))
    body = {"amount": "40000.00", "choice": choice}
    with at(MARCH_14):
        _credit_of(loan)
        preview = api.post(f"/loans/{loan.reference}/prepayments/preview", body)
        plan = credit_services.preview_prepayment(loan=loan, amount=40_000_00, mode=choice)
        response = api.post(f"/loans/{loan.reference}/prepayments", body, headers=key("pp-1"))
        again = api.post(f"/loans/{loan.reference}/prepayments", body, headers=key("pp-1"))

    assert preview.status_code == 200, preview.content
    assert preview.json() == expected_plan(plan, loan, "credit")
    assert response.status_code == 201, response.content
    assert response.json() == {
        "loan": loan.reference,
        "paid_from": "credit",
        "plan": preview.json(),
        "checkout": None,
    }
    assert again.json() == response.json() and again["Idempotent-Replayed"] == "true"
    rows = [
        {
            "due_date": i.due_date.isoformat(),
            "principal": api_amount(i.principal),
            "interest": api_amount(i.interest),
            "total": api_amount(i.principal + i.interest),
        }
        for i in loan.installments.all()[2:]
    ]
    assert rows == preview.json()["installments"]
    loan.refresh_from_db()
    assert loan.schedule_version == 2 and loan.versions.count() == 1
    assert member_credit(loan.member) == 0


def test_same_key_with_another_body_is_refused_and_writes_nothing(reducing_loan_after_month_one):
    loan = reducing_loan_after_month_one
    api = Api(token_for(loan.member.user))
    with at(MARCH_14):
        _credit_of(loan)
        first = api.post(
            f"/loans/{loan.reference}/prepayments/preview",
            {"amount": "20000.00", "choice": "lower"},
        )
        assert first.status_code == 200
        done = api.post(
            f"/loans/{loan.reference}/prepayments",
            {"amount": "20000.00", "choice": "lower"},
            headers=key("pp-same"),
        )
        assert done.status_code == 201, done.content
        before = written(loan)
        other = api.post(
            f"/loans/{loan.reference}/prepayments",
            {"amount": "20000.00", "choice": "shorter"},
            headers=key("pp-same"),
        )
    assert other.status_code == 422 and error_code(other) == "idempotency_key_reused"
    assert written(loan) == before


def test_member_without_enough_credit_prepays_through_the_checkout(reducing_loan_after_month_one):
    """No credit: the checkout asks for the whole amount; when the money arrives it pays
    installment 2 and the rest is prepaid as chosen — the schedule the API previewed."""
    loan = reducing_loan_after_month_one
    api = Api(token_for(loan.member.user))
    body = {"amount": "59701.75", "choice": "shorter"}
    with at(MARCH_14):
        plan = credit_services.preview_prepayment(loan=loan, amount=59_701_75, mode="shorter")
        response = api.post(f"/loans/{loan.reference}/prepayments", body, headers=key("pp-co"))
        assert response.status_code == 201, response.content
        payment = Payment.objects.get(loan=loan, channel=PaymentChannel.CHECKOUT)
        assert response.json() == {
            "loan": loan.reference,
            "paid_from": "checkout",
            "plan": expected_plan(plan, loan, "checkout"),
            "checkout": {
                "payment": payment.reference,
                "amount": "59701.75",
                "checkout_url": payment.raw_payload["authorization_url"],
            },
        }
        assert (payment.amount, payment.intent, payment.status) == (
            59_701_75,
            "prepay_shorter",
            PaymentStatus.PENDING,
        )
        assert loan.versions.count() == 0  # nothing changes before the money arrives

        SimulatedProviderRecord.objects.filter(reference=payment.reference).update(status="success")
        checkout.confirm_checkout(reference=payment.reference)

    assert [(i.due_date, i.principal, i.interest) for i in loan.installments.all()[2:]] == [
        (i.due_date, i.principal, i.interest) for i in plan.new
    ]
    assert loan.versions.count() == 1
    assert member_credit(loan.member) == 0


def test_finance_prepays_only_from_the_members_credit(reducing_loan_after_month_one):
    loan = reducing_loan_after_month_one
    api = caller("finance", loan.member.user)
    with at(MARCH_14):
        _credit_of(loan, 20_000_00)
        before = written(loan)
        too_much = api.post(
            f"/loans/{loan.reference}/prepayments",
            {"amount": "25000.00", "choice": "lower"},
            headers=key("fin-1"),
        )
        assert too_much.status_code == 409, too_much.content
        assert error_code(too_much) == "not_enough_credit"
        assert written(loan) == before
        done = api.post(
            f"/loans/{loan.reference}/prepayments",
            {"amount": "20000.00", "choice": "lower"},
            headers=key("fin-2"),
        )
    assert done.status_code == 201, done.content
    assert done.json()["paid_from"] == "credit"
    assert loan.versions.count() == 1
    assert member_credit(loan.member) == 0


@pytest.mark.parametrize(
    ("amount", "status", "code"),
    [
        ("19701.75", 400, "invalid"),  # exactly what is due now: nothing to prepay
        ("100.00", 400, "invalid"),  # less than what is due
        ("0.00", 400, "invalid"),
        ("95000.00", 400, "invalid"),  # pays everything: a settlement quote costs less
        ("-5.00", 422, "validation_error"),
        ("1.005", 422, "validation_error"),
        ("ten thousand", 422, "validation_error"),
        ("1000000000.00", 422, "validation_error"),
        (40000, 422, "validation_error"),  # a JSON number, not a naira string
    ],
)
@pytest.mark.parametrize("endpoint", ["prepayments/preview", "prepayments"])
def test_bad_prepayment_amounts_are_refused_and_nothing_is_written(
    reducing_loan_after_month_one, endpoint, amount, status, code
):
    loan = reducing_loan_after_month_one
    api = Api(token_for(loan.member.user))
    with at(MARCH_14):
        before = written(loan)
        response = api.post(
            f"/loans/{loan.reference}/{endpoint}",
            {"amount": amount, "choice": "lower"},
            headers=key(f"bad-{amount}"),
        )
        assert written(loan) == before
    assert response.status_code == status, response.content
    assert error_code(response) == code
    assert "amount" in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    "body",
    [
        {"amount": "40000.00", "choice": "sideways"},
        {"amount": "40000.00"},
        {"amount": "40000.00", "choice": "lower", "installments": 2},
        {"choice": "lower"},
    ],
)
def test_bad_prepayment_bodies_are_refused(body):
    loan = active_loan()
    before = written(loan)
    api = Api(token_for(loan.member.user))
    for endpoint in ("prepayments/preview", "prepayments"):
        response = api.post(f"/loans/{loan.reference}/{endpoint}", body, headers=key("b"))
        assert response.status_code == 422, response.content
        assert error_code(response) == "validation_error"
    assert written(loan) == before


def test_prepayment_of_a_loan_that_is_not_running_is_refused():
    loan = loan_with_credit()
    before = written(loan)
    response = Api(token_for(loan.member.user)).post(
        f"/loans/{loan.reference}/prepayments/preview", {"amount": "100.00", "choice": "lower"}
    )
    assert response.status_code == 409 and error_code(response) == "conflict"
    assert written(loan) == before


# --- Use of credit --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "finance"])
def test_credit_pays_what_is_due_now_once_per_key(reducing_loan, role):
    """₦30,000 on the payout day pays installment 1 (₦19,797.64, its interest for 31 days
    ₦5,095.89); ₦10,202.36 is credit. On 1 March installment 2 is due next: the credit goes to
    it, all of it."""
    loan = reducing_loan
    with at(date(2027, 1, 28)):
        pay(loan, 30_000_00, "C1")
    assert member_credit(loan.member) == 10_202_36
    api = caller(role, loan.member.user)
    with at(date(2027, 3, 1)):
        first = api.post(f"/loans/{loan.reference}/credit/use", headers=key("use-1"))
        again = api.post(f"/loans/{loan.reference}/credit/use", headers=key("use-1"))
        nothing_left = api.post(f"/loans/{loan.reference}/credit/use", headers=key("use-2"))

    assert first.status_code == 201, first.content
    used = Payment.objects.get(loan=loan, channel=PaymentChannel.CREDIT)
    assert first.json() == {
        "loan": loan.reference,
        "payment": used.reference,
        "amount": "10202.36",
        "credit_left": "0.00",
    }
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert loan.installments.get(number=2).total_paid == 10_202_36
    assert nothing_left.status_code == 409 and error_code(nothing_left) == "conflict"
    assert "no credit" in nothing_left.json()["error"]["message"]
    assert Payment.objects.filter(loan=loan, channel=PaymentChannel.CREDIT).count() == 1


# --- Provider down, odd references ------------------------------------------------------------


def test_provider_down_keeps_nothing_so_a_retry_with_the_same_key_runs_again(monkeypatch):
    from payments.providers import get_provider
    from payments.providers.base import ProviderError

    loan = active_loan()
    api = Api(token_for(loan.member.user))
    provider = type(get_provider())

    def down(self, **kwargs):
        raise ProviderError("timed out")

    with monkeypatch.context() as patched:
        patched.setattr(provider, "initialize_checkout", down)
        failed = api.post(f"/loans/{loan.reference}/settlement", headers=key("retry-me"))
    assert failed.status_code == 503, failed.content
    assert error_code(failed) == "provider_unavailable"
    assert not Payment.objects.filter(loan=loan).exists()

    retried = api.post(f"/loans/{loan.reference}/settlement", headers=key("retry-me"))
    assert retried.status_code == 201, retried.content
    assert "Idempotent-Replayed" not in retried
    assert Payment.objects.filter(loan=loan).count() == 1


@pytest.mark.parametrize(
    ("reference", "status", "code"),
    [
        ("LN%00X", 400, "bad_request"),  # a NUL byte is refused before the API sees it
        ("LN%20X", 422, "validation_error"),
        ("x" * 21, 422, "validation_error"),
    ],
)
def test_a_malformed_loan_reference_is_a_clear_error_never_a_500(reference, status, code):
    loan = active_loan()
    response = Api(token_for(loan.member.user)).get(f"/loans/{reference}/settlement-quote")
    assert response.status_code == status, response.content
    assert error_code(response) == code


# --- At once, on PostgreSQL -----------------------------------------------------------------


@pytest.mark.postgres
def test_settling_from_credit_at_once_with_two_keys_settles_once(committed_db):  # noqa: F811
    """Six requests at once, three with each of two keys: one key settles the loan (its three
    answers are the same), the other is told there is nothing to settle; one credit payment."""
    from ledger.selectors import trial_balance, unbalanced_entries
    from tests.factories import schedule_outstanding
    from tests.races import race

    loan = active_loan()
    dims = {"loan_id": loan.pk, "member_id": loan.member_id}
    extra = schedule_outstanding(loan) + 1_000_00
    post_entry(
        kind=EntryKind.ADJUSTMENT,
        lines=[debit(chart.CASH_BANK, extra, **dims), credit(chart.MEMBER_CREDIT, extra, **dims)],
        effective_date=lagos_today(),
        idempotency_key=f"adjustment:api-race-{loan.pk}",
    )
    raw = token_for(loan.member.user)
    keys = ["race-a", "race-b"] * 3

    def settle(i):
        response = Api(raw).post(f"/loans/{loan.reference}/settlement", headers=key(keys[i]))
        return keys[i], response.status_code, response.json()

    results, errors = race(6, settle)

    assert errors == []
    # The same answer per key (a replay comes from jsonb: compare with sorted keys).
    by_key = {
        k: {(status, json.dumps(body, sort_keys=True)) for kk, status, body in results if kk == k}
        for k in keys
    }
    assert all(len(answers) == 1 for answers in by_key.values()), by_key
    statuses = sorted(next(iter(answers))[0] for answers in by_key.values())
    assert statuses == [201, 409]
    loan.refresh_from_db()
    assert loan.status == LoanStatus.CLOSED
    assert Payment.objects.filter(loan=loan, channel=PaymentChannel.CREDIT).count() == 1
    assert trial_balance()["balanced"] and unbalanced_entries() == []
