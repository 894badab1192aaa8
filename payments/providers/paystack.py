"""Paystack adapter: Transfers (payouts) and Transactions (member checkout) over httpx.

Money safety rests on our reference. A transfer is initiated with our unique reference; if
Paystack has already seen it (a retry after a timeout, a crash before our commit), it refuses
the duplicate and we ask ``/transfer/verify`` what happened to the first one instead of raising,
so every retry is safe. Anything we cannot be sure about — a timeout, a 5xx, a network error, a
body that is not JSON — raises ``ProviderError``: the caller keeps the disbursement in "sent"
and the sweeper verifies later. Nothing is ever swallowed.

Amounts are integer kobo in both directions. Transfer references are sent lower-cased:
Paystack documents them as lower-case identifiers (``-``, ``_`` and alphanumerics only) and
stores them that way, so webhooks and verify answers carry the lower-cased form.

The secret key comes only from settings (the environment); it is never logged or repr'd.
"""

import logging
import re
from urllib.parse import quote

import httpx
from django.core.exceptions import ImproperlyConfigured
from django.utils.dateparse import parse_datetime

from payments.providers.base import (
    AccountResolution,
    ChargeResult,
    ChargeState,
    CheckoutSession,
    PaymentsProvider,
    ProviderError,
    ProviderRejected,
    TransferResult,
    TransferState,
    WebhookNotice,
)
from payments.providers.webhooks import as_kobo, notice_from_payload, signature_matches

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.paystack.co"
CURRENCY = "NGN"

_TRANSFER_STATES = {
    "success": TransferState.SUCCESS,
    "failed": TransferState.FAILED,
    "reversed": TransferState.REVERSED,
    # Never finalised (an OTP was required and not given) or refused before sending: no money
    # left the balance, so the payout can be tried again with a new reference.
    "abandoned": TransferState.FAILED,
    "rejected": TransferState.FAILED,
    "pending": TransferState.PENDING,
    "otp": TransferState.PENDING,
    "processing": TransferState.PENDING,
    "received": TransferState.PENDING,
    "queued": TransferState.PENDING,
}

_CHARGE_STATES = {
    "success": ChargeState.SUCCESS,
    "failed": ChargeState.FAILED,
    # Money went back to the payer: never credit it to a loan.
    "reversed": ChargeState.FAILED,
    # "abandoned" is how Paystack reports a checkout the member has opened but not finished;
    # it can still succeed, so it is pending like the rest.
    "abandoned": ChargeState.PENDING,
    "ongoing": ChargeState.PENDING,
    "pending": ChargeState.PENDING,
    "processing": ChargeState.PENDING,
    "queued": ChargeState.PENDING,
}

_TRANSFER_REFERENCE = re.compile(r"^[a-z0-9_-]{1,100}$")
_ACCOUNT_NUMBER = re.compile(r"^\d{10}$")


class PaystackAPIError(ProviderRejected):
    """Paystack answered a 4xx with ``status: false``; the message is Paystack's own."""

    def __init__(self, message: str, *, http_status: int, code: str = ""):
        super().__init__(message)
        self.http_status = http_status
        self.code = code


class PaystackProvider(PaymentsProvider):
    name = "paystack"
    signature_header = "x-paystack-signature"

    def __init__(
        self,
        secret_key: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 10,
        *,
        transport: httpx.BaseTransport | None = None,
    ):
        if not secret_key:
            raise ImproperlyConfigured(
                "PAYSTACK_SECRET_KEY is not set. Put the secret key in the environment "
                "(PAYSTACK_SECRET_KEY or PAYSTACK_SECRET_KEY_FILE) or use "
                "PAYMENTS_PROVIDER=simulated."
            )
        self._secret_key = secret_key
        self._client = httpx.Client(
            base_url=base_url,
            timeout=timeout,
            transport=transport,
            headers={
                "Authorization": f"Bearer {secret_key}",
                "Accept": "application/json",
                "User-Agent": "AllaweePlus",
            },
        )

    def __repr__(self):
        mode = "live" if self._secret_key.startswith("sk_live_") else "test"
        return f"<PaystackProvider {mode} {self._client.base_url}>"

    def close(self):
        self._client.close()

    # --- HTTP -------------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, params=None, json=None) -> tuple[int, dict]:
        """One request. Returns (HTTP status, JSON body) for 2xx and 4xx answers; raises
        ProviderError when the outcome is unknown (timeout, network, 5xx, 429, not JSON)."""
        try:
            response = self._client.request(method, path, params=params, json=json)
        except httpx.TimeoutException as exc:
            logger.warning("paystack timeout", extra={"event": "paystack.timeout", "path": path})
            raise ProviderError(f"Paystack did not answer in time ({method} {path}).") from exc
        except httpx.HTTPError as exc:
            logger.warning(
                "paystack unreachable", extra={"event": "paystack.network_error", "path": path}
            )
            raise ProviderError(
                f"Could not reach Paystack ({method} {path}): {type(exc).__name__}."
            ) from exc
        status = response.status_code
        if status >= 500 or status == 429:
            logger.warning(
                "paystack error",
                extra={"event": "paystack.server_error", "path": path, "status": status},
            )
            raise ProviderError(
                f"Paystack answered HTTP {status} ({method} {path}); try again later."
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise ProviderError(
                f"Paystack answered HTTP {status} with a body that is not JSON ({method} {path})."
            ) from exc
        if not isinstance(body, dict):
            raise ProviderError(
                f"Paystack answered HTTP {status} with an unexpected body ({method} {path})."
            )
        return status, body

    @staticmethod
    def _ok(status: int, body: dict) -> bool:
        return 200 <= status < 300 and body.get("status") is True

    @staticmethod
    def _refusal(status: int, body: dict, what: str) -> ProviderError:
        message = body.get("message") or f"HTTP {status}"
        if 400 <= status < 500:
            return PaystackAPIError(
                f"Paystack refused to {what}: {message}",
                http_status=status,
                code=str(body.get("code") or ""),
            )
        # A 2xx with status false, or a 3xx: we do not know what happened.
        return ProviderError(f"Paystack could not {what}: {message}")

    @staticmethod
    def _data(body: dict, what: str) -> dict:
        data = body.get("data")
        if not isinstance(data, dict):
            raise ProviderError(f"Paystack's answer to {what} has no data object.")
        return data

    @staticmethod
    def _is_not_found(status: int, body: dict) -> bool:
        message = str(body.get("message") or "").lower()
        return status == 404 or (400 <= status < 500 and "not found" in message)

    @staticmethod
    def _is_duplicate_reference(status: int, body: dict) -> bool:
        if not 400 <= status < 500:
            return False
        message = str(body.get("message") or "").lower()
        code = str(body.get("code") or "").lower()
        if "duplicate" in code:
            return True
        return ("reference" in message or "duplicate" in message) and any(
            word in message for word in ("duplicate", "already", "exist", "unique")
        )

    # --- Accounts and recipients ------------------------------------------------------------

    def resolve_account(self, *, account_number: str, bank_code: str) -> AccountResolution:
        if not _ACCOUNT_NUMBER.match(account_number or ""):
            raise ProviderRejected("An account number has exactly 10 digits.")
        status, body = self._call(
            "GET",
            "/bank/resolve",
            params={"account_number": account_number, "bank_code": bank_code},
        )
        if not self._ok(status, body):
            raise self._refusal(status, body, "resolve the account")
        data = self._data(body, "resolve the account")
        name = str(data.get("account_name") or "").strip()
        if not name:
            raise ProviderError("Paystack resolved the account without a name.")
        return AccountResolution(
            account_number=str(data.get("account_number") or account_number),
            bank_code=bank_code,
            account_name=name,
        )

    def create_recipient(self, *, name: str, account_number: str, bank_code: str) -> str:
        # Paystack returns the existing recipient for an account it already knows, so calling
        # this again on a retry creates nothing new.
        status, body = self._call(
            "POST",
            "/transferrecipient",
            json={
                "type": "nuban",
                "name": name,
                "account_number": account_number,
                "bank_code": bank_code,
                "currency": CURRENCY,
            },
        )
        if not self._ok(status, body):
            raise self._refusal(status, body, "create the transfer recipient")
        code = self._data(body, "create the transfer recipient").get("recipient_code")
        if not isinstance(code, str) or not code:
            raise ProviderError("Paystack created a recipient without a recipient code.")
        return code

    # --- Transfers --------------------------------------------------------------------------

    def initiate_transfer(
        self, *, reference: str, amount: int, recipient_code: str, reason: str
    ) -> TransferResult:
        paystack_reference = _transfer_reference(reference)
        _check_amount(amount)
        status, body = self._call(
            "POST",
            "/transfer",
            json={
                "source": "balance",
                "amount": amount,
                "currency": CURRENCY,
                "recipient": recipient_code,
                "reference": paystack_reference,
                "reason": reason,
            },
        )
        if self._ok(status, body):
            return self._transfer_result(reference, self._data(body, "initiate the transfer"))
        if self._is_duplicate_reference(status, body):
            # We sent this reference before (a retry): report what became of that transfer.
            logger.info(
                "duplicate transfer reference; verifying",
                extra={"event": "paystack.transfer_duplicate"},
            )
            result = self.verify_transfer(reference=reference)
            if result.state == TransferState.NOT_FOUND:
                # Paystack says it has the reference but cannot show it yet: it is not safe
                # to send again, so it is pending until verify or a webhook says otherwise.
                return TransferResult(
                    reference=reference,
                    state=TransferState.PENDING,
                    reason="Paystack reports a duplicate reference",
                    raw=body,
                )
            if result.amount is not None and result.amount != amount:
                logger.error(
                    "duplicate transfer reference with another amount",
                    extra={
                        "event": "paystack.transfer_amount_mismatch",
                        "expected": amount,
                        "found": result.amount,
                    },
                )
            return result
        raise self._refusal(status, body, "initiate the transfer")

    def verify_transfer(self, *, reference: str) -> TransferResult:
        paystack_reference = _transfer_reference(reference)
        status, body = self._call("GET", f"/transfer/verify/{quote(paystack_reference)}")
        if self._ok(status, body):
            return self._transfer_result(reference, self._data(body, "verify the transfer"))
        if self._is_not_found(status, body):
            return TransferResult(reference=reference, state=TransferState.NOT_FOUND, raw=body)
        raise self._refusal(status, body, "verify the transfer")

    def _transfer_result(self, reference: str, data: dict) -> TransferResult:
        status = str(data.get("status") or "").lower()
        state = _TRANSFER_STATES.get(status)
        if state is None:
            # An unknown status must never be read as failed: a failure frees the loan for a
            # second payout. Pending keeps it with the sweeper until Paystack says more.
            logger.warning(
                "unknown paystack transfer status",
                extra={"event": "paystack.transfer_status_unknown", "status": status},
            )
            state = TransferState.PENDING
        reason = ""
        if state in (TransferState.FAILED, TransferState.REVERSED):
            reason = _failure_reason(data, status)
        return TransferResult(
            reference=reference,
            state=state,
            amount=as_kobo(data.get("amount")),
            provider_reference=str(data.get("transfer_code") or ""),
            reason=reason,
            raw=data,
        )

    # --- Checkout (Transactions) ------------------------------------------------------------

    def initialize_checkout(
        self, *, reference: str, amount: int, email: str, callback_url: str
    ) -> CheckoutSession:
        _check_amount(amount)
        status, body = self._call(
            "POST",
            "/transaction/initialize",
            json={
                "email": email,
                "amount": amount,
                "currency": CURRENCY,
                "reference": reference,
                "callback_url": callback_url,
            },
        )
        if not self._ok(status, body):
            raise self._refusal(status, body, "start the checkout")
        data = self._data(body, "start the checkout")
        url = data.get("authorization_url")
        if not isinstance(url, str) or not url.startswith("https://"):
            raise ProviderError("Paystack started a checkout without a usable payment page URL.")
        return CheckoutSession(reference=reference, authorization_url=url)

    def verify_charge(self, *, reference: str) -> ChargeResult:
        status, body = self._call("GET", f"/transaction/verify/{quote(reference, safe='')}")
        if self._is_not_found(status, body):
            return ChargeResult(reference=reference, state=ChargeState.NOT_FOUND, raw=body)
        if not self._ok(status, body):
            raise self._refusal(status, body, "verify the payment")
        data = self._data(body, "verify the payment")
        charge_status = str(data.get("status") or "").lower()
        state = _CHARGE_STATES.get(charge_status, ChargeState.PENDING)
        amount = as_kobo(data.get("amount"))
        if data.get("currency") not in (None, CURRENCY):
            # Kobo of another currency are not kobo: report no amount, so the caller's amount
            # check flags the payment for finance instead of posting it.
            amount = None
        paid_at = None
        if state == ChargeState.SUCCESS:
            paid_at = parse_datetime(str(data.get("paid_at") or data.get("paidAt") or ""))
        return ChargeResult(
            reference=reference, state=state, amount=amount, paid_at=paid_at, raw=data
        )

    # --- Webhooks ---------------------------------------------------------------------------

    def verify_signature(self, *, raw_body: bytes, signature: str) -> bool:
        return signature_matches(self._secret_key, raw_body, signature)

    def parse_webhook(self, *, payload: dict) -> WebhookNotice:
        return notice_from_payload(payload)


def _transfer_reference(reference: str) -> str:
    value = (reference or "").strip().lower()
    if not _TRANSFER_REFERENCE.match(value):
        raise ProviderRejected(
            f"Transfer reference {reference!r} may only contain letters, digits, '-' and '_'."
        )
    return value


def _check_amount(amount) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ProviderRejected(f"Amount must be a positive whole number of kobo, not {amount!r}.")


def _failure_reason(data: dict, status: str) -> str:
    for key in ("gateway_response", "failures", "message"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:300]
        if isinstance(value, dict):
            text = value.get("reason") or value.get("message")
            if isinstance(text, str) and text.strip():
                return text.strip()[:300]
        if isinstance(value, list) and value:
            return "; ".join(str(item) for item in value)[:300]
    return f"Paystack reports the transfer {status}."
