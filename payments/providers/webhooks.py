"""The Paystack webhook format, shared by the Paystack adapter and the simulated provider.

Signature: HMAC-SHA512 of the *raw* request body keyed with the secret, as lowercase hex, in a
request header (``x-paystack-signature``; ``x-simulated-signature`` for the simulator). It is
checked on the bytes as received, before any JSON parsing, and compared in constant time.

Event ids. Paystack sends no event id, and it retries a delivery until we answer 200, so the
id must be derived from the body such that

* the same event delivered twice gets the same id (the inbox then ignores the copy), and
* distinct events about one object get different ids: ``transfer.success`` followed by
  ``transfer.reversed`` for the same transfer must both be processed.

The id is therefore ``"<event>:<object key>"``: the key is the transfer code for
``transfer.*`` events (the reference Paystack stores is lower-cased, the code is not), and the
provider's numeric object id for everything else (``charge.success:302961``). The event name is
part of the id because Paystack's numeric ids come from separate sequences per object type: a
dispute and a transaction can share an id. Without a code or id the reference is used, and as
a last resort a hash of the data, which is still the same for a re-delivered body.
"""

import hashlib
import hmac
import json

from core.money import MoneyError, parse_kobo
from payments.providers.base import InvalidWebhook, WebhookNotice

MAX_EVENT_ID_LENGTH = 120  # WebhookEvent.event_id


def sign_body(secret: str, raw_body: bytes) -> str:
    return hmac.new(secret.encode(), raw_body, hashlib.sha512).hexdigest()


def signature_matches(secret: str, raw_body: bytes, signature: str | None) -> bool:
    """True only for the exact signature of these bytes; missing or malformed is False."""
    if not secret or not signature or not isinstance(signature, str):
        return False
    if not isinstance(raw_body, bytes | bytearray):
        return False
    expected = sign_body(secret, bytes(raw_body)).encode()
    return hmac.compare_digest(expected, signature.strip().lower().encode())


def as_kobo(value) -> int | None:
    """An amount from a provider as integer kobo; anything that is not a whole number of
    kobo in range (a float, a decimal string, a bool, other scripts' digits, a number of a
    thousand digits) is no amount (None) rather than rounded: the caller's amount check then
    hands the payment to finance."""
    try:
        return parse_kobo(value)
    except MoneyError:
        return None


def event_id_for(event: str, data: dict) -> str:
    if event.startswith("transfer."):
        key = data.get("transfer_code") or _reference_key(data) or _id_key(data)
    else:
        key = _id_key(data) or _reference_key(data)
    if not key:
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
        key = "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
    event_id = f"{event}:{key}"
    if len(event_id) > MAX_EVENT_ID_LENGTH:
        digest = hashlib.sha256(event_id.encode()).hexdigest()
        event_id = f"{event[:50]}:sha256:{digest}"
    return event_id


def _id_key(data: dict) -> str:
    value = data.get("id")
    return str(value) if value not in (None, "") and not isinstance(value, bool) else ""


def _reference_key(data: dict) -> str:
    reference = data.get("reference")
    return f"ref:{reference}" if isinstance(reference, str) and reference else ""


def notice_from_payload(payload: dict) -> WebhookNotice:
    """Reduce a Paystack-shaped event (``{"event": ..., "data": {...}}``) to a notice."""
    if not isinstance(payload, dict):
        raise InvalidWebhook("The webhook body is not a JSON object.")
    event = payload.get("event")
    data = payload.get("data")
    if not isinstance(event, str) or not event or not isinstance(data, dict):
        raise InvalidWebhook("The webhook body has no event name or no data object.")
    reference = data.get("reference")
    return WebhookNotice(
        event_id=event_id_for(event, data),
        event_type=event,
        reference=reference if isinstance(reference, str) else "",
        amount=as_kobo(data.get("amount")),
        payload=payload,
    )
