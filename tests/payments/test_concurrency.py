"""Races on real PostgreSQL: many threads, one outcome."""

import pytest
from django.db import connection

from core.errors import DomainError
from ledger.models import JournalEntry
from ledger.selectors import loan_balance, member_credit, trial_balance, unbalanced_entries
from loans import services as loan_services
from loans.models import Application, ApplicationStatus, Loan, LoanStatus
from payments import services
from payments.models import (
    Disbursement,
    Payment,
    PaymentStatus,
    WebhookEvent,
)
from simulator.models import SimulatedProviderRecord
from tests.factories import (
    active_loan,
    approved_loan,
    make_finance,
    make_officer,
    schedule_outstanding,
    submitted_application,
)
from tests.races import race

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks and races need PostgreSQL")


def test_two_officers_deciding_at_once_exactly_one_wins():
    application = submitted_application(assess=False)
    assert application.status == ApplicationStatus.IN_REVIEW
    approver, rejecter = make_officer(), make_officer()

    def decide(i):
        if i == 0:
            return loan_services.approve_application(application=application, actor=approver)
        return loan_services.reject_application(
            application=application, actor=rejecter, reason="Could not verify the PPA letter."
        )

    results, errors = race(2, decide)
    assert len(results) == 1 and len(errors) == 1
    assert isinstance(errors[0], DomainError) and "already" in errors[0].message
    application = Application.objects.get(pk=application.pk)
    assert application.status in (ApplicationStatus.APPROVED, ApplicationStatus.REJECTED)
    assert Loan.objects.filter(application=application).count() == (
        1 if application.status == ApplicationStatus.APPROVED else 0
    )
    assert application.history.filter(to_status__in=["approved", "rejected"]).count() == 1


def test_twenty_parallel_disburse_requests_pay_out_once():
    loan = approved_loan()
    finance = [make_finance() for _ in range(20)]
    results, errors = race(20, lambda i: services.request_disbursement(loan=loan, actor=finance[i]))
    assert len(results) == 1 and len(errors) == 19
    assert all(isinstance(e, DomainError) for e in errors)
    assert Disbursement.objects.filter(loan=loan).count() == 1
    assert SimulatedProviderRecord.objects.filter(kind="transfer").count() == 1
    assert JournalEntry.objects.filter(loan=loan, kind="disbursement").count() == 1
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ACTIVE
    assert unbalanced_entries() == []


def test_twenty_copies_of_one_webhook_post_one_payment():
    from payments.providers import get_provider

    loan = active_loan()
    owed = loan_balance(loan)
    payment, _ = services.start_checkout(
        loan=loan, actor=loan.member.user, amount=23_000_00, callback_url="http://127.0.0.1/"
    )
    SimulatedProviderRecord.objects.filter(reference=payment.reference).update(status="success")
    notice = get_provider("simulated").parse_webhook(
        payload={
            "event": "charge.success",
            "data": {
                "id": 4242,
                "reference": payment.reference,
                "amount": 23_000_00,
                "status": "success",
            },
        }
    )
    race(20, lambda i: services.store_webhook(provider_name="simulated", notice=notice))
    assert WebhookEvent.objects.count() == 1
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCESSFUL
    assert JournalEntry.objects.filter(payment=payment).count() == 1
    assert loan_balance(loan) == owed - 23_000_00


def test_parallel_repayments_on_one_loan_stay_consistent():
    loan = active_loan()
    finance = make_finance()
    results, errors = race(
        8,
        lambda i: services.record_manual_payment(
            loan=loan, actor=finance, amount=5_000_00 + i, reason="Parallel cash", evidence=f"R{i}"
        ),
    )
    assert not errors and len(results) == 8
    paid = sum(5_000_00 + i for i in range(8))
    loan.refresh_from_db()
    # On the payout day installment 1 (₦20,000 + its interest for the days to its due date) is
    # the one running: it is paid in full and the rest of the ₦40,000.28 waits as member
    # credit, however the eight payments interleave.
    first = loan.installments.get(number=1).total_due
    assert 20_000_00 < first < 40_000_28
    owed = loan.principal + loan.total_interest - first
    assert loan_balance(loan) == owed == schedule_outstanding(loan)
    assert member_credit(loan.member) == paid - first
    assert Payment.objects.filter(loan=loan, status="successful").count() == 8
    assert trial_balance()["balanced"]
