"""Random sequences of pay / overpay / reverse never unbalance the books."""

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from core.errors import Conflict, DomainError
from ledger.selectors import (
    entries_not_from_ledger,
    loan_balance,
    member_credit,
    trial_balance,
    unbalanced_entries,
)
from loans.models import Installment
from payments import services
from payments.models import Payment, PaymentStatus
from tests.factories import active_loan, make_finance, schedule_outstanding


class LoanBooks(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.loan = active_loan(amount=30_000_00, tenure=3)
        self.finance = make_finance()

    @rule(amount=st.integers(min_value=1, max_value=40_000_00))
    def pay(self, amount):
        self.loan.refresh_from_db()
        try:
            services.record_manual_payment(
                loan=self.loan,
                actor=self.finance,
                amount=amount,
                reason="Property test",
                # One receipt pays once (payment_unique_manual_evidence): a new one per step.
                evidence=f"P-{Payment.objects.count()}",
            )
        except DomainError:
            self.loan.refresh_from_db()
            assert self.loan.status != "active"  # only refused once the loan is closed

    @precondition(
        lambda self: Payment.objects.filter(
            loan=self.loan, status=PaymentStatus.SUCCESSFUL
        ).exists()
    )
    @rule(data=st.data())
    def reverse(self, data):
        payments = list(Payment.objects.filter(loan=self.loan, status=PaymentStatus.SUCCESSFUL))
        payment = data.draw(st.sampled_from(payments))
        try:
            services.reverse_payment(payment=payment, actor=self.finance, reason="Property test")
        except Conflict as exc:
            # The two reversals that would leave the books wrong are refused, and only those.
            assert "settled early" in exc.message or "used or refunded" in exc.message

    @invariant()
    def books_agree(self):
        self.loan.refresh_from_db()
        assert unbalanced_entries() == []
        assert entries_not_from_ledger() == []  # every entry came through ledger.posting
        assert trial_balance()["balanced"]
        balance = loan_balance(self.loan)
        assert balance == schedule_outstanding(self.loan)
        assert balance >= 0
        assert member_credit(self.loan.member) >= 0
        for inst in Installment.objects.filter(loan=self.loan):
            assert 0 <= inst.total_paid <= inst.total_due
        assert (self.loan.status == "closed") == (balance == 0)


@pytest.mark.django_db
def test_random_money_sequences_keep_the_ledger_and_schedule_in_step():
    LoanBooks.TestCase.settings = settings(
        max_examples=12,
        stateful_step_count=8,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    LoanBooks.TestCase().runTest()
