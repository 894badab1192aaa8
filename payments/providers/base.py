"""The payments-provider interface. Services talk only to this; adapters do the HTTP.

Amounts are integer kobo. Every call that can move money takes *our* unique reference, so a
retry after a timeout or a crash can never pay twice: the provider refuses a second transfer
with a reference it has seen, and ``verify_*`` tells us what really happened.
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class ProviderError(Exception):
    """The provider could not be reached or answered with an error. Safe to retry later."""


class ProviderRejected(ProviderError):
    """The provider answered and refused the request (unknown account, invalid amount,
    a checkout reference used before...). Nothing was sent; repeating the same request will
    not help, so show the message to a person."""


class InvalidWebhook(ProviderError, ValueError):
    """A correctly signed webhook body that is not an event we can read (also a ValueError,
    so a view that answers 400 to unreadable JSON answers 400 to this too)."""


class TransferState(StrEnum):
    PENDING = "pending"  # accepted, final state comes by webhook or verify
    SUCCESS = "success"
    FAILED = "failed"
    REVERSED = "reversed"
    NOT_FOUND = "not_found"  # the provider never saw this reference: safe to (re)send


@dataclass(frozen=True)
class AccountResolution:
    account_number: str
    bank_code: str
    account_name: str


@dataclass(frozen=True)
class TransferResult:
    reference: str
    state: TransferState
    amount: int | None = None
    provider_reference: str = ""
    reason: str = ""
    raw: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CheckoutSession:
    reference: str
    authorization_url: str


class ChargeState(StrEnum):
    PENDING = "pending"
    SUCCESS = "success"
    FAILED = "failed"
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class ChargeResult:
    reference: str
    state: ChargeState
    amount: int | None = None
    paid_at: datetime | None = None
    raw: dict = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookNotice:
    """A provider event reduced to what we need; the raw payload is stored beside it."""

    event_id: str
    event_type: str  # "charge.success", "transfer.success", "transfer.failed", ...
    reference: str
    amount: int | None
    payload: dict


class PaymentsProvider:
    name = "base"
    supports_transfers = True
    supports_checkout = True
    # The request header carrying the webhook signature (HMAC-SHA512 hex of the raw body).
    signature_header = ""

    def resolve_account(self, *, account_number: str, bank_code: str) -> AccountResolution:
        raise NotImplementedError

    def create_recipient(self, *, name: str, account_number: str, bank_code: str) -> str:
        raise NotImplementedError

    def initiate_transfer(
        self, *, reference: str, amount: int, recipient_code: str, reason: str
    ) -> TransferResult:
        raise NotImplementedError

    def verify_transfer(self, *, reference: str) -> TransferResult:
        raise NotImplementedError

    def initialize_checkout(
        self, *, reference: str, amount: int, email: str, callback_url: str
    ) -> CheckoutSession:
        raise NotImplementedError

    def verify_charge(self, *, reference: str) -> ChargeResult:
        raise NotImplementedError

    def verify_signature(self, *, raw_body: bytes, signature: str) -> bool:
        raise NotImplementedError

    def parse_webhook(self, *, payload: dict) -> WebhookNotice:
        raise NotImplementedError
