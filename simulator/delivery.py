"""How the simulated provider's signed webhooks reach our own endpoint: in this process
("inline"), over HTTP after commit ("http"), into ``CAPTURED_WEBHOOKS`` ("capture", for
tests) or not at all ("off"). Delivery never raises: a provider whose webhook does not arrive
is a case our code must survive (verify and the sweeper)."""

import logging
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.db import transaction
from django.test import RequestFactory
from django.urls import Resolver404, resolve

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/simulated"
SIGNATURE_HEADER = "x-simulated-signature"
DELIVERY_MODES = ("inline", "http", "capture", "off")

# Webhooks sent in "capture" mode, oldest first: dicts with the event, the raw body, the
# signature and the headers a real delivery would carry. Tests clear it.
CAPTURED_WEBHOOKS: list[dict] = []


def deliver(*, mode: str, event: dict, body: bytes, signature: str) -> None:
    if mode == "capture":
        CAPTURED_WEBHOOKS.append(
            {
                "event": event,
                "body": body,
                "signature": signature,
                "headers": {SIGNATURE_HEADER: signature, "content-type": "application/json"},
            }
        )
    elif mode == "inline":
        deliver_inline(body, signature)
    elif mode == "http":
        # After commit: the receiving process must be able to see our record.
        transaction.on_commit(lambda: deliver_http(body, signature))
    elif mode == "off":
        logger.info(
            "simulated webhook not sent (delivery off)",
            extra={"event": "simulated.webhook_off"},
        )
    else:
        logger.error(
            "unknown SIMULATED_WEBHOOK_DELIVERY; webhook not sent",
            extra={"event": "simulated.webhook_mode_unknown", "mode": str(mode)},
        )


def deliver_inline(body: bytes, signature: str) -> int | None:
    """Call our webhook view in this process, as if the request had come in over HTTP."""
    match = path = None
    for candidate in (WEBHOOK_PATH, WEBHOOK_PATH + "/"):
        try:
            match, path = resolve(candidate), candidate
            break
        except Resolver404:
            continue
    if match is None:
        logger.warning(
            "no URL for %s; simulated webhook not delivered",
            WEBHOOK_PATH,
            extra={"event": "simulated.webhook_no_url"},
        )
        return None
    site = urlsplit(settings.SITE_URL)
    request = RequestFactory().post(
        path,
        data=body,
        content_type="application/json",
        secure=site.scheme == "https",
        headers={SIGNATURE_HEADER: signature, "host": site.netloc or "localhost"},
    )
    try:
        # A savepoint: a failing view must not break the caller's transaction.
        with transaction.atomic():
            response = match.func(request, *match.args, **match.kwargs)
    except Exception:
        logger.exception(
            "simulated webhook view failed", extra={"event": "simulated.webhook_error"}
        )
        return None
    if response.status_code >= 400:
        logger.warning(
            "simulated webhook refused",
            extra={"event": "simulated.webhook_refused", "status": response.status_code},
        )
    return response.status_code


def deliver_http(body: bytes, signature: str) -> int | None:
    url = settings.SITE_URL.rstrip("/") + WEBHOOK_PATH
    try:
        response = httpx.post(
            url,
            content=body,
            timeout=5,
            headers={SIGNATURE_HEADER: signature, "content-type": "application/json"},
        )
    except httpx.HTTPError as exc:
        logger.warning(
            "simulated webhook not delivered: %s",
            type(exc).__name__,
            extra={"event": "simulated.webhook_http_error"},
        )
        return None
    if response.status_code >= 400:
        logger.warning(
            "simulated webhook refused",
            extra={"event": "simulated.webhook_refused", "status": response.status_code},
        )
    return response.status_code
