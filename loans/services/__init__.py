"""Origination: quote, key facts and consent, submit, assess, approve/reject, cancel.

Every write is one transaction that re-reads the row with ``select_for_update``, checks
the transition map, and writes one history row and one audit event. The package is split by
sub-domain (``application``, ``assessment``, ``decisions``, ``booking``, ``records``); the names
other apps call are re-exported here.
"""

from loans.services.application import (
    Quote,
    cancel_application,
    quote,
    start_application,
    submit_application,
)
from loans.services.assessment import (
    STALE_ASSESSMENT_AFTER,
    assess_application,
    fraud_flags,
    stale_submissions,
)
from loans.services.booking import (
    PAYOUT_STARTED_CHECKS,
    LateFeeRule,
    create_loan,
    late_fee_rule_of,
    refix_schedule_dates,
)
from loans.services.decisions import (
    add_note,
    approve_application,
    reject_application,
    request_information,
)
from loans.services.payout_checks import (
    approval_expires_on,
    check_payout,
    expire_approvals,
    payout_problems,
)

__all__ = [
    "PAYOUT_STARTED_CHECKS",
    "STALE_ASSESSMENT_AFTER",
    "LateFeeRule",
    "Quote",
    "add_note",
    "approval_expires_on",
    "check_payout",
    "expire_approvals",
    "payout_problems",
    "approve_application",
    "assess_application",
    "cancel_application",
    "create_loan",
    "fraud_flags",
    "late_fee_rule_of",
    "quote",
    "refix_schedule_dates",
    "reject_application",
    "request_information",
    "stale_submissions",
    "start_application",
    "submit_application",
]
