"""Checkout expiry (issue 17): a checkout the member abandoned expires after
``CHECKOUT_EXPIRE_MINUTES`` and leaves the statement; the provider is asked once more first, so
a paid one is posted and a declined one fails; money confirmed after the expiry is still posted."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from core.models import AuditEvent
from ledger.models import JournalEntry
from ledger.selectors import loan_balance
from payments import exports, services
from payments.models import Payment, PaymentStatus
from payments.services import checkout
from payments.tasks import expire_checkouts_task
from simulator.models import SimulatedProviderRecord
from simulator.payments import SimulatedProvider
from tests.factories import active_loan

pytestmark = pytest.mark.django_db


def _checkout(loan, amount=10_000_00) -> Payment:
    payment, _ = services.start_checkout(
        loan=loan, actor=loan.member.user, amount=amount, callback_url="http://127.0.0.1/"
    )
    return payment


def _later(minutes: int):
    return time_machine.travel(timezone.now() + timedelta(minutes=minutes))


def _provider_says(payment: Payment, status: str) -> None:
    SimulatedProviderRecord.objects.filter(reference=payment.reference).update(status=status)


def _statement(loan) -> str:
    return exports.loan_statement_csv(loan=loan, actor=loan.member.user).decode()


def test_an_abandoned_checkout_expires_and_leaves_the_statement():
    loan = active_loan()
    owed = loan_balance(loan)
    payment = _checkout(loan)
    assert payment.reference in _statement(loan)
    entries = JournalEntry.objects.count()

    with _later(settings.CHECKOUT_EXPIRE_MINUTES - 5):
        expire_checkouts_task.call_local()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING  # not old enough yet

    with _later(settings.CHECKOUT_EXPIRE_MINUTES + 1):
        expire_checkouts_task.call_local()
        expire_checkouts_task.call_local()  # a second run changes nothing
        # The member can start a new "Pay" at once.
        again = _checkout(loan, amount=5_000_00)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.EXPIRED
    assert JournalEntry.objects.count() == entries  # no money moved, so no entry
    assert loan_balance(loan) == owed
    statement = _statement(loan)
    assert payment.reference not in statement and again.reference in statement
    events = AuditEvent.objects.filter(action="payment.checkout_expired", object_id=str(payment.pk))
    assert events.count() == 1
    assert events.get().changes == {"status": ["pending", "expired"]}


def test_a_stale_checkout_the_provider_confirms_is_posted_not_expired():
    loan = active_loan()
    owed = loan_balance(loan)
    payment = _checkout(loan)
    _provider_says(payment, "success")  # paid, but the webhook never came
    with _later(settings.CHECKOUT_EXPIRE_MINUTES + 1):
        outcome = checkout.expire_stale_checkouts()
    payment.refresh_from_db()
    assert outcome == {"expired": 0, "confirmed": 1, "failed": 0, "errors": 0}
    assert payment.status == PaymentStatus.SUCCESSFUL
    assert loan_balance(loan) == owed - 10_000_00


def test_a_stale_checkout_the_provider_declined_fails():
    loan = active_loan()
    payment = _checkout(loan)
    _provider_says(payment, "failed")
    with _later(settings.CHECKOUT_EXPIRE_MINUTES + 1):
        outcome = checkout.expire_stale_checkouts()
    payment.refresh_from_db()
    assert outcome["failed"] == 1 and payment.status == PaymentStatus.FAILED


def test_money_the_provider_confirms_after_the_expiry_is_still_posted():
    loan = active_loan()
    owed = loan_balance(loan)
    payment = _checkout(loan)
    with _later(settings.CHECKOUT_EXPIRE_MINUTES + 1):
        checkout.expire_stale_checkouts()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.EXPIRED
    _provider_says(payment, "success")  # the member finished the page after all
    checkout.confirm_checkout(reference=payment.reference)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCESSFUL
    assert loan_balance(loan) == owed - 10_000_00
    assert payment.reference in _statement(loan)
    confirmed = AuditEvent.objects.get(action="payment.confirmed", object_id=str(payment.pk))
    assert confirmed.changes["confirmed_after_expiry"] is True


def test_a_provider_outage_leaves_the_checkout_for_the_next_run(monkeypatch):
    loan = active_loan()
    payment = _checkout(loan)

    def down(self, *, reference):
        raise ConnectionError("provider unreachable")

    monkeypatch.setattr(SimulatedProvider, "verify_charge", down)
    with _later(settings.CHECKOUT_EXPIRE_MINUTES + 1):
        outcome = checkout.expire_stale_checkouts()
    payment.refresh_from_db()
    assert outcome["errors"] == 1 and payment.status == PaymentStatus.PENDING
    monkeypatch.undo()
    with _later(settings.CHECKOUT_EXPIRE_MINUTES + 2):
        checkout.expire_stale_checkouts()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.EXPIRED
