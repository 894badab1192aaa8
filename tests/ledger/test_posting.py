"""The ledger refuses unbalanced entries and never posts one business event twice."""

from datetime import date

import pytest
from django.db import DatabaseError, connection, transaction

from ledger import chart
from ledger.models import Account, EntryKind, JournalEntry, Posting, ledger_writes
from ledger.posting import UnbalancedEntry, credit, debit, post_entry, reverse_entry
from ledger.selectors import trial_balance

TODAY = date(2026, 1, 10)


@pytest.mark.django_db
def test_an_unbalanced_entry_is_refused_and_nothing_is_written():
    with pytest.raises(UnbalancedEntry, match="off by 1"):
        post_entry(
            kind=EntryKind.ADJUSTMENT,
            effective_date=TODAY,
            lines=[debit(chart.CASH_BANK, 100), credit(chart.SUSPENSE, 99)],
            idempotency_key="adjustment:1",
        )
    assert not JournalEntry.objects.exists() and not Posting.objects.exists()


@pytest.mark.django_db
def test_floats_never_reach_the_ledger():
    with pytest.raises(TypeError):
        post_entry(
            kind=EntryKind.ADJUSTMENT,
            effective_date=TODAY,
            lines=[debit(chart.CASH_BANK, 1.5), credit(chart.SUSPENSE, 1.5)],
            idempotency_key="adjustment:1",
        )


@pytest.mark.django_db
def test_the_same_business_event_posts_once():
    lines = [debit(chart.CASH_BANK, 500), credit(chart.SUSPENSE, 500)]
    first = post_entry(
        kind=EntryKind.ADJUSTMENT, effective_date=TODAY, lines=lines, idempotency_key="adjustment:1"
    )
    second = post_entry(
        kind=EntryKind.ADJUSTMENT, effective_date=TODAY, lines=lines, idempotency_key="adjustment:1"
    )
    assert first.pk == second.pk
    assert Posting.objects.count() == 2
    assert trial_balance()["balanced"]


@pytest.mark.django_db
def test_reversal_is_the_exact_opposite():
    entry = post_entry(
        kind=EntryKind.ADJUSTMENT,
        effective_date=TODAY,
        lines=[debit(chart.CASH_BANK, 700), credit(chart.SUSPENSE, 700)],
        idempotency_key="adjustment:1",
    )
    reverse_entry(entry=entry, effective_date=TODAY)
    tb = trial_balance()
    assert tb["balanced"] and all(a["balance"] == 0 for a in tb["accounts"])
    assert tb["total_debit"] == 1400


@pytest.mark.django_db(transaction=True)
def test_postgresql_refuses_an_unbalanced_entry_at_commit():
    if connection.vendor != "postgresql":
        pytest.skip("the deferred constraint trigger exists on PostgreSQL only")

    cash = Account.objects.get(code=chart.CASH_BANK)
    with pytest.raises(DatabaseError, match="does not balance"):
        with transaction.atomic(), ledger_writes():  # around post_entry's balance check
            entry = JournalEntry.objects.create(
                kind=EntryKind.ADJUSTMENT, effective_date=TODAY, idempotency_key="adjustment:1"
            )
            Posting.objects.create(entry=entry, account=cash, amount=100)
    assert not JournalEntry.objects.exists()
