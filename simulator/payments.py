"""The simulated payments provider, for development, tests and the demo.

It behaves like Paystack where our code can tell the difference: one transfer per reference
(a repeat returns the first one's state), verify answers from its own records, a hosted
checkout page, and signed webhooks in Paystack's JSON shape delivered to our own endpoint, so
the webhook processing code is the same for both. Its state lives in
``SimulatedProviderRecord`` rows, so the web process and the worker see the same "provider".

Behaviour, read from settings on every call (constructor arguments override them):

``SIMULATED_TRANSFER_OUTCOME``  "success" (default), "failed" or "pending". A pending transfer
    stays pending until ``settle_transfer()`` (or ``SIMULATED_SETTLE_AFTER_SECONDS``).
``SIMULATED_FAIL_ACCOUNTS``     account numbers whose transfers fail. Account numbers ending in
    "0000" always fail with "Account closed".
``SIMULATED_DELAY_SECONDS``     latency added to every call (default 0).
``SIMULATED_SETTLE_AFTER_SECONDS``  if set, a verify of a pending transfer at least this old
    settles it as a success (and sends the webhook): lets the sweeper finish a demo payout.
``SIMULATED_WEBHOOK_DELIVERY``  "inline" (default: call the view at ``/webhooks/simulated`` in
    this process), "http" (POST to ``SITE_URL + /webhooks/simulated`` after commit), "capture"
    (append to ``CAPTURED_WEBHOOKS``, for tests) or "off".

Webhook signature: header ``x-simulated-signature`` = HMAC-SHA512 hex of the raw body keyed
with ``SIMULATED_PROVIDER_SECRET``, the same scheme as Paystack's ``x-paystack-signature``.
"""

import json
import logging
import time
from datetime import timedelta
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.utils import timezone

from payments.providers.accounts import member_name_for_account
from payments.providers.base import (
    AccountResolution,
    ChargeResult,
    ChargeState,
    CheckoutSession,
    PaymentsProvider,
    ProviderRejected,
    TransferResult,
    TransferState,
    WebhookNotice,
)
from payments.providers.webhooks import notice_from_payload, sign_body, signature_matches
from simulator import delivery, records
from simulator.delivery import CAPTURED_WEBHOOKS, SIGNATURE_HEADER, WEBHOOK_PATH
from simulator.models import SimulatedProviderRecord
from simulator.records import (
    CHARGE,
    CLOSED_ACCOUNT_REASON,
    CLOSED_ACCOUNT_SUFFIX,
    DECLINED_REASON,
    DEFAULT_ACCOUNT_NAME,
    FAILED,
    FAILED_REASON,
    PENDING,
    REVERSED,
    REVERSED_REASON,
    SUCCESS,
    TRANSFER,
    TRANSFER_OUTCOMES,
)

__all__ = [
    "CAPTURED_WEBHOOKS",
    "CHECKOUT_PATH",
    "SIGNATURE_HEADER",
    "WEBHOOK_PATH",
    "SimulatedProvider",
    "checkout_url",
    "from_settings",
]

logger = logging.getLogger(__name__)

CHECKOUT_PATH = "/payments/simulated/checkout/{reference}/"

_SETTING_DEFAULTS = {
    "SIMULATED_TRANSFER_OUTCOME": SUCCESS,
    "SIMULATED_FAIL_ACCOUNTS": (),
    "SIMULATED_DELAY_SECONDS": 0,
    "SIMULATED_SETTLE_AFTER_SECONDS": None,
    "SIMULATED_WEBHOOK_DELIVERY": "inline",
}


def from_settings() -> "SimulatedProvider":
    """The registry's factory (``PAYMENTS_PROVIDERS["simulated"]``)."""
    return SimulatedProvider(secret=settings.SIMULATED_PROVIDER_SECRET)


def checkout_url(reference: str) -> str:
    return CHECKOUT_PATH.format(reference=quote(reference, safe=""))


class SimulatedProvider(PaymentsProvider):
    name = "simulated"
    signature_header = SIGNATURE_HEADER

    def __init__(
        self,
        secret: str,
        *,
        transfer_outcome: str | None = None,
        fail_accounts=None,
        delay_seconds: float | None = None,
        webhook_delivery: str | None = None,
    ):
        if not secret:
            raise ImproperlyConfigured(
                "SIMULATED_PROVIDER_SECRET is empty; the simulated "
                "provider signs its webhooks with it."
            )
        self._secret = secret
        overrides = {
            "SIMULATED_TRANSFER_OUTCOME": transfer_outcome,
            "SIMULATED_FAIL_ACCOUNTS": fail_accounts,
            "SIMULATED_DELAY_SECONDS": delay_seconds,
            "SIMULATED_WEBHOOK_DELIVERY": webhook_delivery,
        }
        self._overrides = {key: value for key, value in overrides.items() if value is not None}

    def __repr__(self):
        return "<SimulatedProvider>"

    def _setting(self, name: str):
        if name in self._overrides:
            return self._overrides[name]
        return getattr(settings, name, _SETTING_DEFAULTS[name])

    def _pause(self):
        delay = float(self._setting("SIMULATED_DELAY_SECONDS") or 0)
        if delay > 0:
            time.sleep(delay)

    # --- Accounts and recipients ------------------------------------------------------------

    def resolve_account(self, *, account_number: str, bank_code: str) -> AccountResolution:
        self._pause()
        records.check_account_number(account_number)
        name = member_name_for_account(account_number=account_number, bank_code=bank_code)
        # Banks print names in capitals; the name check compares words, not case.
        return AccountResolution(
            account_number=account_number,
            bank_code=bank_code,
            account_name=name.upper() or DEFAULT_ACCOUNT_NAME,
        )

    def create_recipient(self, *, name: str, account_number: str, bank_code: str) -> str:
        self._pause()
        records.check_account_number(account_number)
        # Deterministic, like Paystack returning the existing recipient for a known account.
        return f"RCP_SIM_{bank_code}_{account_number}"

    # --- Transfers --------------------------------------------------------------------------

    def initiate_transfer(
        self,
        *,
        reference: str,
        amount: int,
        recipient_code: str,
        reason: str,
        outcome: str | None = None,
    ) -> TransferResult:
        """Send a payout. ``outcome`` overrides SIMULATED_TRANSFER_OUTCOME for this call."""

        self._pause()
        records.check_reference(reference)
        records.check_amount(amount)
        existing = SimulatedProviderRecord.objects.filter(reference=reference).first()
        if existing is not None:
            return self._repeat_transfer(existing)
        bank_code, account_number = records.parse_recipient(recipient_code)
        status, failure_reason = self._transfer_outcome(account_number, outcome)
        try:
            with transaction.atomic():
                record = SimulatedProviderRecord.objects.create(
                    kind=TRANSFER,
                    reference=reference,
                    amount=amount,
                    status=status,
                    data={
                        "transfer_code": records.transfer_code(reference),
                        "recipient_code": recipient_code,
                        "account_number": account_number,
                        "bank_code": bank_code,
                        "narration": reason,
                        "failure_reason": failure_reason,
                    },
                )
        except IntegrityError:
            # Two senders raced with one reference: the other one's transfer is the transfer.
            return self._repeat_transfer(SimulatedProviderRecord.objects.get(reference=reference))
        logger.info("simulated transfer", extra={"event": "simulated.transfer", "status": status})
        if status != PENDING:
            self.deliver_webhook(records.transfer_event(record))
        return records.transfer_result(record)

    def _repeat_transfer(self, record) -> TransferResult:
        if record.kind != TRANSFER:
            raise ProviderRejected(
                f"Reference {record.reference} belongs to a payment, not a transfer."
            )
        return records.transfer_result(record)

    def _transfer_outcome(self, account_number: str, outcome: str | None) -> tuple[str, str]:
        if account_number.endswith(CLOSED_ACCOUNT_SUFFIX):
            return FAILED, CLOSED_ACCOUNT_REASON
        fail_accounts = self._setting("SIMULATED_FAIL_ACCOUNTS") or ()
        if isinstance(fail_accounts, str):
            fail_accounts = fail_accounts.split(",")
        if account_number in {str(number).strip() for number in fail_accounts}:
            return FAILED, DECLINED_REASON
        outcome = outcome or self._setting("SIMULATED_TRANSFER_OUTCOME")
        if outcome not in TRANSFER_OUTCOMES:
            raise ImproperlyConfigured(
                f"SIMULATED_TRANSFER_OUTCOME must be one of "
                f"{', '.join(TRANSFER_OUTCOMES)}, not {outcome!r}."
            )
        return outcome, FAILED_REASON if outcome == FAILED else ""

    def verify_transfer(self, *, reference: str) -> TransferResult:

        self._pause()
        record = SimulatedProviderRecord.objects.filter(reference=reference, kind=TRANSFER).first()
        if record is None:
            return TransferResult(reference=reference, state=TransferState.NOT_FOUND)
        settle_after = self._setting("SIMULATED_SETTLE_AFTER_SECONDS")
        if (
            record.status == PENDING
            and settle_after is not None
            and timezone.now() - record.created_at >= timedelta(seconds=float(settle_after))
        ):
            try:
                return self.settle_transfer(reference=reference, outcome=SUCCESS)
            except ProviderRejected:
                record.refresh_from_db()  # settled some other way in the meantime
        return records.transfer_result(record)

    def settle_transfer(self, *, reference: str, outcome: str, reason: str = "") -> TransferResult:
        """Finish a pending transfer (success/failed) or reverse a successful one, and send
        the webhook. Settling to the state it already has changes nothing and sends nothing."""

        with transaction.atomic():
            record = (
                SimulatedProviderRecord.objects.select_for_update()
                .filter(reference=reference, kind=TRANSFER)
                .first()
            )
            if record is None:
                raise ProviderRejected(f"No simulated transfer with reference {reference}.")
            if record.status == outcome:
                return records.transfer_result(record)
            if outcome not in records.TRANSFER_TRANSITIONS.get(record.status, ()):
                raise ProviderRejected(f"A {record.status} transfer cannot become {outcome}.")
            record.status = outcome
            if outcome == FAILED:
                record.data["failure_reason"] = reason or FAILED_REASON
            elif outcome == REVERSED:
                record.data["failure_reason"] = reason or REVERSED_REASON
            record.data["settled_at"] = timezone.now().isoformat()
            record.save(update_fields=["status", "data", "updated_at"])
        self.deliver_webhook(records.transfer_event(record))
        return records.transfer_result(record)

    # --- Checkout ---------------------------------------------------------------------------

    def initialize_checkout(
        self, *, reference: str, amount: int, email: str, callback_url: str
    ) -> CheckoutSession:

        self._pause()
        records.check_reference(reference)
        records.check_amount(amount)
        try:
            with transaction.atomic():
                SimulatedProviderRecord.objects.create(
                    kind=CHARGE,
                    reference=reference,
                    amount=amount,
                    status=PENDING,
                    data={"email": email, "callback_url": callback_url},
                )
        except IntegrityError as exc:
            # Paystack refuses a reused transaction reference; so do we.
            raise ProviderRejected("Duplicate Transaction Reference") from exc
        return CheckoutSession(reference=reference, authorization_url=checkout_url(reference))

    def complete_charge(self, *, reference: str, outcome: str) -> ChargeResult:
        """The member paid (success) or declined (failed) on the checkout page: record it and
        send ``charge.success`` / ``charge.failed``. Repeating the same outcome sends nothing."""

        if outcome not in (SUCCESS, FAILED):
            raise ProviderRejected(f"A payment can succeed or fail, not {outcome!r}.")
        with transaction.atomic():
            record = (
                SimulatedProviderRecord.objects.select_for_update()
                .filter(reference=reference, kind=CHARGE)
                .first()
            )
            if record is None:
                raise ProviderRejected(f"No simulated payment with reference {reference}.")
            if record.status == outcome:
                return records.charge_result(record)
            if record.status != PENDING:
                raise ProviderRejected(f"This payment is already {record.status}.")
            record.status = outcome
            if outcome == SUCCESS:
                record.data["paid_at"] = timezone.now().isoformat()
                record.data["gateway_response"] = "Approved"
            else:
                record.data["gateway_response"] = "Declined by the payer (simulated)"
            record.save(update_fields=["status", "data", "updated_at"])
        self.deliver_webhook(records.charge_event(record))
        return records.charge_result(record)

    def verify_charge(self, *, reference: str) -> ChargeResult:

        self._pause()
        record = SimulatedProviderRecord.objects.filter(reference=reference, kind=CHARGE).first()
        if record is None:
            return ChargeResult(reference=reference, state=ChargeState.NOT_FOUND)
        return records.charge_result(record)

    # --- Webhooks ---------------------------------------------------------------------------

    def verify_signature(self, *, raw_body: bytes, signature: str) -> bool:
        return signature_matches(self._secret, raw_body, signature)

    def parse_webhook(self, *, payload: dict) -> WebhookNotice:
        return notice_from_payload(payload)

    def sign(self, raw_body: bytes) -> str:
        return sign_body(self._secret, raw_body)

    def resend_webhook(self, *, reference: str) -> dict:
        """Deliver the last event of a settled transfer or payment again (a provider retry):
        the same body, so the same event id."""

        record = SimulatedProviderRecord.objects.filter(reference=reference).first()
        if record is None or record.status == PENDING:
            raise ProviderRejected(f"Nothing has happened to {reference} to send a webhook for.")
        event = (
            records.transfer_event(record)
            if record.kind == TRANSFER
            else records.charge_event(record)
        )
        self.deliver_webhook(event)
        return event

    def deliver_webhook(self, event: dict) -> None:
        """Send a signed event to our own webhook endpoint. Never raises: a provider whose
        webhook does not arrive is a case our code must survive (verify and the sweeper)."""
        body = json.dumps(event).encode()
        delivery.deliver(
            mode=self._setting("SIMULATED_WEBHOOK_DELIVERY"),
            event=event,
            body=body,
            signature=self.sign(body),
        )
