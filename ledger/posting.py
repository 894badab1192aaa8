"""The only writer of journal entries. Every money movement is one balanced entry written in
the same transaction as the business change (the caller's ``transaction.atomic``).

Sign convention: debit positive, credit negative; an entry's postings sum to zero. This module
checks it; on PostgreSQL a deferred constraint trigger checks it again at commit.
"""

from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from ledger.chart import account_id, valid_key
from ledger.models import EntryKind, JournalEntry, Posting, ledger_writes
from loans.models import Loan


class UnbalancedEntry(ValueError):
    pass


class InvalidIdempotencyKey(ValueError):
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


def _check_key(key: str) -> None:
    if not valid_key(key):
        raise InvalidIdempotencyKey(
            f"Journal entries need an idempotency key '<event>:<id>' with a known event, "
            f"not {key!r} (ledger.chart.EVENTS)."
        )


def post_entry(
    *,
    kind: EntryKind,
    lines: list[Line],
    effective_date: date,
    idempotency_key: str,
    memo: str = "",
    loan=None,
    payment=None,
    reverses=None,
    actor=None,
) -> JournalEntry:
    """Write one balanced entry. A second call with the same idempotency key posts nothing and
    returns the first entry (a retried task or duplicate event moves no money twice)."""
    _check_key(idempotency_key)
    lines = [line for line in lines if line.amount != 0]
    if not lines:
        raise UnbalancedEntry("An entry needs at least one non-zero line.")
    if any(not isinstance(line.amount, int) for line in lines):
        raise TypeError("Ledger amounts are integer kobo.")
    total = sum(line.amount for line in lines)
    if total != 0:
        raise UnbalancedEntry(f"Entry does not balance: off by {total} kobo.")
    existing = JournalEntry.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic(), ledger_writes():
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
                    account_id=account_id(line.account),
                    amount=line.amount,
                    loan_id=line.loan_id,
                    member_id=line.member_id,
                )
                for line in lines
            )
    except IntegrityError:
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


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def post_loan_entries(
    *,
    kind: EntryKind,
    event: str,
    effective_date: date,
    memo: str,
    amounts: QuerySet,
    debit_account: str,
    credit_account: str,
) -> int:
    """Set-based twin of ``post_entry`` for runs over the whole portfolio: one balanced
    two-line entry per loan (``debit_account`` up by the amount, ``credit_account`` down),
    keyed ``<event>:<effective date>:<loan id>``, in three statements whatever the row count.

    ``amounts`` is a queryset whose first two columns are the loan id and a positive amount,
    one row per loan (e.g. ``.values_list("loan_id").annotate(Sum("amount"))``). Returns the
    number of entries written. Runs in the caller's transaction; a loan already posted for the
    same event and day fails the unique key (the caller's run is idempotent per day)."""
    prefix = f"{event}:{effective_date.isoformat()}:"
    _check_key(f"{prefix}0")
    sub_sql, sub_params = amounts.query.get_compiler(connection=connection).as_sql()
    entry, posting, loan = _table(JournalEntry), _table(Posting), _table(Loan)
    source = f"WITH s (loan_id, amount) AS ({sub_sql})"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {entry} (created_at, effective_date, kind, memo, loan_id, idempotency_key)
            {source}
            SELECT %s, %s, %s, %s, s.loan_id, %s || CAST(s.loan_id AS TEXT) FROM s
            """,  # noqa: S608 - table names from the models, values as parameters
            [*sub_params, timezone.now(), effective_date, kind, memo[:200], prefix],
        )
        entries = cursor.rowcount
        for code, sign in ((debit_account, 1), (credit_account, -1)):
            cursor.execute(
                f"""
                INSERT INTO {posting} (entry_id, account_id, loan_id, member_id, amount)
                {source}
                SELECT e.id, %s, e.loan_id, l.member_id, %s * s.amount
                FROM s
                JOIN {entry} e ON e.idempotency_key = %s || CAST(s.loan_id AS TEXT)
                JOIN {loan} l ON l.id = s.loan_id
                """,  # noqa: S608
                [*sub_params, account_id(code), sign, prefix],
            )
            if cursor.rowcount != entries:
                # Debit and credit come from the same sums, so each entry balances; the
                # PostgreSQL trigger checks that again at commit. This catches an entry left
                # without its postings (on SQLite too).
                raise UnbalancedEntry(
                    f"{entries} {event} entries but {cursor.rowcount} postings to {code}."
                )
    return entries
