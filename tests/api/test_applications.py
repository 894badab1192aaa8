"""Applications, loans and payments through the API reuse the same services and rules."""

from datetime import timedelta

import pytest
from django.test import TestCase
from django.utils import timezone

from core.models import AuditEvent
from loans.models import Application, ApplicationStatus, LoanStatus
from tests.api.conftest import Api, draft, error_code, in_review, new_member, token_for
from tests.factories import active_loan, product

pytestmark = pytest.mark.django_db


def test_member_applies_submits_and_cancels_through_the_api(member_api):
    prod = product()
    created = member_api.post(
        "/applications", {"product": prod.pk, "amount": "60000.00", "tenure_months": 3}
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "draft"
    ref = body["reference"]

    wrong = member_api.post(
        f"/applications/{ref}/submit", {"consent": True, "key_facts_hash": "0" * 64}
    )
    assert wrong.status_code == 409  # terms not the ones shown
    no_consent = member_api.post(
        f"/applications/{ref}/submit", {"consent": False, "key_facts_hash": body["key_facts_hash"]}
    )
    assert no_consent.status_code == 400
    assert "consent" in no_consent.json()["error"]["fields"]

    with TestCase.captureOnCommitCallbacks(execute=True):
        submitted = member_api.post(
            f"/applications/{ref}/submit",
            {"consent": True, "key_facts_hash": body["key_facts_hash"]},
        )
    assert submitted.status_code == 200, submitted.content
    assert member_api.get(f"/applications/{ref}").json()["status"] == "in_review"

    cancelled = member_api.post(f"/applications/{ref}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    again = member_api.post(f"/applications/{ref}/cancel")
    assert again.status_code == 409
    assert error_code(again) == "conflict"
    assert AuditEvent.objects.filter(action="application.cancelled").count() == 1


def test_officer_approves_through_the_same_service_and_a_loan_appears(officer_api):
    application = in_review()
    response = officer_api.post(
        f"/applications/{application.reference}/approve",
        {"amount": "50000.00", "tenure_months": 2},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "approved"
    assert body["approved_amount"] == "50000.00"
    assert body["loan"]
    loan = officer_api.get(f"/loans/{body['loan']}").json()
    assert loan["status"] == LoanStatus.PENDING_DISBURSEMENT
    assert loan["principal"] == "50000.00"
    assert len(loan["installments"]) == 2
    again = officer_api.post(f"/applications/{application.reference}/approve", {})
    assert again.status_code == 409


def test_officer_cannot_raise_the_amount(officer_api):
    application = in_review()
    response = officer_api.post(
        f"/applications/{application.reference}/approve", {"amount": "90000.00"}
    )
    assert response.status_code == 400
    application.refresh_from_db()
    assert application.status == ApplicationStatus.IN_REVIEW


def test_reject_needs_a_reason_and_is_recorded(officer_api):
    application = in_review()
    short = officer_api.post(f"/applications/{application.reference}/reject", {"reason": "no"})
    assert short.status_code == 400
    response = officer_api.post(
        f"/applications/{application.reference}/reject",
        {"reason": "Income does not cover the installment."},
    )
    assert response.status_code == 200
    assert response.json()["decision_reason"] == "Income does not cover the installment."


def test_finance_cannot_approve(finance_api):
    application = in_review()
    response = finance_api.post(f"/applications/{application.reference}/approve", {})
    assert response.status_code == 403
    application.refresh_from_db()
    assert application.status == ApplicationStatus.IN_REVIEW


def test_staff_filters_and_search(officer_api):
    lagos = in_review(new_member(deployment_state="LA", full_name="Adaeze Okafor"))
    kano_member = new_member(deployment_state="KN", full_name="Musa Bello")
    kano = draft(kano_member)
    refs = lambda r: {i["reference"] for i in r.json()["items"]}  # noqa: E731
    assert refs(officer_api.get("/applications")) == {lagos.reference, kano.reference}
    assert refs(officer_api.get("/applications?status=in_review")) == {lagos.reference}
    assert refs(officer_api.get("/applications?state=KN")) == {kano.reference}
    assert refs(officer_api.get("/applications?q=Musa")) == {kano.reference}
    assert refs(officer_api.get(f"/applications?q={lagos.reference}")) == {lagos.reference}
    assert refs(officer_api.get(f"/applications?product={kano.product_id}")) == {kano.reference}
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert refs(officer_api.get(f"/applications?submitted_from={tomorrow}")) == set()


def _make_applications(count):
    prod = product()
    apps = []
    for _ in range(count):
        apps.append(draft(new_member(), prod))
    return apps


def test_cursor_pages_walk_every_row_once_newest_first(officer_api):
    made = _make_applications(7)
    # Same timestamp for several rows: the id breaks ties, nothing is skipped or repeated.
    Application.objects.filter(pk__in=[a.pk for a in made[2:5]]).update(
        created_at=made[2].created_at
    )
    seen, cursor = [], None
    while True:
        url = "/applications?limit=3" + (f"&cursor={cursor}" if cursor else "")
        body = officer_api.get(url).json()
        assert len(body["items"]) <= 3
        seen += [i["reference"] for i in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    expected = list(
        Application.objects.order_by("-created_at", "-id").values_list("reference", flat=True)
    )
    assert seen == expected


def test_default_page_is_50(officer_api):
    _make_applications(51)
    body = officer_api.get("/applications").json()
    assert len(body["items"]) == 50
    assert body["next_cursor"]


def test_list_query_count_stays_flat(officer_api, django_assert_max_num_queries):
    _make_applications(3)
    with django_assert_max_num_queries(8) as few:
        officer_api.get("/applications")
    _make_applications(12)
    with django_assert_max_num_queries(len(few.captured_queries)):
        officer_api.get("/applications")


def test_loan_detail_shows_schedule_and_ledger_balance(db):
    loan = active_loan()
    api = Api(token_for(loan.member.user))
    body = api.get(f"/loans/{loan.reference}").json()
    assert body["status"] == "active"
    assert body["balance"] == body["total_repayable"]
    assert [i["number"] for i in body["installments"]] == [1, 2, 3]
    listed = api.get("/loans").json()["items"]
    assert [item["reference"] for item in listed] == [loan.reference]
    assert api.get("/loans?status=closed").json()["items"] == []


def test_finance_records_a_payment_and_the_member_sees_it(finance_api):
    loan = active_loan()
    response = finance_api.post(
        "/payments",
        {"loan": loan.reference, "amount": "10000.00", "reason": "Cash at branch, receipt 12"},
        headers={"Idempotency-Key": "k-1"},
    )
    assert response.status_code == 201, response.content
    member_api = Api(token_for(loan.member.user))
    items = member_api.get("/payments").json()["items"]
    assert [(p["amount"], p["loan"]) for p in items] == [("10000.00", loan.reference)]
    balance = member_api.get(f"/loans/{loan.reference}").json()["balance"]
    total = loan.total_repayable
    assert balance == f"{(total - 10_000_00) // 100}.{(total - 10_000_00) % 100:02d}"
    assert finance_api.get(f"/payments?loan={loan.reference}&channel=manual").json()["items"]
    assert finance_api.get("/payments?status=reversed").json()["items"] == []


def test_negative_zero_and_absurd_payments_change_nothing(finance_api):
    loan = active_loan()
    for amount, status in [("-5.00", 422), ("0", 400), ("1e5", 422), ("999999999.99", 400)]:
        response = finance_api.post(
            "/payments",
            {"loan": loan.reference, "amount": amount, "reason": "Cash at branch"},
            headers={"Idempotency-Key": f"neg-{amount}"},
        )
        assert response.status_code == status, (amount, response.content)
    assert not loan.payments.exists()
