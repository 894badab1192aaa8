"""The ledger is the only writer of journal entries (issue 16): writing around
``ledger.posting`` through the ORM is refused, a raw-SQL entry is detected by its key, and the
bulk posting the overdue run uses writes balanced entries."""

import ast
from datetime import date
from pathlib import Path

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from ledger import chart
from ledger.models import EntryKind, JournalEntry, LedgerWriteRefused, Posting
from ledger.posting import (
    InvalidIdempotencyKey,
    credit,
    debit,
    post_entry,
    post_loan_entries,
    reverse_entry,
)
from ledger.selectors import (
    entries_not_from_ledger,
    loan_balance,
    loan_balances,
    trial_balance,
    unbalanced_entries,
)
from loans.models import Loan
from tests.factories import active_loan

pytestmark = pytest.mark.django_db
TODAY = date(2026, 1, 10)
ROOT = Path(__file__).resolve().parents[2]


def adjustment(key="adjustment:1", amount=500):
    return post_entry(
        kind=EntryKind.ADJUSTMENT,
        effective_date=TODAY,
        lines=[debit(chart.CASH_BANK, amount), credit(chart.SUSPENSE, amount)],
        idempotency_key=key,
    )


def test_creating_an_entry_or_posting_outside_the_ledger_is_refused():
    with pytest.raises(LedgerWriteRefused):
        JournalEntry.objects.create(
            kind=EntryKind.ADJUSTMENT, effective_date=TODAY, idempotency_key="adjustment:9"
        )
    entry = adjustment()
    cash = entry.postings.first().account
    with pytest.raises(LedgerWriteRefused):
        Posting.objects.create(entry=entry, account=cash, amount=1)
    with pytest.raises(LedgerWriteRefused):
        Posting.objects.bulk_create([Posting(entry=entry, account=cash, amount=1)])
    with pytest.raises(LedgerWriteRefused):
        JournalEntry.objects.bulk_create([JournalEntry(kind="adjustment", effective_date=TODAY)])
    assert JournalEntry.objects.count() == 1 and Posting.objects.count() == 2


def test_changing_or_deleting_a_written_entry_outside_the_ledger_is_refused():
    entry = adjustment()
    entry.memo = "edited"
    with pytest.raises(LedgerWriteRefused):
        entry.save()
    with pytest.raises(LedgerWriteRefused):
        JournalEntry.objects.filter(pk=entry.pk).update(memo="edited")
    with pytest.raises(LedgerWriteRefused):
        Posting.objects.filter(entry=entry).update(amount=1)
    with pytest.raises(LedgerWriteRefused):
        entry.postings.first().delete()
    with pytest.raises(LedgerWriteRefused):
        Posting.objects.filter(entry=entry).delete()
    entry.refresh_from_db()
    assert entry.memo == "" and trial_balance()["balanced"]


def test_post_entry_needs_a_key_in_the_ledger_format():
    for key in ("", "1", "event:1", "adjustment:", "adjustment 1", "Adjustment:1", None):
        with pytest.raises(InvalidIdempotencyKey):
            adjustment(key=key)
    with pytest.raises(TypeError):
        post_entry(  # the key is a required argument
            kind=EntryKind.ADJUSTMENT,
            effective_date=TODAY,
            lines=[debit(chart.CASH_BANK, 1), credit(chart.SUSPENSE, 1)],
        )
    assert not JournalEntry.objects.exists()


def test_a_journal_entry_inserted_in_raw_sql_is_detected():
    entry = adjustment()
    reverse_entry(entry=entry, effective_date=TODAY)
    assert entries_not_from_ledger() == []
    table = connection.ops.quote_name(JournalEntry._meta.db_table)
    with connection.cursor() as cursor:
        for key in (None, "manual fix", "event:1"):
            cursor.execute(
                f"INSERT INTO {table} (created_at, effective_date, kind, memo, idempotency_key) "  # noqa: S608
                "VALUES (%s, %s, %s, %s, %s)",
                [timezone.now(), TODAY, EntryKind.ADJUSTMENT, "by hand", key],
            )
    found = JournalEntry.objects.filter(pk__in=entries_not_from_ledger())
    assert sorted(found.values_list("memo", flat=True)) == ["by hand"] * 3
    assert entry.pk not in entries_not_from_ledger()


def test_bulk_posting_writes_one_balanced_entry_per_loan():
    loans = [active_loan(), active_loan()]
    before = {loan.pk: loan_balance(loan) for loan in loans}
    amounts = (
        Loan.objects.filter(pk__in=[loan.pk for loan in loans])
        .order_by()
        .values_list("id", "fee_amount")
    )
    written = post_loan_entries(
        kind=EntryKind.LATE_FEE,
        event="late_fee",
        effective_date=TODAY,
        memo="Late fees",
        amounts=amounts,
        debit_account=chart.LOANS_PENALTIES,
        credit_account=chart.PENALTY_INCOME,
    )
    assert written == 2
    for loan in loans:
        loan.refresh_from_db()
        entry = JournalEntry.objects.get(loan=loan, kind=EntryKind.LATE_FEE)
        assert entry.idempotency_key == f"late_fee:{TODAY.isoformat()}:{loan.pk}"
        assert sorted(entry.postings.values_list("amount", "member_id")) == [
            (-loan.fee_amount, loan.member_id),
            (loan.fee_amount, loan.member_id),
        ]
        assert loan_balance(loan) == before[loan.pk] + loan.fee_amount
        assert loan_balances(loan)[chart.LOANS_PENALTIES] == loan.fee_amount
    assert unbalanced_entries() == [] and trial_balance()["balanced"]
    assert entries_not_from_ledger() == []
    # The same event and day twice is refused by the unique key (the run is once a day).
    with pytest.raises(IntegrityError), transaction.atomic():
        post_loan_entries(
            kind=EntryKind.LATE_FEE,
            event="late_fee",
            effective_date=TODAY,
            memo="Late fees",
            amounts=amounts,
            debit_account=chart.LOANS_PENALTIES,
            credit_account=chart.PENALTY_INCOME,
        )


def test_bulk_posting_refuses_an_unknown_event():
    with pytest.raises(InvalidIdempotencyKey):
        post_loan_entries(
            kind=EntryKind.LATE_FEE,
            event="fee by hand",
            effective_date=TODAY,
            memo="",
            amounts=Loan.objects.values_list("id", "fee_amount"),
            debit_account=chart.LOANS_PENALTIES,
            credit_account=chart.PENALTY_INCOME,
        )


def test_no_product_code_outside_the_ledger_writes_its_tables():
    """Raw SQL naming the ledger's tables, or the ledger's writing context, stays in ledger/."""
    packages = ["api", "arrears", "config", "core", "devdata", "loans", "members", "payments"]
    packages += ["notifications", "privacy", "reports"]
    offenders = []
    for package in packages:
        for path in (ROOT / package).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative:
                continue
            source = path.read_text()
            if "payments_journalentry" in source or "payments_posting" in source:
                offenders.append(f"{relative}: names a ledger table")
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.ImportFrom) and node.module == "ledger.models":
                    if any(alias.name == "ledger_writes" for alias in node.names):
                        offenders.append(f"{relative}: imports ledger_writes")
    assert offenders == []


def test_bulk_posting_writes_what_post_entry_would():
    """The set-based shortcut holds equal to the plain path, entry for entry."""
    bulk_loan, plain_loan = active_loan(), active_loan()
    post_loan_entries(
        kind=EntryKind.LATE_FEE,
        event="late_fee",
        effective_date=TODAY,
        memo="Late fees for 10 Jan 2026",
        amounts=Loan.objects.filter(pk=bulk_loan.pk).values_list("id", "fee_amount"),
        debit_account=chart.LOANS_PENALTIES,
        credit_account=chart.PENALTY_INCOME,
    )
    dims = {"loan_id": plain_loan.pk, "member_id": plain_loan.member_id}
    post_entry(
        kind=EntryKind.LATE_FEE,
        effective_date=TODAY,
        memo="Late fees for 10 Jan 2026",
        loan=plain_loan,
        lines=[
            debit(chart.LOANS_PENALTIES, plain_loan.fee_amount, **dims),
            credit(chart.PENALTY_INCOME, plain_loan.fee_amount, **dims),
        ],
        idempotency_key=f"late_fee:{TODAY.isoformat()}:{plain_loan.pk}",
    )

    def shape(loan):
        entry = JournalEntry.objects.get(loan=loan, kind=EntryKind.LATE_FEE)
        postings = sorted(
            (p.account.code, p.amount, p.loan_id == loan.pk, p.member_id == loan.member_id)
            for p in entry.postings.select_related("account")
        )
        key = entry.idempotency_key.removesuffix(str(loan.pk))
        return (entry.effective_date, entry.memo, entry.payment_id, entry.actor_id, key, postings)

    assert bulk_loan.fee_amount == plain_loan.fee_amount
    assert shape(bulk_loan) == shape(plain_loan)
