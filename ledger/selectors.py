"""Read-only questions to the ledger: balances, statements, the trial balance and its checks."""

from django.db.models import Q, Sum

from ledger.chart import KEY_PATTERN, MEMBER_CREDIT, RECEIVABLE_ACCOUNTS
from ledger.models import JournalEntry, Posting


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


def members_with_credit():
    """Ids of members we hold credit for (a subquery; one aggregate over the credit account)."""
    return (
        Posting.objects.filter(account__code=MEMBER_CREDIT, member__isnull=False)
        .values("member_id")
        .annotate(total=Sum("amount"))
        .filter(total__lt=0)
        .values("member_id")
    )


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


def entries_not_from_ledger() -> list[int]:
    """Ids of entries whose idempotency key is missing or breaks the ledger's
    ``<event>:<id>`` format: rows written around ``ledger.posting`` (raw SQL, a manual
    session). Must always be empty."""
    return list(
        JournalEntry.objects.filter(
            Q(idempotency_key__isnull=True) | ~Q(idempotency_key__regex=KEY_PATTERN)
        )
        .order_by("id")
        .values_list("id", flat=True)
    )
