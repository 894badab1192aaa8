"""Idempotency-Key: same key + same body replays; same key + other body is 422; per user."""

import pytest

from api.models import IdempotencyKey
from core.models import AuditEvent
from payments.models import Payment
from tests.api.conftest import Api, error_code, token_for
from tests.factories import active_loan, product

pytestmark = pytest.mark.django_db


def _pay(api, loan, key, amount="5000.00"):
    body = {"loan": loan.reference, "amount": amount, "reason": "Cash at branch, receipt 881"}
    headers = {"Idempotency-Key": key} if key else {}
    return api.post("/payments", body, headers=headers)


def test_manual_payment_with_the_same_key_and_body_is_recorded_once(finance_api):
    loan = active_loan()
    first = _pay(finance_api, loan, "pay-001")
    assert first.status_code == 201, first.content
    assert first.json()["amount"] == "5000.00"
    again = _pay(finance_api, loan, "pay-001")
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Payment.objects.filter(loan=loan).count() == 1
    assert AuditEvent.objects.filter(action="payment.recorded").count() == 1


def test_the_same_key_with_another_body_is_refused(finance_api):
    loan = active_loan()
    assert _pay(finance_api, loan, "pay-002").status_code == 201
    response = _pay(finance_api, loan, "pay-002", amount="6000.00")
    assert response.status_code == 422
    assert error_code(response) == "idempotency_key_reused"
    assert Payment.objects.filter(loan=loan).count() == 1


def test_manual_payment_needs_a_key(finance_api):
    loan = active_loan()
    response = _pay(finance_api, loan, None)
    assert response.status_code == 400
    assert error_code(response) == "idempotency_key_required"
    assert _pay(finance_api, loan, "x" * 256).status_code == 400
    assert not Payment.objects.filter(loan=loan).exists()


def test_keys_are_scoped_per_user(finance_api):
    from tests.factories import make_finance

    loan = active_loan()
    other = Api(token_for(make_finance()))
    assert _pay(finance_api, loan, "shared-key").status_code == 201
    response = _pay(other, loan, "shared-key")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Payment.objects.filter(loan=loan).count() == 2


def test_a_refused_request_is_replayed_as_the_same_refusal(finance_api):
    loan = active_loan()
    first = _pay(finance_api, loan, "too-much", amount="999999999.00")
    assert first.status_code == 400
    second = _pay(finance_api, loan, "too-much", amount="999999999.00")
    assert second.status_code == 400
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert not Payment.objects.exists()


def test_an_application_create_retried_with_its_key_makes_one_draft(member_api):
    prod = product()
    body = {"product": prod.pk, "amount": "60000.00", "tenure_months": 3}
    first = member_api.post("/applications", body, headers={"Idempotency-Key": "a1"})
    second = member_api.post("/applications", body, headers={"Idempotency-Key": "a1"})
    assert first.status_code == second.status_code == 201
    assert first.json()["reference"] == second.json()["reference"]
    assert IdempotencyKey.objects.count() == 1


def test_a_server_error_keeps_no_key_so_the_retry_runs(finance_api, monkeypatch):
    loan = active_loan()

    def broken(**kwargs):
        raise RuntimeError("provider down")

    monkeypatch.setattr("payments.services.repayment.record_manual_payment", broken)
    assert _pay(finance_api, loan, "retry-me").status_code == 500
    assert not IdempotencyKey.objects.exists()
    monkeypatch.undo()
    assert _pay(finance_api, loan, "retry-me").status_code == 201


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_record_one_payment(settings):
    """Ten threads send the same key at once: the unique index makes nine of them wait
    and replay the first answer."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from tests.factories import make_finance

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    loan = active_loan()
    raw = token_for(make_finance())

    def call(_):
        from django.db import connections

        try:
            return _pay(Api(raw), loan, "race-key").status_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(call, range(10)))
    assert statuses == [201] * 10
    assert Payment.objects.filter(loan=loan).count() == 1


def test_old_keys_are_purged_and_recent_ones_still_replay(finance_api, settings):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from api.services import purge_idempotency_keys
    from api.tasks import purge_idempotency_keys_task

    settings.API_IDEMPOTENCY_RETENTION_HOURS = 24
    loan = active_loan()
    with time_machine.travel(timezone.now() - timedelta(hours=30)):
        assert _pay(finance_api, loan, "pay-old").status_code == 201
    assert _pay(finance_api, loan, "pay-new", amount="100.00").status_code == 201
    assert purge_idempotency_keys(batch_size=1) == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["pay-new"]
    assert _pay(finance_api, loan, "pay-new", amount="100.00")["Idempotent-Replayed"] == "true"
    purge_idempotency_keys_task()  # the hourly task runs the same purge: nothing left to do
    assert IdempotencyKey.objects.count() == 1
    assert Payment.objects.filter(loan=loan).count() == 2  # purging touched no payment
