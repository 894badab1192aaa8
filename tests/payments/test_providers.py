"""Payments providers: Paystack against recorded answers (respx), the manual provider, and
choosing between them (the simulated provider's own tests: tests/simulator/test_provider.py)."""

import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import respx
from django.core.exceptions import ImproperlyConfigured

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
from simulator.payments import SimulatedProvider

FIXTURES = Path(__file__).parent / "fixtures"
PAYSTACK = "https://api.paystack.test"
PAYSTACK_KEY = "sk_test_0123456789abcdef0123456789abcdef01234567"
SIM_SECRET = "simulated-secret-for-tests"
REFERENCE = "DSB-LN-7F3A9C2E1B4D-1"
PAYSTACK_REFERENCE = REFERENCE.lower()  # Paystack keeps transfer references in lower case


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


@pytest.fixture(autouse=True)
def _fresh_providers():
    reset_providers()
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
