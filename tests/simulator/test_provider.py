"""The simulated payments provider against its database records: transfers, webhook delivery
modes, the hosted checkout page and the webhook reaching the project's inbox."""

import json
import logging

import httpx
import pytest
import respx
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from payments.providers import get_provider, reset_providers
from payments.providers.base import ChargeState, ProviderRejected, TransferState
from simulator.delivery import CAPTURED_WEBHOOKS
from simulator.models import SimulatedProviderRecord
from simulator.payments import SimulatedProvider
from simulator.views import simulated_checkout

SIM_SECRET = "simulated-secret-for-tests"
REFERENCE = "DSB-LN-7F3A9C2E1B4D-1"


# --- A URLconf for the page and webhook tests -------------------------------------------------

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
OWN_URLS = "tests.simulator.test_provider"


# --- Helpers ----------------------------------------------------------------------------------


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
    with caplog.at_level(logging.ERROR, logger="simulator"):
        result = send(get_provider("simulated"))
    assert result.state == TransferState.SUCCESS
    assert "simulated webhook view failed" in caplog.text


@pytest.mark.django_db
def test_simulated_inline_delivery_without_a_webhook_url_is_logged_and_skipped(
    settings, caplog, monkeypatch
):
    from django.urls import Resolver404

    from simulator import delivery as delivery_module

    def no_url(path):
        raise Resolver404(path)

    monkeypatch.setattr(delivery_module, "resolve", no_url)
    settings.SIMULATED_WEBHOOK_DELIVERY = "inline"
    with caplog.at_level(logging.WARNING, logger="simulator"):
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
            caplog.at_level(logging.WARNING, logger="simulator"),
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
