"""The simulated provider's records read as Paystack would answer: results, webhook events,
and the input checks Paystack applies (the same refusals)."""

import hashlib

from django.utils.dateparse import parse_datetime

from payments.providers.base import (
    ChargeResult,
    ChargeState,
    ProviderRejected,
    TransferResult,
    TransferState,
)

CURRENCY = "NGN"

DEFAULT_ACCOUNT_NAME = "SIMULATED ACCOUNT HOLDER"
CLOSED_ACCOUNT_SUFFIX = "0000"
CLOSED_ACCOUNT_REASON = "Account closed"
DECLINED_REASON = "Transfer declined by the receiving bank (simulated)"
FAILED_REASON = "Transfer failed (simulated)"
REVERSED_REASON = "Transfer reversed by the receiving bank (simulated)"

TRANSFER = "transfer"
CHARGE = "charge"
PENDING = "pending"
SUCCESS = "success"
FAILED = "failed"
REVERSED = "reversed"

TRANSFER_OUTCOMES = (SUCCESS, FAILED, PENDING)
# What a settled transfer may become next; anything else is refused.
TRANSFER_TRANSITIONS = {PENDING: {SUCCESS, FAILED}, SUCCESS: {REVERSED}}


# --- Records to Paystack-shaped answers -------------------------------------------------------


def transfer_result(record) -> TransferResult:
    state = TransferState(record.status)
    reason = (
        record.data.get("failure_reason", "")
        if state in (TransferState.FAILED, TransferState.REVERSED)
        else ""
    )
    return TransferResult(
        reference=record.reference,
        state=state,
        amount=record.amount,
        provider_reference=record.data.get("transfer_code", ""),
        reason=reason,
        raw=dict(record.data, status=record.status),
    )


def charge_result(record) -> ChargeResult:
    paid_at = parse_datetime(record.data.get("paid_at") or "") if record.status == SUCCESS else None
    return ChargeResult(
        reference=record.reference,
        state=ChargeState(record.status),
        amount=record.amount,
        paid_at=paid_at,
        raw=dict(record.data, status=record.status),
    )


def transfer_event(record) -> dict:
    """Built from the record only, so a re-delivery is byte-for-byte the same event."""
    data = record.data
    return {
        "event": f"transfer.{record.status}",
        "data": {
            "id": record.pk,
            "reference": record.reference,
            "amount": record.amount,
            "currency": CURRENCY,
            "status": record.status,
            "transfer_code": data.get("transfer_code", ""),
            "reason": data.get("narration", ""),
            "failures": data.get("failure_reason") or None,
            "recipient": {
                "recipient_code": data.get("recipient_code", ""),
                "details": {
                    "account_number": data.get("account_number", ""),
                    "bank_code": data.get("bank_code", ""),
                },
            },
        },
    }


def charge_event(record) -> dict:
    data = record.data
    return {
        "event": f"charge.{record.status}",
        "data": {
            "id": record.pk,
            "reference": record.reference,
            "amount": record.amount,
            "currency": CURRENCY,
            "status": record.status,
            "paid_at": data.get("paid_at"),
            "gateway_response": data.get("gateway_response", ""),
            "customer": {"email": data.get("email", "")},
        },
    }


# --- Input checks (the same refusals Paystack would give) -------------------------------------


def check_account_number(account_number: str) -> None:
    if not (
        isinstance(account_number, str) and len(account_number) == 10 and account_number.isdigit()
    ):
        raise ProviderRejected(
            "Could not resolve account name: an account number has exactly 10 digits."
        )


def check_reference(reference: str) -> None:
    if not reference or not isinstance(reference, str) or len(reference) > 80:
        raise ProviderRejected("A reference of 1 to 80 characters is required.")


def check_amount(amount) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ProviderRejected(f"Amount must be a positive whole number of kobo, not {amount!r}.")


def transfer_code(reference: str) -> str:
    return "TRF_SIM_" + hashlib.blake2b(reference.encode(), digest_size=8).hexdigest()


def parse_recipient(recipient_code: str) -> tuple[str, str]:
    """(bank code, account number) from a code made by ``create_recipient``. Any other
    non-empty code is accepted as a recipient with no known account (tests and fixtures use
    hand-made codes); only an empty one is refused."""
    if not isinstance(recipient_code, str) or not recipient_code.strip():
        raise ProviderRejected("Recipient specified is invalid")
    parts = recipient_code.split("_")
    if len(parts) == 4 and parts[:2] == ["RCP", "SIM"]:
        return parts[2], parts[3]
    return "", ""
