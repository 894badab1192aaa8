"""The chart of accounts and the business events the ledger knows.

Sign convention: debit positive, credit negative; an entry's postings sum to zero.

A loan's receivable accounts (principal, interest, fees, penalties) are kept per loan. The
whole contractual interest is booked at payout against unearned interest and recognised as
income when paid, so the loan's ledger balance always equals what the schedule says is still
owed.
"""

import re

from ledger.models import Account

CASH_PROVIDER = "1000"
CASH_BANK = "1010"
LOANS_PRINCIPAL = "1100"
LOANS_INTEREST = "1110"
LOANS_FEES = "1120"
LOANS_PENALTIES = "1130"
MEMBER_CREDIT = "2000"
UNEARNED_INTEREST = "2100"
SUSPENSE = "2900"
INTEREST_INCOME = "4000"
FEE_INCOME = "4100"
PENALTY_INCOME = "4200"
RECOVERY_INCOME = "4300"
WRITE_OFF_EXPENSE = "5000"
CHARGES_WAIVED = "5100"

CHART = [
    (CASH_PROVIDER, "Cash at payments provider", "asset"),
    (CASH_BANK, "Cash at bank", "asset"),
    (LOANS_PRINCIPAL, "Loans receivable – principal", "asset"),
    (LOANS_INTEREST, "Loans receivable – interest", "asset"),
    (LOANS_FEES, "Loans receivable – fees", "asset"),
    (LOANS_PENALTIES, "Loans receivable – late fees", "asset"),
    (MEMBER_CREDIT, "Member credit", "liability"),
    (UNEARNED_INTEREST, "Unearned interest", "liability"),
    (SUSPENSE, "Suspense", "liability"),
    (INTEREST_INCOME, "Interest income", "income"),
    (FEE_INCOME, "Fee income", "income"),
    (PENALTY_INCOME, "Late-fee income", "income"),
    (RECOVERY_INCOME, "Recoveries on written-off loans", "income"),
    (WRITE_OFF_EXPENSE, "Loan write-offs", "expense"),
    # Fees and late fees forgiven by a waiver (servicing); waived interest was never income and
    # goes back against unearned interest instead.
    (CHARGES_WAIVED, "Fees and charges waived", "expense"),
]
RECEIVABLE_ACCOUNTS = (LOANS_PRINCIPAL, LOANS_INTEREST, LOANS_FEES, LOANS_PENALTIES)

# Every journal entry carries an idempotency key "<event>:<id>" naming the business event that
# moved the money (e.g. "disbursement:42", "late_fee:2026-01-10:42"): a retried task or a
# duplicate webhook never posts twice, and a row whose key breaks the format was not written by
# ledger.posting (see ledger.selectors.entries_not_from_ledger).
EVENTS = (
    "adjustment",
    "disbursement",
    "late_fee",
    "late_fee_naive",  # bench/overdue_run.py's per-row comparison
    "payment",
    "recovery",
    "refund",  # refund:<refund id>, a refund's transfer confirmed (payments.services.refunds)
    "restructure",  # restructure:<id>, a hardship restructure approved (servicing)
    "reversal",
    "settlement",
    "suspense",  # suspense:<statement line id>, an unidentified deposit booked to suspense
    "suspense_assign",  # suspense_assign:<line id>, that deposit assigned to a loan
    "waiver",
    "write_off",
)
KEY_PATTERN = r"^(" + "|".join(EVENTS) + r"):[0-9A-Za-z][-0-9A-Za-z:._]*$"
_KEY = re.compile(KEY_PATTERN)


def valid_key(key: str | None) -> bool:
    return key is not None and _KEY.match(key) is not None


def ensure_chart() -> None:
    """Create the chart of accounts if missing (migrations do this; flushed test databases
    need it again)."""
    for code, name, kind in CHART:
        Account.objects.get_or_create(code=code, defaults={"name": name, "type": kind})
    _accounts_by_code.clear()


_accounts_by_code: dict[str, int] = {}


def account_id(code: str) -> int:
    if code not in _accounts_by_code:
        _accounts_by_code.update(dict(Account.objects.values_list("code", "id")))
    return _accounts_by_code[code]
