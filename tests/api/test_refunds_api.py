"""Member credit and refunds in /api/v1/: the same permissions, idempotency and error shape
as the other endpoints, and per-object checks (another member's loan or refund is a 404)."""

import pytest

from ledger.selectors import member_credit
from payments.models import Refund, RefundStatus
from payments.services.refund_transfer import send_refund
from payments.services.refunds import approve_refund, request_credit_refund
from tests.api.conftest import Api, error_code, new_member, token_for
from tests.factories import make_finance, make_officer
from tests.payments.test_refunds import CREDIT, loan_with_credit

pytestmark = pytest.mark.django_db

ROLES = ["owner", "other member", "officer", "finance", "anonymous"]


def caller(role, owner):
    user = {
        "owner": lambda: owner,
        "other member": lambda: new_member().user,
        "officer": make_officer,
        "finance": make_finance,
        "anonymous": lambda: None,
    }[role]()
    return Api(token_for(user) if user else None)


@pytest.mark.parametrize(
    ("role", "status"),
    list(zip(ROLES, [200, 404, 200, 200, 401], strict=True)),
)
def test_credit_balance_answers_each_role(role, status):
    loan = loan_with_credit()
    response = caller(role, loan.member.user).get(f"/loans/{loan.reference}/credit")
    assert response.status_code == status, response.content
    if status == 200:
        assert response.json() == {
            "loan": loan.reference,
            "credit": "5000.00",
            "reserved": "0.00",
            "requested": "0.00",
            "refundable": "5000.00",
        }
    else:
        error_code(response)


def test_member_asks_for_a_refund_once_per_idempotency_key():
    loan = loan_with_credit()
    api = Api(token_for(loan.member.user))
    body = {"loan": loan.reference, "amount": "1500.00", "reason": "Back to my account"}
    first = api.post("/refunds", body, headers={"Idempotency-Key": "refund-1"})
    again = api.post("/refunds", body, headers={"Idempotency-Key": "refund-1"})

    assert first.status_code == 201, first.content
    data = first.json()
    assert (data["amount"], data["status"], data["source"], data["loan"]) == (
        "1500.00",
        RefundStatus.REQUESTED,
        "credit",
        loan.reference,
    )
    assert again.status_code == 201 and again.json() == data
    assert again["Idempotent-Replayed"] == "true"
    assert Refund.objects.count() == 1
    credit = api.get(f"/loans/{loan.reference}/credit").json()
    assert (credit["requested"], credit["refundable"]) == ("1500.00", "3500.00")

    status = api.get(f"/refunds/{data['reference']}")
    assert status.status_code == 200 and status.json()["status"] == RefundStatus.REQUESTED


def test_refund_post_needs_an_idempotency_key():
    loan = loan_with_credit()
    response = Api(token_for(loan.member.user)).post(
        "/refunds", {"loan": loan.reference, "amount": "10.00"}
    )
    assert response.status_code == 400
    assert error_code(response) == "idempotency_key_required"
    assert Refund.objects.count() == 0


@pytest.mark.parametrize(
    ("amount", "status", "code"),
    [
        ("5000.01", 409, "conflict"),
        ("0.00", 400, "invalid"),
        ("-5.00", 422, "validation_error"),
        ("ten naira", 422, "validation_error"),
        ("1.005", 422, "validation_error"),
    ],
)
def test_bad_amounts_are_refused_with_the_error_shape(amount, status, code):
    loan = loan_with_credit()
    response = Api(token_for(loan.member.user)).post(
        "/refunds",
        {"loan": loan.reference, "amount": amount},
        headers={"Idempotency-Key": f"bad-{amount}"},
    )
    assert response.status_code == status, response.content
    assert error_code(response) == code
    assert Refund.objects.count() == 0


def test_unknown_fields_are_refused():
    loan = loan_with_credit()
    response = Api(token_for(loan.member.user)).post(
        "/refunds",
        {"loan": loan.reference, "amount": "10.00", "account_number": "0000000000"},
        headers={"Idempotency-Key": "extra"},
    )
    assert response.status_code == 422
    assert error_code(response) == "validation_error"


@pytest.mark.parametrize(
    ("role", "status"),
    list(zip(ROLES, [201, 404, 403, 201, 401], strict=True)),
)
def test_refund_request_answers_each_role_and_a_refusal_changes_nothing(role, status):
    loan = loan_with_credit()
    response = caller(role, loan.member.user).post(
        "/refunds",
        {"loan": loan.reference, "amount": "100.00"},
        headers={"Idempotency-Key": "roles"},
    )
    assert response.status_code == status, response.content
    if status >= 400:
        error_code(response)
        assert Refund.objects.count() == 0
    else:
        assert Refund.objects.get().member == loan.member


def test_read_only_token_cannot_ask_for_a_refund():
    loan = loan_with_credit()
    api = Api(token_for(loan.member.user, scope="read"))
    response = api.post(
        "/refunds", {"loan": loan.reference, "amount": "10.00"}, headers={"Idempotency-Key": "ro"}
    )
    assert response.status_code == 403
    assert Refund.objects.count() == 0


@pytest.mark.parametrize(
    ("role", "status"),
    list(zip(ROLES, [200, 404, 404, 200, 401], strict=True)),
)
def test_refund_status_is_the_owners_and_finances_only(role, status):
    loan = loan_with_credit()
    refund = request_credit_refund(member=loan.member, actor=loan.member.user, amount=CREDIT)
    response = caller(role, loan.member.user).get(f"/refunds/{refund.reference}")
    assert response.status_code == status, response.content
    if status >= 400:
        error_code(response)


def test_refund_status_follows_the_transfer():
    loan = loan_with_credit()
    refund = request_credit_refund(member=loan.member, actor=loan.member.user, amount=CREDIT)
    approve_refund(refund=refund, actor=make_finance())
    send_refund(refund_id=refund.pk)
    api = Api(token_for(loan.member.user))
    data = api.get(f"/refunds/{refund.reference}").json()
    assert data["status"] == RefundStatus.SUCCEEDED and data["completed_at"]
    assert api.get(f"/loans/{loan.reference}/credit").json()["credit"] == "0.00"
    assert member_credit(loan.member) == 0


def test_unknown_refund_is_a_404_with_the_error_shape():
    loan = loan_with_credit()
    response = Api(token_for(loan.member.user)).get("/refunds/RFD-NOSUCH")
    assert response.status_code == 404
    assert error_code(response) == "not_found"
