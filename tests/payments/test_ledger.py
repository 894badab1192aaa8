"""The ledger refuses unbalanced entries and never posts one business event twice."""

from datetime import date

import pytest
from django.db import DatabaseError, connection, transaction
from hypothesis import given
from hypothesis import strategies as st

from payments import ledger
from payments.allocation import Owed, allocate
from payments.ledger import credit, debit
from payments.models import EntryKind, JournalEntry, Posting

TODAY = date(2026, 1, 10)


@pytest.mark.django_db
def test_an_unbalanced_entry_is_refused_and_nothing_is_written():
    with pytest.raises(ledger.UnbalancedEntry, match="off by 1"):
        ledger.post_entry(
            kind=EntryKind.ADJUSTMENT,
            effective_date=TODAY,
            lines=[debit(ledger.CASH_BANK, 100), credit(ledger.SUSPENSE, 99)],
        )
    assert not JournalEntry.objects.exists() and not Posting.objects.exists()


@pytest.mark.django_db
def test_floats_never_reach_the_ledger():
    with pytest.raises(TypeError):
        ledger.post_entry(
            kind=EntryKind.ADJUSTMENT,
            effective_date=TODAY,
            lines=[debit(ledger.CASH_BANK, 1.5), credit(ledger.SUSPENSE, 1.5)],
        )


@pytest.mark.django_db
def test_the_same_business_event_posts_once():
    lines = [debit(ledger.CASH_BANK, 500), credit(ledger.SUSPENSE, 500)]
    first = ledger.post_entry(
        kind=EntryKind.ADJUSTMENT, effective_date=TODAY, lines=lines, idempotency_key="event:1"
    )
    second = ledger.post_entry(
        kind=EntryKind.ADJUSTMENT, effective_date=TODAY, lines=lines, idempotency_key="event:1"
    )
    assert first.pk == second.pk
    assert Posting.objects.count() == 2
    assert ledger.trial_balance()["balanced"]


@pytest.mark.django_db
def test_reversal_is_the_exact_opposite():
    entry = ledger.post_entry(
        kind=EntryKind.ADJUSTMENT,
        effective_date=TODAY,
        lines=[debit(ledger.CASH_BANK, 700), credit(ledger.SUSPENSE, 700)],
    )
    ledger.reverse_entry(entry=entry, effective_date=TODAY)
    tb = ledger.trial_balance()
    assert tb["balanced"] and all(a["balance"] == 0 for a in tb["accounts"])
    assert tb["total_debit"] == 1400


@pytest.mark.django_db(transaction=True)
def test_postgresql_refuses_an_unbalanced_entry_at_commit():
    if connection.vendor != "postgresql":
        pytest.skip("the deferred constraint trigger exists on PostgreSQL only")
    from payments.models import Account

    cash = Account.objects.get(code=ledger.CASH_BANK)
    with pytest.raises(DatabaseError, match="does not balance"):
        with transaction.atomic():
            entry = JournalEntry.objects.create(kind=EntryKind.ADJUSTMENT, effective_date=TODAY)
            Posting.objects.create(entry=entry, account=cash, amount=100)
    assert not JournalEntry.objects.exists()


def test_allocation_order_is_late_fee_fee_interest_principal_oldest_first():
    owed = [Owed(2, 2, 0, 0, 300, 2000), Owed(1, 1, 50, 100, 300, 2000)]
    parts = allocate(500, owed)
    assert [(p.installment_id, p.component, p.amount) for p in parts] == [
        (1, "late_fee", 50),
        (1, "fee", 100),
        (1, "interest", 300),
        (1, "principal", 50),
    ]


def test_overpayment_becomes_member_credit():
    parts = allocate(1000, [Owed(1, 1, 0, 0, 100, 400)])
    assert parts[-1].component == "credit" and parts[-1].amount == 500


@given(
    st.integers(min_value=1, max_value=10**9),
    st.lists(st.tuples(*[st.integers(min_value=0, max_value=10**7)] * 4), min_size=1, max_size=12),
)
def test_allocation_spends_exactly_the_payment_and_never_more_than_owed(amount, rows):
    owed = [Owed(i + 1, i + 1, *row) for i, row in enumerate(rows)]
    parts = allocate(amount, owed)
    assert sum(p.amount for p in parts) == amount
    assert all(p.amount > 0 for p in parts)
    by_key = {}
    for p in parts:
        by_key[(p.installment_id, p.component)] = (
            by_key.get((p.installment_id, p.component), 0) + p.amount
        )
    for o in owed:
        for comp in ("late_fee", "fee", "interest", "principal"):
            assert by_key.get((o.installment_id, comp), 0) <= getattr(o, comp)
    credit_part = sum(p.amount for p in parts if p.component == "credit")
    assert credit_part == max(0, amount - sum(o.total for o in owed))
