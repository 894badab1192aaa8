"""A borrower's months after payout as random sequences of pay / prepay / settle / restructure /
waive / refund / reverse / a day passing (overdue run, credit paying what fell due) / write-off:
the books stay balanced, the loan's ledger balance is its schedule's, credit never goes
negative, every naira the member sent is accounted for (applied to the loan, held as credit, or
refunded), and the member never pays more than the schedule in force (with its late fees)."""

import os
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db.models import Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from arrears import overdue
from arrears import services as arrears_services
from core.clock import LAGOS
from core.errors import DomainError
from ledger.selectors import (
    entries_not_from_ledger,
    loan_balance,
    member_credit,
    trial_balance,
    unbalanced_entries,
)
from loans.models import Installment, LoanStatus
from payments import services
from payments.models import Allocation, Payment, PaymentChannel, PaymentStatus, Refund
from payments.selectors import reserved_credit
from payments.services import credit as credit_services
from payments.services import refunds, settlement
from payments.services.refund_transfer import send_refund
from servicing.models import RestructureStatus
from servicing.services import restructure as restructures
from servicing.services.waivers import request_waiver
from tests.factories import active_loan, make_finance, make_officer

START = date(2027, 1, 28)
REASON = "Random servicing sequence in a property test"


class Servicing(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.today = START
        with self.clock():
            self.loan = active_loan(
                amount=100_000_00,
                tenure=6,
                interest_method="reducing",
                fee_percent=Decimal("0.01"),
                fee_treatment="first_installment",
            )
        self.finance, self.checker, self.officer = make_finance(), make_finance(), make_officer()
        self.second_officer = make_officer()
        self.member_user = self.loan.member.user
        self.receipts = 0

    def clock(self):
        return time_machine.travel(datetime.combine(self.today, time(12), tzinfo=LAGOS), tick=False)

    def refresh(self):
        self.loan.refresh_from_db()
        return self.loan

    # --- Rules ---------------------------------------------------------------------------

    @rule(amount=st.integers(min_value=1, max_value=60_000_00))
    def pay(self, amount):
        self.receipts += 1
        with self.clock():
            try:
                services.record_manual_payment(
                    loan=self.loan,
                    actor=self.finance,
                    amount=amount,
                    reason=REASON,
                    evidence=f"R-{self.loan.pk}-{self.receipts}",
                )
            except DomainError:
                assert self.refresh().status not in (LoanStatus.ACTIVE, LoanStatus.WRITTEN_OFF)

    @rule(share=st.integers(min_value=1, max_value=100), mode=st.sampled_from(["lower", "shorter"]))
    def prepay(self, share, mode):
        with self.clock():
            available = member_credit(self.loan.member)
            try:
                credit_services.prepay_from_credit(
                    loan=self.loan,
                    amount=max(available * share // 100, 1),
                    mode=mode,
                    actor=self.member_user,
                )
            except DomainError:
                pass  # below what is due, more than the credit, would settle, closed …

    @rule()
    def settle(self):
        with self.clock():
            if self.refresh().status not in settlement.SETTLEABLE:
                return
            figure = settlement.quote(self.loan).amount
            if figure:
                self.pay(figure)
            else:
                credit_services.settle_from_credit(loan=self.loan, actor=self.member_user)
            assert self.refresh().closed_at is not None  # settled, whatever the path

    @rule(kobo=st.integers(min_value=1, max_value=5_000_00))
    def waive_late_fees(self, kobo):
        with self.clock():
            try:
                request_waiver(
                    loan=self.loan,
                    actor=self.officer,
                    component="late_fee",
                    amount=kobo,
                    reason=REASON,
                )
            except DomainError:
                pass  # more than is owed, loan not active

    @rule(
        installments=st.integers(min_value=1, max_value=8),
        holiday=st.integers(min_value=0, max_value=2),
        treatment=st.sampled_from(["capitalise", "waive"]),
    )
    def restructure(self, installments, holiday, treatment):
        with self.clock():
            try:
                offer = restructures.propose_restructure(
                    loan=self.loan,
                    actor=self.officer,
                    new_installments=installments,
                    holiday_months=holiday,
                    treatment=treatment,
                    reason=REASON,
                )
            except DomainError:
                return  # not active, nothing left, past passing-out
            before = self.refresh().schedule_version
            restructures.consent_to_restructure(
                restructure=offer,
                actor=self.member_user,
                consent=True,
                shown_hash=offer.terms_hash,
            )
            approved = restructures.approve_restructure(
                restructure=offer, actor=self.second_officer
            )
            assert approved.status == RestructureStatus.APPROVED
            loan = self.refresh()
            assert loan.schedule_version == before + 1 and loan.restructured_at is not None
            assert loan.arrears_since is None  # arrears capitalised or waived, none left
            unpaid = [i for i in Installment.objects.filter(loan=loan) if i.outstanding]
            assert sum(i.outstanding for i in unpaid) == offer.terms["total_repayable"]

    @rule(share=st.integers(min_value=1, max_value=100))
    def refund(self, share):
        with self.clock():
            member = self.loan.member
            amount = (member_credit(member) - reserved_credit(member)) * share // 100
            try:
                refund = refunds.request_credit_refund(
                    member=member, actor=self.member_user, amount=amount, loan=self.loan
                )
                refunds.approve_refund(refund=refund, actor=self.checker)
            except DomainError:
                return  # nothing to refund, or the credit moved meanwhile
            assert send_refund(refund_id=refund.pk).status == "succeeded"

    @precondition(
        lambda self: Payment.objects.filter(
            loan=self.loan, status=PaymentStatus.SUCCESSFUL
        ).exists()
    )
    @rule(data=st.data())
    def reverse(self, data):
        payments = list(Payment.objects.filter(loan=self.loan, status=PaymentStatus.SUCCESSFUL))
        payment = data.draw(st.sampled_from(payments))
        with self.clock():
            try:
                services.reverse_payment(payment=payment, actor=self.finance, reason=REASON)
            except DomainError as exc:
                refused = ("settled early", "used or refunded", "new schedule", "cannot be")
                assert any(words in exc.message for words in refused), exc.message

    @rule(days=st.integers(min_value=1, max_value=45))
    def days_pass(self, days):
        self.today += timedelta(days=days)
        with self.clock():
            credit_services.apply_due_credit_everywhere()
            overdue.run_overdue(run_date=self.today)

    @precondition(lambda self: self.today > START + timedelta(days=60))
    @rule()
    def write_off(self):
        with self.clock():
            try:
                request = arrears_services.request_write_off(
                    loan=self.loan, actor=self.officer, reason=REASON
                )
                arrears_services.approve_write_off(write_off=request, actor=self.finance)
            except DomainError:
                pass

    # --- Invariants ------------------------------------------------------------------------

    @invariant()
    def books_balance(self):
        assert unbalanced_entries() == []
        assert entries_not_from_ledger() == []
        assert trial_balance()["balanced"]

    @invariant()
    def the_loan_owes_what_its_schedule_says(self):
        loan = self.refresh()
        outstanding = sum(i.outstanding for i in Installment.objects.filter(loan=loan))
        for inst in Installment.objects.filter(loan=loan):
            assert 0 <= inst.total_paid <= inst.total_due
        if loan.status != LoanStatus.WRITTEN_OFF:
            assert loan_balance(loan) == outstanding >= 0
        assert (loan.status == LoanStatus.CLOSED) == (
            loan.closed_at is not None and loan.status != LoanStatus.WRITTEN_OFF
        )
        if loan.status == LoanStatus.CLOSED:
            assert outstanding == 0

    @invariant()
    def the_member_never_pays_more_than_the_schedule_in_force(self):
        """What was applied to the installments is within what the schedule in force asks
        (with its late fees), and every replaced schedule was kept as a version."""
        loan = self.refresh()
        rows = list(Installment.objects.filter(loan=loan))
        assert sum(i.total_paid for i in rows) <= sum(i.total_due for i in rows)
        assert loan.schedule_version == loan.versions.count() + 1

    @invariant()
    def credit_is_never_negative_nor_promised_twice(self):
        member = self.loan.member
        assert member_credit(member) >= reserved_credit(member) >= 0

    @invariant()
    def every_naira_sent_is_accounted_for(self):
        """Money in = money applied to the loan + credit held + money refunded."""
        loan = self.loan
        sent = (
            Payment.objects.filter(loan=loan, status=PaymentStatus.SUCCESSFUL)
            .exclude(channel=PaymentChannel.CREDIT)
            .aggregate(total=Sum("amount", default=0))["total"]
        )
        refunded = Refund.objects.filter(member=loan.member, status="succeeded").aggregate(
            total=Sum("amount", default=0)
        )["total"]
        applied = sum(i.total_paid for i in Installment.objects.filter(loan=loan))
        prepaid = Allocation.objects.filter(
            payment__loan=loan,
            payment__status=PaymentStatus.SUCCESSFUL,
            installment__isnull=True,
            component="principal",
        ).aggregate(total=Sum("amount", default=0))["total"]
        assert sent == applied + prepaid + member_credit(loan.member) + refunded


@pytest.mark.django_db
def test_random_servicing_sequences_keep_the_books_and_the_member_whole():
    Servicing.TestCase.settings = settings(
        max_examples=int(os.environ.get("SERVICING_EXAMPLES", "15")),
        stateful_step_count=12,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    Servicing.TestCase().runTest()
