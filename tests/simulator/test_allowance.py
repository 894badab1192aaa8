"""The simulated allowance-deduction adapter posts a repayment like any other."""

from datetime import datetime

import pytest
import time_machine

from core.clock import LAGOS
from core.errors import DomainError, NotAllowed
from ledger.selectors import loan_balance
from payments.models import PaymentStatus
from simulator.allowance import collect_by_deduction
from tests.factories import active_loan, make_finance, make_officer
from tests.payments.test_money_flows import assert_books_agree

pytestmark = pytest.mark.django_db


# Paid out 28 Jan: ₦60,000 flat 5 % × 3 owes ₦69,057.53 (month 1's interest for its 31 days,
# ₦3,057.53; see tests/payments/test_money_flows.py).
@time_machine.travel(datetime(2026, 1, 28, 12, tzinfo=LAGOS), tick=True)
def test_allowance_deduction_posts_a_repayment_through_the_adapter():
    loan = active_loan()
    payment = collect_by_deduction(loan=loan, actor=make_finance(), amount=23_000_00)
    assert payment.channel == "allowance" and payment.status == PaymentStatus.SUCCESSFUL
    assert loan_balance(loan) == 4_605_753  # 6,905,753 − 2,300,000
    assert_books_agree(loan)
    with pytest.raises(DomainError, match="failed"):
        collect_by_deduction(loan=loan, actor=make_finance(), amount=10_000_000_00)
    with pytest.raises(NotAllowed):
        collect_by_deduction(loan=loan, actor=make_officer(), amount=100)
