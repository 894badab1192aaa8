"""Payments providers: Paystack against recorded answers (respx), the simulated provider
against its database records, the manual provider, and choosing between them."""

import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import respx
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from payments.models import SimulatedProviderRecord
from payments.providers import get_provider, reset_providers
from payments.providers.base import (
    ChargeState,
    InvalidWebhook,
    ProviderError,
    ProviderRejected,
    TransferState,
)
from payments.providers.manual import ManualProvider
from payments.providers.paystack import PaystackProvider
from payments.providers.simulated import CAPTURED_WEBHOOKS, SimulatedProvider
from payments.simulated_views import simulated_checkout

FIXTURES = Path(__file__).parent / "fixtures"
PAYSTACK = "https://api.paystack.test"
PAYSTACK_KEY = "sk_test_0123456789abcdef0123456789abcdef01234567"
SIM_SECRET = "simulated-secret-for-tests"
REFERENCE = "DSB-LN-7F3A9C2E1B4D-1"
PAYSTACK_REFERENCE = REFERENCE.lower()  # Paystack keeps transfer references in lower case


# --- A URLconf for the page and webhook tests (the project's URLs may not have them yet) ------

RECEIVED_WEBHOOKS: list = []


@csrf_exempt
def receive_simulated_webhook(request):
    provider = get_provider("simulated")
    signature = request.headers.get(provider.signature_header, "")
    if not provider.verify_signature(raw_body=request.body, signature=signature):
        return HttpResponse(status=401)
    RECEIVED_WEBHOOKS.append(provider.parse_webhook(payload=json.loads(request.body)))
    return HttpResponse(status=200)


urlpatterns = [
    path("webhooks/simulated", receive_simulated_webhook),
    path("payments/simulated/checkout/<str:reference>/", simulated_checkout),
    path("", include("config.urls")),
]
OWN_URLS = "tests.payments.test_providers"


# --- Helpers ----------------------------------------------------------------------------------


def recorded(name: str) -> httpx.Response:
    answer = json.loads((FIXTURES / f"{name}.json").read_text())
    return httpx.Response(answer["status_code"], json=answer["body"])


def recorded_body(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())["body"]


def paystack_signature(body: bytes, key: str = PAYSTACK_KEY) -> str:
    return hmac.new(key.encode(), body, hashlib.sha512).hexdigest()


@pytest.fixture
def paystack():
    provider = PaystackProvider(secret_key=PAYSTACK_KEY, base_url=PAYSTACK)
    yield provider
    provider.close()


@pytest.fixture
def api():
    with respx.mock(base_url=PAYSTACK, assert_all_called=True) as mock:
        yield mock


@pytest.fixture
def captured(settings):
    settings.SIMULATED_WEBHOOK_DELIVERY = "capture"
    CAPTURED_WEBHOOKS.clear()
    yield CAPTURED_WEBHOOKS
    CAPTURED_WEBHOOKS.clear()


@pytest.fixture
def simulated(captured):
    return SimulatedProvider(SIM_SECRET)


@pytest.fixture(autouse=True)
def _fresh_providers():
    reset_providers()
    RECEIVED_WEBHOOKS.clear()
    yield
    reset_providers()


def send(provider, *, reference=REFERENCE, amount=4_500_000, account="0123456789", **kwargs):
    recipient = provider.create_recipient(
        name="Chiamaka Okafor", account_number=account, bank_code="058"
    )
    return provider.initiate_transfer(
        reference=reference,
        amount=amount,
        recipient_code=recipient,
        reason="AllaweePlus loan",
        **kwargs,
    )


# --- Choosing a provider ----------------------------------------------------------------------


def test_default_provider_comes_from_settings_and_is_cached(settings):
    settings.PAYMENTS_PROVIDER = "simulated"
    provider = get_provider()
    assert isinstance(provider, SimulatedProvider)
    assert get_provider() is provider
    assert get_provider("simulated") is provider


def test_each_provider_name_has_its_own_instance(settings):
    settings.PAYSTACK_SECRET_KEY = PAYSTACK_KEY
    assert isinstance(get_provider("manual"), ManualProvider)
    assert isinstance(get_provider("paystack"), PaystackProvider)
    assert get_provider("manual") is not get_provider("simulated")


def test_reset_providers_builds_new_instances():
    first = get_provider("simulated")
    reset_providers()
    assert get_provider("simulated") is not first


def test_changing_a_provider_setting_drops_the_cached_instance(settings):
    first = get_provider("simulated")
    settings.SIMULATED_PROVIDER_SECRET = "another-secret"
    assert get_provider("simulated") is not first


def test_unknown_provider_name_is_a_configuration_error():
    with pytest.raises(ImproperlyConfigured, match="one of simulated, paystack, manual"):
        get_provider("flutterwave")


def test_paystack_without_a_secret_key_is_refused(settings):
    settings.PAYSTACK_SECRET_KEY = ""
    with pytest.raises(ImproperlyConfigured, match="PAYSTACK_SECRET_KEY"):
        get_provider("paystack")
    with pytest.raises(ImproperlyConfigured):
        PaystackProvider(secret_key="")


def test_paystack_repr_never_shows_the_key(paystack):
    assert PAYSTACK_KEY not in repr(paystack)


# --- Paystack: accounts and recipients --------------------------------------------------------


def test_paystack_resolves_an_account_name_with_bearer_auth(paystack, api):
    route = api.get(
        "/bank/resolve", params={"account_number": "0123456789", "bank_code": "058"}
    ).mock(return_value=recorded("paystack_resolve_account"))
    resolution = paystack.resolve_account(account_number="0123456789", bank_code="058")
    assert resolution.account_name == "OKAFOR CHIAMAKA GRACE"
    assert resolution.account_number == "0123456789"
    assert resolution.bank_code == "058"
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {PAYSTACK_KEY}"


def test_paystack_account_it_cannot_resolve_is_a_rejection_with_its_message(paystack, api):
    api.get("/bank/resolve").mock(return_value=recorded("paystack_resolve_account_unknown"))
    with pytest.raises(ProviderRejected, match="Could not resolve account name"):
        paystack.resolve_account(account_number="0123456789", bank_code="058")


def test_paystack_malformed_account_number_is_refused_without_a_call(paystack, api):
    with pytest.raises(ProviderRejected, match="10 digits"):
        paystack.resolve_account(account_number="12345", bank_code="058")
    assert not api.calls


def test_paystack_creates_a_nuban_recipient(paystack, api):
    route = api.post("/transferrecipient").mock(return_value=recorded("paystack_create_recipient"))
    code = paystack.create_recipient(
        name="Chiamaka Okafor", account_number="0123456789", bank_code="058"
    )
    assert code == "RCP_m7ljkv8leesep7p"
    sent = json.loads(route.calls.last.request.content)
    assert sent == {
        "type": "nuban",
        "name": "Chiamaka Okafor",
        "account_number": "0123456789",
        "bank_code": "058",
        "currency": "NGN",
    }


# --- Paystack: transfers ----------------------------------------------------------------------


def test_paystack_transfer_is_sent_from_balance_in_kobo_with_our_reference(paystack, api):
    route = api.post("/transfer").mock(return_value=recorded("paystack_initiate_transfer_success"))
    result = paystack.initiate_transfer(
        reference=REFERENCE,
        amount=4_500_000,
        recipient_code="RCP_m7ljkv8leesep7p",
        reason="AllaweePlus loan LN-7F3A9C2E1B4D",
    )
    sent = json.loads(route.calls.last.request.content)
    assert sent == {
        "source": "balance",
        "amount": 4_500_000,
        "currency": "NGN",
        "recipient": "RCP_m7ljkv8leesep7p",
        "reference": PAYSTACK_REFERENCE,
        "reason": "AllaweePlus loan LN-7F3A9C2E1B4D",
    }
    assert isinstance(sent["amount"], int)
    assert result.state == TransferState.SUCCESS
    assert result.reference == REFERENCE  # ours, whatever case Paystack keeps
    assert result.amount == 4_500_000 and isinstance(result.amount, int)
    assert result.provider_reference == "TRF_v5tip3zx8nna9o78"


def test_paystack_transfer_waiting_for_otp_is_pending(paystack, api):
    api.post("/transfer").mock(return_value=recorded("paystack_initiate_transfer_otp"))
    result = paystack.initiate_transfer(
        reference=REFERENCE, amount=4_500_000, recipient_code="RCP_m7ljkv8leesep7p", reason="Loan"
    )
    assert result.state == TransferState.PENDING
    assert result.provider_reference == "TRF_1ptvuv321ahaa7q"


@pytest.mark.parametrize("status", ["pending", "otp", "processing", "received", "queued"])
def test_paystack_in_flight_transfer_statuses_are_pending(paystack, api, status):
    body = recorded_body("paystack_verify_transfer_success")
    body["data"]["status"] = status
    api.get(f"/transfer/verify/{PAYSTACK_REFERENCE}").mock(
        return_value=httpx.Response(200, json=body)
    )
    assert paystack.verify_transfer(reference=REFERENCE).state == TransferState.PENDING


def test_paystack_duplicate_reference_reports_the_first_transfer_instead_of_failing(paystack, api):
    api.post("/transfer").mock(return_value=recorded("paystack_initiate_transfer_duplicate"))
    verify = api.get(f"/transfer/verify/{PAYSTACK_REFERENCE}").mock(
        return_value=recorded("paystack_verify_transfer_success")
    )
    result = paystack.initiate_transfer(
        reference=REFERENCE, amount=4_500_000, recipient_code="RCP_m7ljkv8leesep7p", reason="Loan"
    )
    assert verify.called
    assert result.state == TransferState.SUCCESS
    assert result.reference == REFERENCE
    assert result.provider_reference == "TRF_v5tip3zx8nna9o78"


def test_paystack_duplicate_reference_not_yet_visible_is_pending_not_resendable(paystack, api):
    api.post("/transfer").mock(return_value=recorded("paystack_initiate_transfer_duplicate"))
    api.get(f"/transfer/verify/{PAYSTACK_REFERENCE}").mock(
        return_value=recorded("paystack_verify_transfer_not_found")
    )
    result = paystack.initiate_transfer(
        reference=REFERENCE, amount=4_500_000, recipient_code="RCP_m7ljkv8leesep7p", reason="Loan"
    )
    assert result.state == TransferState.PENDING


def test_paystack_invalid_recipient_is_a_rejection_not_a_duplicate(paystack, api):
    api.post("/transfer").mock(
        return_value=recorded("paystack_initiate_transfer_invalid_recipient")
    )
    with pytest.raises(ProviderRejected, match="Recipient specified is invalid") as caught:
        paystack.initiate_transfer(
            reference=REFERENCE, amount=4_500_000, recipient_code="RCP_wrong", reason="Loan"
        )
    assert caught.value.http_status == 400
    assert caught.value.code == "invalid_transfer_recipient"


@pytest.mark.parametrize("amount", [0, -100, 4500.0, "4500000", True, None])
def test_paystack_refuses_amounts_that_are_not_positive_whole_kobo(paystack, api, amount):
    with pytest.raises(ProviderRejected, match="whole number of kobo"):
        paystack.initiate_transfer(
            reference=REFERENCE, amount=amount, recipient_code="RCP_m7ljkv8leesep7p", reason="Loan"
        )
    assert not api.calls


def test_paystack_refuses_a_reference_it_would_not_accept(paystack, api):
    with pytest.raises(ProviderRejected, match="letters, digits"):
        paystack.verify_transfer(reference="DSB/LN 1")
    assert not api.calls


@pytest.mark.parametrize(
    ("fixture", "state", "reason"),
    [
        ("paystack_verify_transfer_success", TransferState.SUCCESS, ""),
        ("paystack_verify_transfer_failed", TransferState.FAILED, "Beneficiary account is dormant"),
        (
            "paystack_verify_transfer_reversed",
            TransferState.REVERSED,
            "Transfer reversed by beneficiary bank",
        ),
        ("paystack_verify_transfer_not_found", TransferState.NOT_FOUND, ""),
    ],
)
def test_paystack_verify_transfer_maps_final_states(paystack, api, fixture, state, reason):
    api.get(f"/transfer/verify/{PAYSTACK_REFERENCE}").mock(return_value=recorded(fixture))
    result = paystack.verify_transfer(reference=REFERENCE)
    assert result.state == state
    assert result.reason == reason
    assert result.reference == REFERENCE
    if state != TransferState.NOT_FOUND:
        assert result.amount == 4_500_000


def test_paystack_not_found_message_on_a_400_is_not_found(paystack, api):
    api.get(f"/transfer/verify/{PAYSTACK_REFERENCE}").mock(
        return_value=httpx.Response(400, json={"status": False, "message": "Transfer not found"})
    )
    assert paystack.verify_transfer(reference=REFERENCE).state == TransferState.NOT_FOUND


def test_paystack_unknown_transfer_status_is_never_read_as_failed(paystack, api):
    body = recorded_body("paystack_verify_transfer_success")
    body["data"]["status"] = "under_review"
    api.get(f"/transfer/verify/{PAYSTACK_REFERENCE}").mock(
        return_value=httpx.Response(200, json=body)
    )
    assert paystack.verify_transfer(reference=REFERENCE).state == TransferState.PENDING


def test_paystack_amount_that_is_not_whole_kobo_is_reported_as_unknown(paystack, api):
    body = recorded_body("paystack_verify_transfer_success")
    body["data"]["amount"] = 45000.5
    api.get(f"/transfer/verify/{PAYSTACK_REFERENCE}").mock(
        return_value=httpx.Response(200, json=body)
    )
    assert paystack.verify_transfer(reference=REFERENCE).amount is None


# --- Paystack: faults -------------------------------------------------------------------------


def test_paystack_timeout_on_transfer_is_a_provider_error(paystack, api):
    api.post("/transfer").mock(side_effect=httpx.ReadTimeout("timed out"))
    with pytest.raises(ProviderError, match="did not answer in time") as caught:
        paystack.initiate_transfer(
            reference=REFERENCE,
            amount=4_500_000,
            recipient_code="RCP_m7ljkv8leesep7p",
            reason="Loan",
        )
    # Unknown outcome: must not look like a refusal, which would let the caller give up.
    assert not isinstance(caught.value, ProviderRejected)


def test_paystack_timeout_on_verify_is_a_provider_error(paystack, api):
    api.get(f"/transfer/verify/{PAYSTACK_REFERENCE}").mock(
        side_effect=httpx.ConnectTimeout("timed out")
    )
    with pytest.raises(ProviderError):
        paystack.verify_transfer(reference=REFERENCE)


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_paystack_server_errors_are_provider_errors(paystack, api, status):
    api.post("/transfer").mock(
        return_value=httpx.Response(
            status, json={"status": False, "message": "Something went wrong"}
        )
    )
    with pytest.raises(ProviderError, match=f"HTTP {status}") as caught:
        paystack.initiate_transfer(
            reference=REFERENCE,
            amount=4_500_000,
            recipient_code="RCP_m7ljkv8leesep7p",
            reason="Loan",
        )
    assert not isinstance(caught.value, ProviderRejected)


def test_paystack_network_failure_is_a_provider_error(paystack, api):
    api.get(f"/transfer/verify/{PAYSTACK_REFERENCE}").mock(
        side_effect=httpx.ConnectError("connection refused")
    )
    with pytest.raises(ProviderError, match="Could not reach Paystack"):
        paystack.verify_transfer(reference=REFERENCE)


def test_paystack_answer_that_is_not_json_is_a_provider_error(paystack, api):
    api.get(f"/transfer/verify/{PAYSTACK_REFERENCE}").mock(
        return_value=httpx.Response(200, text="<html>gateway</html>")
    )
    with pytest.raises(ProviderError, match="not JSON"):
        paystack.verify_transfer(reference=REFERENCE)


# --- Paystack: checkout -----------------------------------------------------------------------


def test_paystack_checkout_is_initialized_in_kobo_with_our_callback(paystack, api):
    route = api.post("/transaction/initialize").mock(
        return_value=recorded("paystack_initialize_transaction")
    )
    session = paystack.initialize_checkout(
        reference="PAY-3C9E1A7B5F20",
        amount=1_250_000,
        email="chiamaka@example.com",
        callback_url="https://allaweeplus.ng/payments/return/",
    )
    assert session.authorization_url == "https://checkout.paystack.com/nkdks46nymizns7"
    assert session.reference == "PAY-3C9E1A7B5F20"
    sent = json.loads(route.calls.last.request.content)
    assert sent["amount"] == 1_250_000 and isinstance(sent["amount"], int)
    assert sent["email"] == "chiamaka@example.com"
    assert sent["reference"] == "PAY-3C9E1A7B5F20"
    assert sent["callback_url"] == "https://allaweeplus.ng/payments/return/"


def test_paystack_duplicate_checkout_reference_is_a_rejection(paystack, api):
    api.post("/transaction/initialize").mock(
        return_value=httpx.Response(
            400, json={"status": False, "message": "Duplicate Transaction Reference"}
        )
    )
    with pytest.raises(ProviderRejected, match="Duplicate Transaction Reference"):
        paystack.initialize_checkout(
            reference="PAY-1",
            amount=100,
            email="a@example.com",
            callback_url="https://allaweeplus.ng/payments/return/",
        )


def test_paystack_verified_charge_has_amount_in_kobo_and_payment_time(paystack, api):
    api.get("/transaction/verify/PAY-3C9E1A7B5F20").mock(
        return_value=recorded("paystack_verify_transaction_success")
    )
    result = paystack.verify_charge(reference="PAY-3C9E1A7B5F20")
    assert result.state == ChargeState.SUCCESS
    assert result.amount == 1_250_000 and isinstance(result.amount, int)
    assert result.paid_at == datetime(2025, 7, 1, 10, 22, 31, tzinfo=UTC)
    assert result.raw["customer"]["email"] == "chiamaka@example.com"


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("failed", ChargeState.FAILED),
        ("reversed", ChargeState.FAILED),
        ("abandoned", ChargeState.PENDING),
        ("ongoing", ChargeState.PENDING),
    ],
)
def test_paystack_unfinished_or_failed_charges_are_not_success(paystack, api, status, state):
    body = recorded_body("paystack_verify_transaction_success")
    body["data"]["status"] = status
    api.get("/transaction/verify/PAY-3C9E1A7B5F20").mock(
        return_value=httpx.Response(200, json=body)
    )
    result = paystack.verify_charge(reference="PAY-3C9E1A7B5F20")
    assert result.state == state
    assert result.paid_at is None


def test_paystack_charge_in_another_currency_has_no_amount(paystack, api):
    body = recorded_body("paystack_verify_transaction_success")
    body["data"]["currency"] = "GHS"
    api.get("/transaction/verify/PAY-3C9E1A7B5F20").mock(
        return_value=httpx.Response(200, json=body)
    )
    assert paystack.verify_charge(reference="PAY-3C9E1A7B5F20").amount is None


def test_paystack_unknown_charge_reference_is_not_found(paystack, api):
    api.get("/transaction/verify/PAY-UNKNOWN").mock(
        return_value=recorded("paystack_verify_transaction_not_found")
    )
    assert paystack.verify_charge(reference="PAY-UNKNOWN").state == ChargeState.NOT_FOUND


# --- Paystack: webhooks -----------------------------------------------------------------------


def test_paystack_signature_of_the_raw_body_is_accepted(paystack):
    body = (FIXTURES / "paystack_webhook_charge_success.json").read_bytes()
    assert paystack.verify_signature(raw_body=body, signature=paystack_signature(body))


def test_paystack_signature_check_uses_a_constant_time_compare(paystack, monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    body = b'{"event":"charge.success"}'
    assert paystack.verify_signature(raw_body=body, signature=paystack_signature(body))
    assert len(calls) == 1


@pytest.mark.parametrize("signature", ["", None, "abc123", "0" * 128])
def test_paystack_missing_or_wrong_signature_is_refused(paystack, signature):
    body = b'{"event":"charge.success","data":{}}'
    assert not paystack.verify_signature(raw_body=body, signature=signature)


def test_paystack_signature_made_with_another_key_is_refused(paystack):
    body = b'{"event":"charge.success","data":{}}'
    signature = paystack_signature(body, key="sk_test_someone_else")
    assert not paystack.verify_signature(raw_body=body, signature=signature)


def test_paystack_tampered_body_fails_the_signature(paystack):
    body = b'{"event":"charge.success","data":{"amount":1250000}}'
    signature = paystack_signature(body)
    tampered = body.replace(b"1250000", b"9250000")
    assert not paystack.verify_signature(raw_body=tampered, signature=signature)


def test_paystack_same_event_delivered_twice_has_the_same_id(paystack):
    first = paystack.parse_webhook(payload=recorded_body("paystack_webhook_transfer_success"))
    again = paystack.parse_webhook(payload=recorded_body("paystack_webhook_transfer_success"))
    assert first.event_id == again.event_id == "transfer.success:TRF_v5tip3zx8nna9o78"
    assert first.event_type == "transfer.success"
    assert first.reference == PAYSTACK_REFERENCE
    assert first.amount == 4_500_000


def test_paystack_success_then_reversal_of_one_transfer_are_distinct_events(paystack):
    success = paystack.parse_webhook(payload=recorded_body("paystack_webhook_transfer_success"))
    reversal = paystack.parse_webhook(payload=recorded_body("paystack_webhook_transfer_reversed"))
    assert success.event_id != reversal.event_id
    assert reversal.event_type == "transfer.reversed"
    assert reversal.reference == success.reference


def test_paystack_charge_event_id_comes_from_the_transaction_id(paystack):
    notice = paystack.parse_webhook(payload=recorded_body("paystack_webhook_charge_success"))
    assert notice.event_id == "charge.success:4099260516"
    assert notice.reference == "PAY-3C9E1A7B5F20"
    assert notice.amount == 1_250_000


def test_paystack_event_without_ids_still_gets_a_stable_id(paystack):
    payload = {"event": "customeridentification.failed", "data": {"email": "a@example.com"}}
    first = paystack.parse_webhook(payload=payload)
    assert (
        first.event_id == paystack.parse_webhook(payload=json.loads(json.dumps(payload))).event_id
    )
    assert len(first.event_id) <= 120


@pytest.mark.parametrize(
    "payload",
    [[], {"data": {}}, {"event": "charge.success"}, {"event": "charge.success", "data": "x"}],
)
def test_paystack_unreadable_event_is_invalid(paystack, payload):
    with pytest.raises(InvalidWebhook):
        paystack.parse_webhook(payload=payload)


# --- Simulated: transfers ---------------------------------------------------------------------


@pytest.mark.django_db
def test_simulated_same_reference_twice_is_one_transfer(simulated, captured):
    first = send(simulated)
    again = send(simulated, amount=999)  # a retry can never create a second payout
    assert SimulatedProviderRecord.objects.filter(reference=REFERENCE).count() == 1
    assert again == first
    assert again.amount == 4_500_000
    assert len(captured) == 1  # one webhook, for the one transfer


@pytest.mark.django_db
def test_simulated_transfer_succeeds_by_default_and_sends_signed_webhook(simulated, captured):
    result = send(simulated)
    assert result.state == TransferState.SUCCESS
    assert result.provider_reference.startswith("TRF_SIM_")
    (delivery,) = captured
    assert delivery["event"]["event"] == "transfer.success"
    assert delivery["event"]["data"]["reference"] == REFERENCE
    assert delivery["event"]["data"]["amount"] == 4_500_000
    assert delivery["body"] == json.dumps(delivery["event"]).encode()
    assert simulated.verify_signature(
        raw_body=delivery["body"], signature=delivery["headers"]["x-simulated-signature"]
    )


@pytest.mark.django_db
def test_simulated_account_ending_0000_fails_as_closed(simulated, captured):
    result = send(simulated, account="0123450000")
    assert result.state == TransferState.FAILED
    assert result.reason == "Account closed"
    assert captured[0]["event"]["event"] == "transfer.failed"
    assert simulated.verify_transfer(reference=REFERENCE).reason == "Account closed"


@pytest.mark.django_db
def test_simulated_listed_accounts_fail(simulated, settings):
    settings.SIMULATED_FAIL_ACCOUNTS = ["0123456789"]
    assert send(simulated).state == TransferState.FAILED
    assert send(simulated, reference="DSB-2", account="0123456788").state == TransferState.SUCCESS


@pytest.mark.django_db
def test_simulated_outcome_setting_and_per_call_override(simulated, settings):
    settings.SIMULATED_TRANSFER_OUTCOME = "failed"
    assert send(simulated, reference="DSB-1").state == TransferState.FAILED
    assert send(simulated, reference="DSB-2", outcome="success").state == TransferState.SUCCESS


@pytest.mark.django_db
def test_simulated_unknown_outcome_setting_is_a_configuration_error(simulated, settings):
    settings.SIMULATED_TRANSFER_OUTCOME = "maybe"
    with pytest.raises(ImproperlyConfigured, match="SIMULATED_TRANSFER_OUTCOME"):
        send(simulated)
    assert not SimulatedProviderRecord.objects.exists()


@pytest.mark.django_db
def test_simulated_pending_transfer_settles_later_with_a_signed_webhook(
    simulated, captured, settings
):
    settings.SIMULATED_TRANSFER_OUTCOME = "pending"
    assert send(simulated).state == TransferState.PENDING
    assert simulated.verify_transfer(reference=REFERENCE).state == TransferState.PENDING
    assert captured == []

    settled = simulated.settle_transfer(reference=REFERENCE, outcome="success")

    assert settled.state == TransferState.SUCCESS
    assert simulated.verify_transfer(reference=REFERENCE).state == TransferState.SUCCESS
    (delivery,) = captured
    assert delivery["event"]["event"] == "transfer.success"
    assert simulated.verify_signature(raw_body=delivery["body"], signature=delivery["signature"])
    notice = simulated.parse_webhook(payload=json.loads(delivery["body"]))
    assert notice.reference == REFERENCE
    assert notice.amount == 4_500_000


@pytest.mark.django_db
def test_simulated_settling_twice_changes_nothing_and_sends_nothing(simulated, captured, settings):
    settings.SIMULATED_TRANSFER_OUTCOME = "pending"
    send(simulated)
    simulated.settle_transfer(reference=REFERENCE, outcome="failed", reason="Bank offline")
    simulated.settle_transfer(reference=REFERENCE, outcome="failed")
    assert len(captured) == 1
    assert simulated.verify_transfer(reference=REFERENCE).reason == "Bank offline"


@pytest.mark.django_db
def test_simulated_failed_transfer_cannot_later_succeed(simulated, settings):
    settings.SIMULATED_TRANSFER_OUTCOME = "failed"
    send(simulated)
    with pytest.raises(ProviderRejected, match="failed transfer cannot become success"):
        simulated.settle_transfer(reference=REFERENCE, outcome="success")


@pytest.mark.django_db
def test_simulated_redelivery_has_the_same_event_id_and_reversal_a_new_one(simulated, captured):
    send(simulated)
    simulated.resend_webhook(reference=REFERENCE)
    simulated.settle_transfer(reference=REFERENCE, outcome="reversed")
    ids = [simulated.parse_webhook(payload=d["event"]).event_id for d in captured]
    assert ids[0] == ids[1]
    assert captured[0]["body"] == captured[1]["body"]
    assert ids[2] != ids[0]
    assert captured[2]["event"]["event"] == "transfer.reversed"
    assert simulated.verify_transfer(reference=REFERENCE).state == TransferState.REVERSED


@pytest.mark.django_db
def test_simulated_pending_transfer_settles_on_verify_after_the_configured_time(
    simulated, captured, settings
):
    settings.SIMULATED_TRANSFER_OUTCOME = "pending"
    settings.SIMULATED_SETTLE_AFTER_SECONDS = 0
    send(simulated)
    assert simulated.verify_transfer(reference=REFERENCE).state == TransferState.SUCCESS
    assert captured[0]["event"]["event"] == "transfer.success"


@pytest.mark.django_db
def test_simulated_unknown_reference_is_not_found(simulated):
    assert simulated.verify_transfer(reference="DSB-NEVER").state == TransferState.NOT_FOUND
    assert simulated.verify_charge(reference="PAY-NEVER").state == ChargeState.NOT_FOUND


@pytest.mark.django_db
def test_simulated_refuses_bad_amounts_and_recipients(simulated):
    with pytest.raises(ProviderRejected):
        simulated.initiate_transfer(
            reference="DSB-1", amount=0, recipient_code="RCP_SIM_058_0123456789", reason="x"
        )
    with pytest.raises(ProviderRejected, match="Recipient specified is invalid"):
        simulated.initiate_transfer(reference="DSB-1", amount=100, recipient_code="", reason="x")
    assert not SimulatedProviderRecord.objects.exists()


@pytest.mark.django_db
def test_simulated_resolves_the_members_name_or_a_fixed_one(simulated, member):
    resolution = simulated.resolve_account(
        account_number=member.account_number, bank_code=member.bank_code
    )
    assert resolution.account_name == member.full_name.upper()
    stranger = simulated.resolve_account(account_number="0000000019", bank_code="058")
    assert stranger.account_name == "SIMULATED ACCOUNT HOLDER"


@pytest.mark.django_db
def test_simulated_signature_check_refuses_tampering_and_other_secrets(simulated, captured):
    send(simulated)
    delivery = captured[0]
    tampered = delivery["body"].replace(b"4500000", b"9500000")
    assert not simulated.verify_signature(raw_body=tampered, signature=delivery["signature"])
    assert not SimulatedProvider("other").verify_signature(
        raw_body=delivery["body"], signature=delivery["signature"]
    )
    assert not simulated.verify_signature(raw_body=delivery["body"], signature="")


# --- Simulated: webhook delivery modes --------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.urls(OWN_URLS)
def test_simulated_inline_delivery_calls_our_webhook_view_signed(settings):
    settings.SIMULATED_WEBHOOK_DELIVERY = "inline"
    settings.SIMULATED_TRANSFER_OUTCOME = "pending"
    provider = get_provider("simulated")
    send(provider)
    provider.settle_transfer(reference=REFERENCE, outcome="success")
    (notice,) = RECEIVED_WEBHOOKS  # the view answered 401 to nothing: the signature matched
    assert notice.event_type == "transfer.success"
    assert notice.reference == REFERENCE


@pytest.mark.django_db
@pytest.mark.urls(OWN_URLS)
def test_simulated_inline_delivery_to_a_view_that_fails_does_not_raise(
    settings, monkeypatch, caplog
):
    settings.SIMULATED_WEBHOOK_DELIVERY = "inline"

    def broken(request):
        raise RuntimeError("boom")

    monkeypatch.setattr(urlpatterns[0], "callback", broken)
    with caplog.at_level(logging.ERROR, logger="payments.providers.simulated"):
        result = send(get_provider("simulated"))
    assert result.state == TransferState.SUCCESS
    assert "simulated webhook view failed" in caplog.text


@pytest.mark.django_db
def test_simulated_inline_delivery_without_a_webhook_url_is_logged_and_skipped(
    settings, caplog, monkeypatch
):
    from django.urls import Resolver404

    from payments.providers import simulated as simulated_module

    def no_url(path):
        raise Resolver404(path)

    monkeypatch.setattr(simulated_module, "resolve", no_url)
    settings.SIMULATED_WEBHOOK_DELIVERY = "inline"
    with caplog.at_level(logging.WARNING, logger="payments.providers.simulated"):
        result = send(SimulatedProvider(SIM_SECRET))
    assert result.state == TransferState.SUCCESS
    assert "/webhooks/simulated" in caplog.text


@pytest.mark.django_db
def test_simulated_http_delivery_posts_signed_body_after_commit(
    settings, django_capture_on_commit_callbacks
):
    settings.SIMULATED_WEBHOOK_DELIVERY = "http"
    settings.SITE_URL = "https://demo.allaweeplus.test"
    provider = SimulatedProvider(SIM_SECRET)
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post("https://demo.allaweeplus.test/webhooks/simulated").mock(
            return_value=httpx.Response(200, json={"status": "ok"})
        )
        with django_capture_on_commit_callbacks(execute=True):
            send(provider)
    request = route.calls.last.request
    assert provider.verify_signature(
        raw_body=request.content, signature=request.headers["x-simulated-signature"]
    )
    assert json.loads(request.content)["event"] == "transfer.success"


@pytest.mark.django_db
def test_simulated_http_delivery_errors_are_logged_not_raised(
    settings, django_capture_on_commit_callbacks, caplog
):
    settings.SIMULATED_WEBHOOK_DELIVERY = "http"
    settings.SITE_URL = "https://demo.allaweeplus.test"
    with respx.mock() as mock:
        mock.post("https://demo.allaweeplus.test/webhooks/simulated").mock(
            side_effect=httpx.ConnectError("refused")
        )
        with (
            caplog.at_level(logging.WARNING, logger="payments.providers.simulated"),
            django_capture_on_commit_callbacks(execute=True),
        ):
            result = send(SimulatedProvider(SIM_SECRET))
    assert result.state == TransferState.SUCCESS
    assert "simulated webhook not delivered" in caplog.text


# --- Simulated: checkout ----------------------------------------------------------------------


@pytest.mark.django_db
def test_simulated_checkout_starts_a_pending_charge(simulated):
    session = simulated.initialize_checkout(
        reference="PAY-1",
        amount=1_250_000,
        email="chiamaka@example.com",
        callback_url="/payments/return/",
    )
    assert session.authorization_url == "/payments/simulated/checkout/PAY-1/"
    record = SimulatedProviderRecord.objects.get(reference="PAY-1")
    assert (record.kind, record.status, record.amount) == ("charge", "pending", 1_250_000)
    assert simulated.verify_charge(reference="PAY-1").state == ChargeState.PENDING


@pytest.mark.django_db
def test_simulated_checkout_reference_cannot_be_reused(simulated):
    kwargs = {
        "reference": "PAY-1",
        "amount": 100,
        "email": "a@example.com",
        "callback_url": "/payments/return/",
    }
    simulated.initialize_checkout(**kwargs)
    with pytest.raises(ProviderRejected, match="Duplicate Transaction Reference"):
        simulated.initialize_checkout(**kwargs)


@pytest.mark.django_db
def test_simulated_paid_charge_verifies_with_amount_and_sends_charge_success(simulated, captured):
    simulated.initialize_checkout(
        reference="PAY-1", amount=1_250_000, email="a@example.com", callback_url="/payments/return/"
    )
    simulated.complete_charge(reference="PAY-1", outcome="success")
    simulated.complete_charge(reference="PAY-1", outcome="success")  # a double click
    result = simulated.verify_charge(reference="PAY-1")
    assert result.state == ChargeState.SUCCESS
    assert result.amount == 1_250_000
    assert result.paid_at is not None
    (delivery,) = captured
    notice = simulated.parse_webhook(payload=json.loads(delivery["body"]))
    assert (notice.event_type, notice.reference, notice.amount) == (
        "charge.success",
        "PAY-1",
        1_250_000,
    )
    assert simulated.verify_signature(raw_body=delivery["body"], signature=delivery["signature"])


@pytest.mark.django_db
def test_simulated_declined_charge_cannot_then_be_paid(simulated, captured):
    simulated.initialize_checkout(
        reference="PAY-1", amount=100, email="a@example.com", callback_url="/payments/return/"
    )
    simulated.complete_charge(reference="PAY-1", outcome="failed")
    with pytest.raises(ProviderRejected, match="already failed"):
        simulated.complete_charge(reference="PAY-1", outcome="success")
    assert simulated.verify_charge(reference="PAY-1").state == ChargeState.FAILED
    assert [d["event"]["event"] for d in captured] == ["charge.failed"]


@pytest.mark.django_db
@pytest.mark.urls(OWN_URLS)
def test_simulated_checkout_page_shows_amount_and_both_choices(client, captured):
    get_provider("simulated").initialize_checkout(
        reference="PAY-1", amount=1_250_000, email="a@example.com", callback_url="/payments/return/"
    )
    response = client.get("/payments/simulated/checkout/PAY-1/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Pay ₦12,500.00" in page
    assert "Decline" in page
    assert "no money moves" in page.lower()


@pytest.mark.django_db
@pytest.mark.urls(OWN_URLS)
def test_simulated_checkout_pay_sends_webhook_and_returns_with_reference(client, captured):
    get_provider("simulated").initialize_checkout(
        reference="PAY-1",
        amount=1_250_000,
        email="a@example.com",
        callback_url="http://testserver/payments/return/?from=checkout",
    )
    response = client.post("/payments/simulated/checkout/PAY-1/", {"outcome": "success"})
    assert response.status_code == 302
    assert response["Location"] == (
        "http://testserver/payments/return/?from=checkout&trxref=PAY-1&reference=PAY-1"
    )
    assert SimulatedProviderRecord.objects.get(reference="PAY-1").status == "success"
    assert [d["event"]["event"] for d in captured] == ["charge.success"]


@pytest.mark.django_db
@pytest.mark.urls(OWN_URLS)
def test_simulated_checkout_decline_marks_the_charge_failed(client, captured):
    get_provider("simulated").initialize_checkout(
        reference="PAY-1", amount=100, email="a@example.com", callback_url="/payments/return/"
    )
    response = client.post("/payments/simulated/checkout/PAY-1/", {"outcome": "failed"})
    assert response["Location"] == "/payments/return/?trxref=PAY-1&reference=PAY-1"
    assert [d["event"]["event"] for d in captured] == ["charge.failed"]


@pytest.mark.django_db
@pytest.mark.urls(OWN_URLS)
def test_simulated_checkout_never_redirects_to_another_site(client, captured):
    get_provider("simulated").initialize_checkout(
        reference="PAY-1",
        amount=100,
        email="a@example.com",
        callback_url="https://evil.example/steal",
    )
    response = client.post("/payments/simulated/checkout/PAY-1/", {"outcome": "success"})
    assert response["Location"] == "/?trxref=PAY-1&reference=PAY-1"


@pytest.mark.django_db
@pytest.mark.urls(OWN_URLS)
def test_simulated_checkout_without_a_choice_is_a_clear_error(client, captured):
    get_provider("simulated").initialize_checkout(
        reference="PAY-1", amount=100, email="a@example.com", callback_url="/payments/return/"
    )
    response = client.post("/payments/simulated/checkout/PAY-1/", {"outcome": "maybe"})
    assert response.status_code == 400
    assert "Choose Pay or Decline" in response.content.decode()
    assert captured == []


@pytest.mark.django_db
@pytest.mark.urls(OWN_URLS)
def test_simulated_checkout_is_404_in_production_with_another_provider(client, settings):
    get_provider("simulated").initialize_checkout(
        reference="PAY-1", amount=100, email="a@example.com", callback_url="/payments/return/"
    )
    settings.DEBUG = False
    settings.PAYMENTS_PROVIDER = "paystack"
    assert client.get("/payments/simulated/checkout/PAY-1/").status_code == 404
    response = client.post("/payments/simulated/checkout/PAY-1/", {"outcome": "success"})
    assert response.status_code == 404
    assert SimulatedProviderRecord.objects.get(reference="PAY-1").status == "pending"


@pytest.mark.django_db
@pytest.mark.urls(OWN_URLS)
def test_simulated_checkout_for_an_unknown_reference_is_404(client):
    assert client.get("/payments/simulated/checkout/PAY-NOPE/").status_code == 404


# --- Manual -----------------------------------------------------------------------------------


def test_manual_provider_sends_no_transfers():
    manual = ManualProvider()
    assert manual.supports_transfers is False
    assert manual.supports_checkout is False
    with pytest.raises(ProviderError, match="recorded by finance with the bank reference"):
        manual.initiate_transfer(reference=REFERENCE, amount=100, recipient_code="x", reason="x")
    assert manual.verify_transfer(reference=REFERENCE).state == TransferState.NOT_FOUND


def test_manual_provider_has_no_checkout_or_webhooks():
    manual = ManualProvider()
    with pytest.raises(ProviderError):
        manual.initialize_checkout(
            reference="PAY-1", amount=100, email="a@example.com", callback_url="/"
        )
    assert manual.verify_charge(reference="PAY-1").state == ChargeState.NOT_FOUND
    assert manual.verify_signature(raw_body=b"{}", signature="anything") is False
    with pytest.raises(InvalidWebhook):
        manual.parse_webhook(payload={"event": "charge.success", "data": {}})


@pytest.mark.django_db
def test_manual_provider_resolves_to_the_members_own_name(member):
    resolution = ManualProvider().resolve_account(
        account_number=member.account_number, bank_code=member.bank_code
    )
    assert resolution.account_name == member.full_name
    with pytest.raises(ProviderRejected, match="check the name with the bank"):
        ManualProvider().resolve_account(account_number="0000000019", bank_code="058")


@pytest.mark.django_db
def test_simulated_inline_webhook_reaches_the_projects_inbox_once(settings):
    from payments.models import WebhookEvent

    settings.SIMULATED_WEBHOOK_DELIVERY = "inline"
    settings.SIMULATED_TRANSFER_OUTCOME = "pending"
    provider = get_provider("simulated")
    send(provider)
    provider.settle_transfer(reference=REFERENCE, outcome="success")
    provider.resend_webhook(reference=REFERENCE)  # the provider retries the same event
    event = WebhookEvent.objects.get(provider="simulated")
    assert event.event_type == "transfer.success"
    assert event.reference == REFERENCE


@pytest.mark.django_db
def test_simulated_accepts_a_hand_made_recipient_code(simulated):
    result = simulated.initiate_transfer(
        reference="DSB-1", amount=100, recipient_code="RCP_sim", reason="test"
    )
    assert result.state == TransferState.SUCCESS
