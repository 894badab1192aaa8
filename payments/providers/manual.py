"""The manual provider: finance pays the member from the bank's own channels and records the
bank's transfer reference (``services.record_manual_disbursement``). Nothing is sent from here,
nothing arrives by webhook, and members cannot pay online."""

from payments.providers.accounts import member_name_for_account
from payments.providers.base import (
    AccountResolution,
    ChargeResult,
    ChargeState,
    CheckoutSession,
    InvalidWebhook,
    PaymentsProvider,
    ProviderRejected,
    TransferResult,
    TransferState,
    WebhookNotice,
)

MANUAL_PAYOUT_MESSAGE = "Manual payouts are recorded by finance with the bank reference"
NO_CHECKOUT_MESSAGE = (
    "Online payment is not available with the manual provider; finance records repayments."
)


class ManualProvider(PaymentsProvider):
    name = "manual"
    supports_transfers = False
    supports_checkout = False

    def resolve_account(self, *, account_number: str, bank_code: str) -> AccountResolution:
        # There is no bank to ask: the member's own name goes through, and finance checks it
        # against the bank when making the transfer.
        name = member_name_for_account(account_number=account_number, bank_code=bank_code)
        if not name:
            raise ProviderRejected(
                "No member has given this account; check the name with the bank before paying."
            )
        return AccountResolution(
            account_number=account_number, bank_code=bank_code, account_name=name
        )

    def create_recipient(self, *, name: str, account_number: str, bank_code: str) -> str:
        raise ProviderRejected(MANUAL_PAYOUT_MESSAGE)

    def initiate_transfer(
        self, *, reference: str, amount: int, recipient_code: str, reason: str
    ) -> TransferResult:
        raise ProviderRejected(MANUAL_PAYOUT_MESSAGE)

    def verify_transfer(self, *, reference: str) -> TransferResult:
        return TransferResult(reference=reference, state=TransferState.NOT_FOUND)

    def initialize_checkout(
        self, *, reference: str, amount: int, email: str, callback_url: str
    ) -> CheckoutSession:
        raise ProviderRejected(NO_CHECKOUT_MESSAGE)

    def verify_charge(self, *, reference: str) -> ChargeResult:
        return ChargeResult(reference=reference, state=ChargeState.NOT_FOUND)

    def verify_signature(self, *, raw_body: bytes, signature: str) -> bool:
        return False  # the manual provider sends no webhooks, so none is genuine

    def parse_webhook(self, *, payload: dict) -> WebhookNotice:
        raise InvalidWebhook("The manual provider sends no webhooks.")
