"""Double-entry ledger. Every money movement is one balanced entry written in the same
transaction as the business change (the caller's ``transaction.atomic``).

Sign convention: debit positive, credit negative; an entry's postings sum to zero. The
service checks this; on PostgreSQL a deferred constraint trigger checks it again at commit.

A loan's receivable accounts (principal, interest, fees, penalties) are kept per loan. The
whole contractual interest is booked at payout against unearned interest and recognised as
income when paid, so the loan's ledger balance always equals what the schedule says is still
owed.
"""

from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum

from payments.models import Account, EntryKind, JournalEntry, Posting

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
WRITE_OFF_EXPENSE = "5000"

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
    (WRITE_OFF_EXPENSE, "Loan write-offs", "expense"),
]
RECEIVABLE_ACCOUNTS = (LOANS_PRINCIPAL, LOANS_INTEREST, LOANS_FEES, LOANS_PENALTIES)


def ensure_chart() -> None:
    """Create the chart of accounts if missing (migrations do this; flushed test databases
    need it again)."""
    for code, name, kind in CHART:
        Account.objects.get_or_create(code=code, defaults={"name": name, "type": kind})
    _accounts_by_code.clear()


class UnbalancedEntry(ValueError):
    pass


@dataclass(frozen=True)
class Line:
    account: str
    amount: int  # debit positive, credit negative
    loan_id: int | None = None
    member_id: int | None = None


def debit(account, amount, **dims) -> Line:
    return Line(account, amount, **dims)


def credit(account, amount, **dims) -> Line:
    return Line(account, -amount, **dims)


_accounts_by_code: dict[str, int] = {}


def _account_id(code: str) -> int:
    if code not in _accounts_by_code:
        _accounts_by_code.update(dict(Account.objects.values_list("code", "id")))
    return _accounts_by_code[code]


def post_entry(
    *,
    kind: EntryKind,
    lines: list[Line],
    effective_date: date,
    memo: str = "",
    loan=None,
    payment=None,
    reverses=None,
    idempotency_key: str | None = None,
    actor=None,
) -> JournalEntry:
    """Write one balanced entry. With an idempotency key, a second call posts nothing and
    returns the first entry (a retried task or duplicate event moves no money twice)."""
    lines = [line for line in lines if line.amount != 0]
    if not lines:
        raise UnbalancedEntry("An entry needs at least one non-zero line.")
    if any(not isinstance(line.amount, int) for line in lines):
        raise TypeError("Ledger amounts are integer kobo.")
    total = sum(line.amount for line in lines)
    if total != 0:
        raise UnbalancedEntry(f"Entry does not balance: off by {total} kobo.")
    if idempotency_key:
        existing = JournalEntry.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    try:
        with transaction.atomic():
            entry = JournalEntry.objects.create(
                kind=kind,
                effective_date=effective_date,
                memo=memo[:200],
                loan=loan,
                payment=payment,
                reverses=reverses,
                idempotency_key=idempotency_key,
                actor=actor if actor is not None and actor.is_authenticated else None,
            )
            Posting.objects.bulk_create(
                Posting(
                    entry=entry,
                    account_id=_account_id(line.account),
                    amount=line.amount,
                    loan_id=line.loan_id,
                    member_id=line.member_id,
                )
                for line in lines
            )
    except IntegrityError:
        if idempotency_key:
            existing = JournalEntry.objects.filter(idempotency_key=idempotency_key).first()
            if existing is not None:
                return existing
        raise
    return entry


def reverse_entry(
    *, entry: JournalEntry, effective_date: date, memo: str = "", actor=None
) -> JournalEntry:
    """Undo an entry exactly: the same postings with opposite signs."""
    lines = [
        Line(p.account.code, -p.amount, loan_id=p.loan_id, member_id=p.member_id)
        for p in entry.postings.select_related("account")
    ]
    return post_entry(
        kind=EntryKind.REVERSAL,
        lines=lines,
        effective_date=effective_date,
        memo=memo or f"Reversal of entry {entry.pk}",
        loan=entry.loan,
        payment=entry.payment,
        reverses=entry,
        idempotency_key=f"reversal:{entry.pk}",
        actor=actor,
    )


def loan_balance(loan) -> int:
    """What the member still owes on the loan, from the ledger."""
    total = Posting.objects.filter(loan=loan, account__code__in=RECEIVABLE_ACCOUNTS).aggregate(
        total=Sum("amount")
    )["total"]
    return total or 0


def loan_balances(loan) -> dict[str, int]:
    rows = Posting.objects.filter(loan=loan).values("account__code").annotate(total=Sum("amount"))
    return {row["account__code"]: row["total"] for row in rows}


def loan_statement(loan) -> list[dict]:
    """The loan's own ledger lines in order, with the running amount still owed."""
    rows = (
        Posting.objects.filter(loan=loan, account__code__in=RECEIVABLE_ACCOUNTS)
        .values("entry_id", "entry__effective_date", "entry__kind", "entry__memo")
        .annotate(amount=Sum("amount"))
        .order_by("entry_id")
    )
    owed, lines = 0, []
    for row in rows:
        owed += row["amount"]
        lines.append(
            {
                "entry": row["entry_id"],
                "date": row["entry__effective_date"],
                "kind": row["entry__kind"],
                "memo": row["entry__memo"],
                "amount": row["amount"],
                "owed": owed,
            }
        )
    return lines


def member_credit(member) -> int:
    """Money we hold for the member (overpayments), as a positive number."""
    total = Posting.objects.filter(member=member, account__code=MEMBER_CREDIT).aggregate(
        total=Sum("amount")
    )["total"]
    return -(total or 0)


def trial_balance() -> dict:
    """Per account: debit total, credit total, balance; and whether everything balances."""
    rows = (
        Posting.objects.values("account__code", "account__name", "account__type")
        .annotate(
            balance=Sum("amount"),
            debit=Sum("amount", filter=Q(amount__gt=0), default=0),
            credit=Sum("amount", filter=Q(amount__lt=0), default=0),
        )
        .order_by("account__code")
    )
    accounts = [
        {
            "code": r["account__code"],
            "name": r["account__name"],
            "type": r["account__type"],
            "debit": r["debit"],
            "credit": -r["credit"],
            "balance": r["balance"],
        }
        for r in rows
    ]
    total_debit = sum(a["debit"] for a in accounts)
    total_credit = sum(a["credit"] for a in accounts)
    return {
        "accounts": accounts,
        "total_debit": total_debit,
        "total_credit": total_credit,
        "balanced": total_debit == total_credit,
    }


def unbalanced_entries() -> list[int]:
    """Ids of any entry whose postings do not sum to zero (must always be empty)."""
    return list(
        Posting.objects.values("entry_id")
        .annotate(total=Sum("amount"))
        .exclude(total=0)
        .values_list("entry_id", flat=True)
    )
