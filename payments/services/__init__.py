"""Money movements, a module per sub-domain: the payout account, disbursement, repayment,
checkout, reversal and provider webhooks. Every movement posts one balanced ledger entry in
the same transaction as the business change, and leaves an audit event.

Product code imports the sub-module it calls (``from payments.services import repayment``).
The public names are re-exported here for the tests and the allowance deduction
(``services.record_manual_payment``), which call the package.
"""

from payments.services.checkout import (
    AmountMismatch,
    CheckoutInProgress,
    confirm_checkout,
    pending_checkout,
    start_checkout,
)
from payments.services.disbursement import (
    apply_transfer_result,
    complete_disbursement,
    fail_disbursement,
    record_manual_disbursement,
    request_disbursement,
    send_disbursement,
    sweep_disbursements,
)
from payments.services.payout_account import (
    confirm_payout_account,
    names_match,
    resolve_payout_account,
)
from payments.services.repayment import (
    MAX_SINGLE_PAYMENT,
    record_manual_payment,
    record_payment,
)
from payments.services.reversal import reverse_payment
from payments.services.webhooks import process_webhook, stale_webhook_events, store_webhook

__all__ = [
    "MAX_SINGLE_PAYMENT",
    "AmountMismatch",
    "CheckoutInProgress",
    "apply_transfer_result",
    "complete_disbursement",
    "confirm_checkout",
    "confirm_payout_account",
    "fail_disbursement",
    "names_match",
    "pending_checkout",
    "process_webhook",
    "record_manual_disbursement",
    "record_manual_payment",
    "record_payment",
    "request_disbursement",
    "resolve_payout_account",
    "reverse_payment",
    "send_disbursement",
    "sweep_disbursements",
    "stale_webhook_events",
    "start_checkout",
    "store_webhook",
]
