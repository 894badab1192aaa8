"""SMS providers: one small interface and Termii's Messaging API (the simulated provider for
development and tests is ``simulator.sms``).

``get_sms_provider()`` returns the provider named by ``SMS_PROVIDER`` (``None`` for ``none``),
built by the one provider registry (``core.providers``) from ``SMS_PROVIDERS``.
A provider sends one text to one number and returns the provider's message id, or raises
``SmsError``. ``retryable`` says whether sending again is safe: a refusal or a connection
that never reached the provider is; a timeout after the request went out is not, because the
text may already be on the member's phone and a member must never get a message twice.
"""

import logging
from typing import Protocol

import httpx
from django.conf import settings

from core.providers import ProviderRegistry

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


registry = ProviderRegistry(
    kind="SMS",
    setting="SMS_PROVIDER",
    paths_setting="SMS_PROVIDERS",
    reset_prefixes=("TERMII_",),
    names=("simulated", "termii"),
)


def get_sms_provider() -> SmsProvider | None:
    if settings.SMS_PROVIDER == "none":
        return None
    return registry.get()


def reset_sms_providers(**kwargs) -> None:
    registry.reset()


def termii_from_settings() -> TermiiSmsProvider:
    """The registry's factory for ``SMS_PROVIDERS["termii"]``."""
    return TermiiSmsProvider(
        api_key=settings.TERMII_API_KEY,
        sender_id=settings.TERMII_SENDER_ID,
        base_url=settings.TERMII_BASE_URL,
        channel=settings.TERMII_CHANNEL,
        timeout=settings.TERMII_TIMEOUT_SECONDS,
    )
