"""Every object endpoint × {owner, other member, officer, finance, anonymous}.

Another member's object is a 404 (its existence is not revealed); a staff action without
the permission is a 403; nothing changes on any refusal."""

import pytest

from loans.models import Application, Loan
from payments.models import Payment
from tests.api.conftest import Api, draft, in_review, new_member, token_for
from tests.factories import active_loan, make_finance, make_officer

pytestmark = pytest.mark.django_db

ROLES = ["owner", "other member", "officer", "finance", "anonymous"]


def _caller(role, owner_user):
    user = {
        "owner": lambda: owner_user,
        "other member": lambda: new_member().user,
        "officer": make_officer,
        "finance": make_finance,
        "anonymous": lambda: None,
    }[role]()
    return Api(token_for(user) if user else None)


def _application_state(application):
    application = Application.objects.get(pk=application.pk)
    return application.status, application.approvals.count(), application.updated_at


def _loan_state(loan):
    return Payment.objects.filter(loan=loan).count(), Loan.objects.get(pk=loan.pk).status


CASES = {
    # endpoint: (build, request, snapshot, {role: expected status})
    "GET /applications/{ref}": (
        draft,
        lambda api, a: api.get(f"/applications/{a.reference}"),
        _application_state,
        dict(zip(ROLES, [200, 404, 200, 200, 401], strict=True)),
    ),
    "POST /applications/{ref}/submit": (
        draft,
        lambda api, a: api.post(
            f"/applications/{a.reference}/submit",
            {"consent": True, "key_facts_hash": a.key_facts_hash},
        ),
        _application_state,
        dict(zip(ROLES, [200, 404, 403, 403, 401], strict=True)),
    ),
    "POST /applications/{ref}/cancel": (
        in_review,
        lambda api, a: api.post(f"/applications/{a.reference}/cancel"),
        _application_state,
        dict(zip(ROLES, [200, 404, 403, 403, 401], strict=True)),
    ),
    "POST /applications/{ref}/approve": (
        in_review,
        lambda api, a: api.post(f"/applications/{a.reference}/approve", {}),
        _application_state,
        dict(zip(ROLES, [403, 404, 200, 403, 401], strict=True)),
    ),
    "POST /applications/{ref}/reject": (
        in_review,
        lambda api, a: api.post(
            f"/applications/{a.reference}/reject", {"reason": "Not enough income shown."}
        ),
        _application_state,
        dict(zip(ROLES, [403, 404, 200, 403, 401], strict=True)),
    ),
    "GET /loans/{ref}": (
        active_loan,
        lambda api, ln: api.get(f"/loans/{ln.reference}"),
        _loan_state,
        dict(zip(ROLES, [200, 404, 200, 200, 401], strict=True)),
    ),
    "POST /payments (loan)": (
        active_loan,
        lambda api, ln: api.post(
            "/payments",
            {"loan": ln.reference, "amount": "1000.00", "reason": "Cash at branch"},
            headers={"Idempotency-Key": "idor"},
        ),
        _loan_state,
        dict(zip(ROLES, [403, 403, 403, 201, 401], strict=True)),
    ),
}


def _owner_user(obj):
    return obj.member.user


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", list(CASES))
def test_object_endpoint_answers_each_role(endpoint, role):
    build, call, snapshot, expected = CASES[endpoint]
    obj = build()
    before = snapshot(obj)
    response = call(_caller(role, _owner_user(obj)), obj)
    assert response.status_code == expected[role], response.content
    if response.status_code >= 400:
        assert set(response.json()) == {"error"}
        assert snapshot(obj) == before, "a refused request changed something"


def _loan_with_a_payment():
    loan = active_loan()
    Payment.objects.create(
        reference="PAY-IDOR-1",
        provider="manual",
        channel="manual",
        loan=loan,
        member=loan.member,
        amount=1000,
        status="successful",
    )
    return loan


@pytest.mark.parametrize("role", ROLES)
def test_payment_list_shows_only_what_the_role_may_see(role):
    loan = _loan_with_a_payment()
    response = _caller(role, loan.member.user).get(f"/payments?loan={loan.reference}")
    expected = {"owner": 1, "other member": 0, "officer": 1, "finance": 1}
    if role == "anonymous":
        assert response.status_code == 401
    else:
        assert response.status_code == 200
        assert len(response.json()["items"]) == expected[role]


@pytest.mark.parametrize("path", ["/applications", "/loans", "/payments"])
def test_lists_of_another_member_are_empty(path):
    loan = _loan_with_a_payment()
    other = Api(token_for(new_member().user))
    assert other.get(path).json()["items"] == []
    owner = Api(token_for(loan.member.user))
    assert len(owner.get(path).json()["items"]) == 1
