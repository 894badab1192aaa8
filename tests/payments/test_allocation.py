"""Allocation of a payment: late fee, fee, interest, principal, oldest first; the rest is credit."""

from hypothesis import given
from hypothesis import strategies as st

from payments.allocation import Owed, allocate


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
