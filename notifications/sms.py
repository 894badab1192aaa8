"""SMS providers: one small interface, a simulated provider and Termii's Messaging API.

``get_sms_provider()`` returns the provider named by ``SMS_PROVIDER`` (``None`` for ``none``).
A provider sends one text to one number and returns the provider's message id, or raises
``SmsError``. ``retryable`` says whether sending again is safe: a refusal or a connection
that never reached the provider is; a timeout after the request went out is not, because the
text may already be on the member's phone and a member must never get a message twice.
"""

import logging
import threading
from dataclasses import dataclass
from typing import Protocol

import httpx
from django.conf import settings
from django.core.signals import setting_changed
from django.utils.crypto import get_random_string

logger = logging.getLogger(__name__)


class SmsError(Exception):
    def __init__(self, message: str, *, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


class SmsProvider(Protocol):
    name: str

    def send(self, *, to: str, text: str) -> str:
        """Send ``text`` to the E.164 number ``to``; the provider's message id."""
        ...


@dataclass(frozen=True)
class SimulatedSms:
    to: str
    text: str
    reference: str


# What the simulated provider "sent", newest last (like django.core.mail.outbox).
outbox: list[SimulatedSms] = []


class SimulatedSmsProvider:
    """Development and tests: nothing leaves the machine."""

    name = "simulated"

    def send(self, *, to: str, text: str) -> str:
        reference = f"sim-{get_random_string(16)}"
        outbox.append(SimulatedSms(to=to, text=text, reference=reference))
        logger.info("simulated sms sent", extra={"event": "sms.simulated", "reference": reference})
        return reference


class TermiiSmsProvider:
    """Termii Messaging API: ``POST {base}/api/sms/send`` with a JSON body; a success answer
    carries ``message_id``. Numbers go in international form without the plus sign."""

    name = "termii"

    def __init__(
        self,
        *,
        api_key: str,
        sender_id: str,
        base_url: str,
        channel: str = "dnd",
        timeout: float = 10,
        transport: httpx.BaseTransport | None = None,
    ):
        self._api_key = api_key
        self._sender_id = sender_id
        self._channel = channel
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            transport=transport,
            headers={"Accept": "application/json"},
        )

    def close(self) -> None:
        self._client.close()

    def send(self, *, to: str, text: str) -> str:
        payload = {
            "api_key": self._api_key,
            "to": to.removeprefix("+"),
            "from": self._sender_id,
            "sms": text,
            "type": "plain",
            "channel": self._channel,
        }
        try:
            response = self._client.post("/api/sms/send", json=payload)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise SmsError(f"Termii unreachable: {type(exc).__name__}", retryable=True) from exc
        except httpx.TimeoutException as exc:
            raise SmsError(
                "Termii did not answer in time; the text may have been sent, so it is not "
                "sent again",
                retryable=False,
            ) from exc
        except httpx.HTTPError as exc:
            raise SmsError(f"Termii call failed: {type(exc).__name__}", retryable=False) from exc

        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 500 or response.status_code == 429:
            raise SmsError(f"Termii answered HTTP {response.status_code}", retryable=True)
        if response.status_code >= 400:
            # A refusal (bad key, unknown sender ID, invalid number) will not heal by retrying.
            detail = str(body.get("message", ""))[:200] if isinstance(body, dict) else ""
            raise SmsError(
                f"Termii refused the message (HTTP {response.status_code}): {detail}".strip(),
                retryable=False,
            )
        message_id = body.get("message_id") if isinstance(body, dict) else None
        if not message_id:
            raise SmsError("Termii answer carried no message_id", retryable=False)
        logger.info("termii sms sent", extra={"event": "sms.termii", "reference": message_id})
        return str(message_id)


_providers: dict[str, SmsProvider] = {}
_lock = threading.Lock()


def get_sms_provider() -> SmsProvider | None:
    name = settings.SMS_PROVIDER
    if name == "none":
        return None
    provider = _providers.get(name)
    if provider is None:
        with _lock:
            provider = _providers.get(name)
            if provider is None:
                provider = _providers[name] = _build(name)
    return provider


def _build(name: str) -> SmsProvider:
    if name == "termii":
        return TermiiSmsProvider(
            api_key=settings.TERMII_API_KEY,
            sender_id=settings.TERMII_SENDER_ID,
            base_url=settings.TERMII_BASE_URL,
            channel=settings.TERMII_CHANNEL,
            timeout=settings.TERMII_TIMEOUT_SECONDS,
        )
    if name == "simulated":
        return SimulatedSmsProvider()
    raise ValueError(f"Unknown SMS provider {name!r}")


def reset_sms_providers(**kwargs) -> None:
    with _lock:
        providers = list(_providers.values())
        _providers.clear()
    for provider in providers:
        close = getattr(provider, "close", None)
        if close is not None:
            close()


def _on_setting_changed(*, setting, **kwargs):
    if setting == "SMS_PROVIDER" or setting.startswith("TERMII_"):
        reset_sms_providers()


setting_changed.connect(_on_setting_changed)
