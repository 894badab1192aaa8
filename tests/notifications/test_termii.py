"""The Termii SMS adapter against recorded-looking answers (respx), and its settings."""

import json
from pathlib import Path

import httpx
import pytest
import respx
import time_machine
from django.test import TestCase

from notifications import sms
from notifications.models import Channel, Message, MessageStatus
from notifications.services import notify_member
from simulator import sms as simulated_sms
from tests.factories import approved_loan
from tests.notifications.conftest import borrower, lagos

FIXTURES = Path(__file__).parent / "fixtures"
BASE = "https://termii.test"


def recorded(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def termii():
    provider = sms.TermiiSmsProvider(
        api_key="tk_test_key", sender_id="AllaweePlus", base_url=BASE, channel="dnd", timeout=2
    )
    yield provider
    provider.close()


@respx.mock
def test_termii_sends_the_documented_request_and_returns_the_message_id(termii):
    route = respx.post(f"{BASE}/api/sms/send").mock(
        return_value=httpx.Response(200, json=recorded("termii_send_success.json"))
    )
    reference = termii.send(to="+2348031234567", text="AllaweePlus: hello")
    assert reference == "9122821270554876574"
    sent = json.loads(route.calls.last.request.content)
    assert sent == {
        "api_key": "tk_test_key",
        "to": "2348031234567",
        "from": "AllaweePlus",
        "sms": "AllaweePlus: hello",
        "type": "plain",
        "channel": "dnd",
    }


@respx.mock
def test_termii_refusal_is_an_error_that_is_not_retried(termii):
    respx.post(f"{BASE}/api/sms/send").mock(
        return_value=httpx.Response(400, json=recorded("termii_send_invalid_sender.json"))
    )
    with pytest.raises(sms.SmsError, match="ApplicationSenderId not found") as caught:
        termii.send(to="+2348031234567", text="hello")
    assert caught.value.retryable is False


@respx.mock
@pytest.mark.parametrize("status", [500, 502, 429])
def test_termii_server_errors_are_retried(termii, status):
    respx.post(f"{BASE}/api/sms/send").mock(return_value=httpx.Response(status, text="busy"))
    with pytest.raises(sms.SmsError, match=f"HTTP {status}") as caught:
        termii.send(to="+2348031234567", text="hello")
    assert caught.value.retryable is True


@respx.mock
def test_termii_timeout_after_sending_is_not_retried(termii):
    respx.post(f"{BASE}/api/sms/send").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(sms.SmsError, match="not sent again") as caught:
        termii.send(to="+2348031234567", text="hello")
    assert caught.value.retryable is False


@respx.mock
def test_termii_unreachable_is_retried(termii):
    respx.post(f"{BASE}/api/sms/send").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(sms.SmsError, match="unreachable") as caught:
        termii.send(to="+2348031234567", text="hello")
    assert caught.value.retryable is True


@respx.mock
def test_termii_answer_without_message_id_is_an_error(termii):
    respx.post(f"{BASE}/api/sms/send").mock(return_value=httpx.Response(200, json={"x": 1}))
    with pytest.raises(sms.SmsError, match="no message_id"):
        termii.send(to="+2348031234567", text="hello")


@pytest.mark.django_db
@respx.mock
def test_member_sms_goes_through_termii_when_configured(settings):
    settings.SMS_PROVIDER = "termii"
    settings.TERMII_API_KEY = "tk_test_key"
    settings.TERMII_SENDER_ID = "AllaweePlus"
    settings.TERMII_BASE_URL = BASE
    route = respx.post(f"{BASE}/api/sms/send").mock(
        return_value=httpx.Response(200, json=recorded("termii_send_success.json"))
    )
    with time_machine.travel(lagos(2026, 3, 2, 10), tick=False):
        member = borrower()
        application = approved_loan(member=member).application
        with TestCase.captureOnCommitCallbacks(execute=True):
            notify_member(
                member=member,
                kind="application_approved",
                context={"application": application, "loan": application.loan},
                channels=[Channel.SMS],
            )
    message = Message.objects.get()
    assert message.status == MessageStatus.SENT
    assert message.provider_reference == "9122821270554876574"
    sent = json.loads(route.calls.last.request.content)
    assert sent["to"] == member.phone.removeprefix("+")
    assert application.reference in sent["sms"]
    assert simulated_sms.outbox == []  # the simulated provider was not used


@pytest.mark.django_db
@respx.mock
def test_termii_outage_leaves_the_sms_queued_for_retry(settings):
    settings.SMS_PROVIDER = "termii"
    settings.TERMII_API_KEY = "tk_test_key"
    settings.TERMII_SENDER_ID = "AllaweePlus"
    settings.TERMII_BASE_URL = BASE
    respx.post(f"{BASE}/api/sms/send").mock(return_value=httpx.Response(503, text="down"))
    with time_machine.travel(lagos(2026, 3, 2, 10), tick=False):
        member = borrower()
        application = approved_loan(member=member).application
        with TestCase.captureOnCommitCallbacks(execute=True):
            notify_member(
                member=member,
                kind="application_approved",
                context={"application": application, "loan": application.loan},
            )
    rows = dict(Message.objects.values_list("channel", "status"))
    assert rows == {Channel.EMAIL: MessageStatus.SENT, Channel.SMS: MessageStatus.QUEUED}
    assert "HTTP 503" in Message.objects.get(channel=Channel.SMS).last_error


# --- settings -------------------------------------------------------------------------------

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "k" * 60,
    "ALLOWED_HOSTS": "x.ng",
    "PII_ENCRYPTION_KEYS": "ZmVybmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY=",
    "PII_HMAC_KEY": "hmac",
    "PAYMENTS_PROVIDER": "manual",
}


def test_production_defaults_to_no_sms_and_refuses_the_simulated_provider():
    from tests.core.test_platform import run_settings

    assert run_settings(**PRODUCTION).returncode == 0
    result = run_settings(**PRODUCTION, SMS_PROVIDER="simulated")
    assert result.returncode != 0 and "SMS_PROVIDER=simulated is refused" in result.stderr


def test_termii_needs_its_key_and_sender_id():
    from tests.core.test_platform import run_settings

    result = run_settings(**PRODUCTION, SMS_PROVIDER="termii", TERMII_API_KEY="k")
    assert result.returncode != 0 and "TERMII_SENDER_ID" in result.stderr
    ok = run_settings(
        **PRODUCTION, SMS_PROVIDER="termii", TERMII_API_KEY="k", TERMII_SENDER_ID="Allawee"
    )
    assert ok.returncode == 0, ok.stderr


@pytest.mark.parametrize(("end", "start"), [("7", "21"), ("8", "22"), ("12", "10")])
def test_contact_hours_cannot_be_widened_beyond_eight_to_nine(end, start):
    from tests.core.test_platform import run_settings

    result = run_settings(DEBUG="true", NOTIFY_QUIET_END=end, NOTIFY_QUIET_START=start)
    assert result.returncode != 0 and "08:00-21:00" in result.stderr


def test_contact_hours_can_be_narrowed():
    from tests.core.test_platform import run_settings

    result = run_settings(DEBUG="true", NOTIFY_QUIET_END="9", NOTIFY_QUIET_START="20")
    assert result.returncode == 0, result.stderr
