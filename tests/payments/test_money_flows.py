"""Disbursement, repayment, reversal and webhooks through the services and pages."""

import hashlib
import hmac
import json
import re
from datetime import datetime

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import Permission
from django.urls import reverse

from core.clock import LAGOS
from core.errors import Conflict, DomainError, NotAllowed
from core.forms import REASON_MIN_LENGTH
from ledger.models import JournalEntry
from ledger.selectors import (
    loan_balance,
    loan_statement,
    member_credit,
    trial_balance,
    unbalanced_entries,
)
from loans.models import InstallmentStatus, LoanStatus
from members.models import User
from payments import services
from payments.models import (
    Disbursement,
    DisbursementStatus,
    Payment,
    PaymentStatus,
    WebhookEvent,
    WebhookStatus,
)
from payments.providers import get_provider
from simulator.models import SimulatedProviderRecord
from tests.factories import (
    active_loan,
    approved_loan,
    make_finance,
    make_officer,
    on_commit,
    schedule_outstanding,
)
from tests.form_tokens import with_form_token

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _paid_out_on_28_january():
    """Loans here are paid out on 28 Jan 2026 (midday, inside contact hours) unless a test
    travels elsewhere: installment 1's interest is for the real days to the first due date,
    so the figures depend on the payout day. 28 Jan → 28 Feb is 31 days; on ₦60,000 flat at
    5 % a month that is 6,000,000 × 0.05 × 12 × 31 / 365 = 305,753.42 → 305,753 kobo
    (₦3,057.53); months 2 and 3 stay ₦3,000. Installment 1 is ₦20,000 + ₦3,057.53 =
    ₦23,057.53; the loan ₦60,000 + ₦9,057.53 = ₦69,057.53."""
    with time_machine.travel(datetime(2026, 1, 28, 12, tzinfo=LAGOS), tick=True):
        yield


def sign(body: bytes) -> str:
    return hmac.new(settings.SIMULATED_PROVIDER_SECRET.encode(), body, hashlib.sha512).hexdigest()


def post_webhook(client, event: dict, signature: str | None = None):
    body = json.dumps(event).encode()
    headers = {} if signature == "" else {"x-simulated-signature": signature or sign(body)}
    return client.post(
        "/webhooks/simulated", data=body, content_type="application/json", headers=headers
    )


def assert_books_agree(loan):
    loan.refresh_from_db()
    assert trial_balance()["balanced"]
    assert unbalanced_entries() == []
    assert loan_balance(loan) == schedule_outstanding(loan)


# --- Disbursement -----------------------------------------------------------------------------


def test_finance_disburses_through_the_provider_and_the_loan_becomes_active():
    loan = approved_loan()
    finance = make_finance()
    with on_commit(execute=True):
        disbursement = services.request_disbursement(loan=loan, actor=finance)
    disbursement.refresh_from_db()
    loan.refresh_from_db()
    assert disbursement.status == DisbursementStatus.SUCCEEDED
    assert loan.status == LoanStatus.ACTIVE and loan.disbursed_on is not None
    assert SimulatedProviderRecord.objects.filter(kind="transfer").count() == 1
    entry = JournalEntry.objects.get(kind="disbursement", loan=loan)
    assert sum(p.amount for p in entry.postings.all()) == 0
    # ₦60,000 flat 5 % × 3 paid out 28 Jan: receivable ₦69,057.53 (the fixture's arithmetic);
    # paid out ₦59,400 (1 % fee deducted).
    assert loan_balance(loan) == 6_905_753 == loan.total_repayable
    assert_books_agree(loan)


def test_the_approver_cannot_disburse_maker_checker():
    officer = make_officer()
    officer.user_permissions.add(Permission.objects.get(codename="disburse_loan"))
    loan = approved_loan(officer=officer)
    officer = User.objects.get(pk=officer.pk)  # fresh permission cache
    with pytest.raises(NotAllowed, match="maker-checker"):
        services.request_disbursement(loan=loan, actor=officer)
    assert not Disbursement.objects.exists()


def test_officer_without_permission_cannot_disburse():
    loan = approved_loan()
    with pytest.raises(NotAllowed):
        services.request_disbursement(loan=loan, actor=make_officer())


def test_a_second_payout_of_the_same_loan_is_refused():
    loan = approved_loan()
    finance = make_finance()
    services.request_disbursement(loan=loan, actor=finance)  # queued, not yet sent
    with pytest.raises(Conflict, match="already being paid out"):
        services.request_disbursement(loan=loan, actor=make_finance())
    with pytest.raises(Conflict):
        services.record_manual_disbursement(loan=loan, actor=finance, bank_reference="FT999999")
    assert Disbursement.objects.filter(loan=loan).count() == 1


def test_unconfirmed_account_name_blocks_payout():
    loan = approved_loan()
    loan.member.account_name_confirmed = False
    loan.member.save()
    with pytest.raises(DomainError, match="account name"):
        services.request_disbursement(loan=loan, actor=make_finance())


def test_failed_transfer_goes_back_to_the_queue_with_the_reason(settings):
    loan = approved_loan()
    settings.SIMULATED_TRANSFER_OUTCOME = "failed"
    with on_commit(execute=True):
        services.request_disbursement(loan=loan, actor=make_finance())
    disbursement = Disbursement.objects.get(loan=loan)
    loan.refresh_from_db()
    assert disbursement.status == DisbursementStatus.FAILED and disbursement.failure_reason
    assert loan.status == LoanStatus.PENDING_DISBURSEMENT
    assert not JournalEntry.objects.filter(loan=loan).exists()
    settings.SIMULATED_TRANSFER_OUTCOME = "success"
    with on_commit(execute=True):
        services.request_disbursement(loan=loan, actor=make_finance())
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ACTIVE
    assert JournalEntry.objects.filter(loan=loan, kind="disbursement").count() == 1


def test_crash_after_provider_accepted_is_recovered_by_the_sweeper_without_a_second_transfer():
    loan = approved_loan()
    disbursement = services.request_disbursement(loan=loan, actor=make_finance())
    # The worker marked it sent and the provider paid, then the process died before our
    # commit: the provider has the transfer, we only have a "sent" row.
    Disbursement.objects.filter(pk=disbursement.pk).update(status=DisbursementStatus.SENT)
    get_provider().initiate_transfer(
        reference=disbursement.reference,
        amount=disbursement.amount,
        recipient_code="RCP_sim",
        reason="test",
    )
    Disbursement.objects.filter(pk=disbursement.pk).update(
        updated_at=disbursement.created_at.replace(year=2000)
    )
    counts = services.sweep_disbursements(older_than_seconds=60)
    assert counts["verified"] == 1 and counts["resent"] == 0
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ACTIVE
    assert SimulatedProviderRecord.objects.filter(kind="transfer").count() == 1
    assert JournalEntry.objects.filter(loan=loan, kind="disbursement").count() == 1
    # Running the sweeper again changes nothing.
    assert services.sweep_disbursements(older_than_seconds=0)["verified"] == 0


def test_sweeper_resends_a_transfer_the_provider_never_saw_with_the_same_reference():
    loan = approved_loan()
    disbursement = services.request_disbursement(loan=loan, actor=make_finance())
    Disbursement.objects.filter(pk=disbursement.pk).update(
        updated_at=disbursement.created_at.replace(year=2000)
    )
    counts = services.sweep_disbursements(older_than_seconds=60)
    assert counts["resent"] == 1
    assert SimulatedProviderRecord.objects.get(kind="transfer").reference == disbursement.reference
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ACTIVE


def test_cancel_is_refused_once_a_payout_is_in_flight():
    from loans import services as loan_services

    loan = approved_loan()
    services.request_disbursement(loan=loan, actor=make_finance())
    with pytest.raises(Conflict, match="already been sent"):
        loan_services.cancel_application(application=loan.application, actor=loan.member.user)


# --- Repayments and reversals --------------------------------------------------------------------


def test_manual_repayment_is_allocated_oldest_first_and_posted():
    loan = active_loan()
    finance = make_finance()
    services.record_manual_payment(
        loan=loan, actor=finance, amount=30_000_00, reason="Cash at branch", evidence="RCPT-1"
    )
    first, second, third = loan.installments.all()
    # ₦30,000 on the payout day: installment 1 (₦20,000 + ₦3,057.53 interest for its 31 days)
    # is the next one due and is paid; paying further ahead would pay interest not yet earned,
    # so the other ₦30,000 − ₦23,057.53 = ₦6,942.47 is the member's credit (it pays
    # installment 2 when that falls due).
    assert first.status == InstallmentStatus.PAID and first.total_paid == 2_305_753
    assert second.total_paid == 0 and third.total_paid == 0
    assert member_credit(loan.member) == 694_247
    assert_books_agree(loan)


@pytest.mark.parametrize("amount", [0, -100, 10_000_000_01])
def test_zero_negative_or_absurd_manual_amounts_are_refused(amount):
    loan = active_loan()
    with pytest.raises(DomainError):
        services.record_manual_payment(
            loan=loan, actor=make_finance(), amount=amount, reason="Test entry", evidence="X"
        )
    assert not Payment.objects.exists()


# Midday in Lagos: member e-mails go out at once only inside contact hours (08:00-21:00).
@time_machine.travel(datetime(2026, 3, 2, 12, tzinfo=LAGOS), tick=True)
def test_overpayment_closes_the_loan_and_becomes_member_credit():
    loan = active_loan()
    with on_commit(execute=True):
        services.record_manual_payment(
            loan=loan,
            actor=make_finance(),
            amount=70_000_00,
            reason="Paid in full",
            evidence="RCPT-2",
        )
    loan.refresh_from_db()
    assert loan.status == LoanStatus.CLOSED
    assert loan_balance(loan) == 0
    # ₦70,000 on the payout day settles the loan early: ₦60,000 borrowed, no month of interest
    # begun (the flat product rebates the months not begun), so ₦10,000 is member credit.
    assert member_credit(loan.member) == 10_000_00
    assert_books_agree(loan)
    from django.core import mail

    assert "fully repaid" in mail.outbox[-1].body


def test_reversal_undoes_exactly_what_the_payment_did_and_cannot_be_repeated():
    loan = active_loan()
    finance = make_finance()
    before = [(i.pk, i.total_paid, i.status) for i in loan.installments.all()]
    # ₦30,000: installment 1 (₦23,057.53) paid, ₦6,942.47 credit; the reversal takes back both.
    payment = services.record_manual_payment(
        loan=loan, actor=finance, amount=30_000_00, reason="Paid at branch", evidence="RCPT-3"
    )
    assert member_credit(loan.member) == 694_247
    services.reverse_payment(payment=payment, actor=finance, reason="Cheque bounced")
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ACTIVE
    assert [(i.pk, i.total_paid, i.status) for i in loan.installments.all()] == before
    assert member_credit(loan.member) == 0
    assert_books_agree(loan)
    with pytest.raises(Conflict, match="reversed"):
        services.reverse_payment(payment=payment, actor=finance, reason="Again please")


def test_a_reversal_needs_the_same_reason_length_as_the_form():
    """The service and the staff form share one minimum, so the API or a crafted POST cannot
    reverse money with a shorter reason than the page asks for; nothing changes on refusal."""
    loan = active_loan()
    finance = make_finance()
    payment = services.record_manual_payment(
        loan=loan, actor=finance, amount=10_000_00, reason="Paid at branch", evidence="RCPT-9"
    )
    for reason in ("", "   ", "Bounced", "x" * (REASON_MIN_LENGTH - 1)):
        with pytest.raises(DomainError, match=f"at least {REASON_MIN_LENGTH} characters"):
            services.reverse_payment(payment=payment, actor=finance, reason=reason)
    payment.refresh_from_db()
    assert payment.status != PaymentStatus.REVERSED
    services.reverse_payment(payment=payment, actor=finance, reason="x" * REASON_MIN_LENGTH)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REVERSED


def test_officer_cannot_record_or_reverse_payments():
    loan = active_loan()
    with pytest.raises(NotAllowed):
        services.record_manual_payment(
            loan=loan, actor=make_officer(), amount=100, reason="trying", evidence="x"
        )


# --- Checkout and webhooks ----------------------------------------------------------------------


def test_member_pays_by_checkout_and_the_webhook_posts_it_once(client):
    loan = active_loan()
    client.force_login(loan.member.user)
    response = client.post(
        reverse("payments:pay", args=[loan.reference]), with_form_token({"amount": "23000"})
    )
    assert response.status_code == 302
    payment = Payment.objects.get(loan=loan)
    assert payment.status == PaymentStatus.PENDING
    record = SimulatedProviderRecord.objects.get(reference=payment.reference)
    record.status = "success"
    record.save()
    event = {
        "event": "charge.success",
        "data": {
            "id": 991,
            "reference": payment.reference,
            "amount": 23_000_00,
            "status": "success",
        },
    }
    with on_commit(execute=True):
        assert post_webhook(client, event).status_code == 200
    with on_commit(execute=True):
        assert post_webhook(client, event).status_code == 200  # replayed
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCESSFUL
    assert WebhookEvent.objects.count() == 1
    assert JournalEntry.objects.filter(payment=payment).count() == 1
    # ₦69,057.53 − ₦23,000 (checkout paid: installment 1 was ₦23,057.53 from 28 Jan).
    assert loan_balance(loan) == 4_605_753
    assert_books_agree(loan)


def test_bad_or_missing_signature_is_401_and_nothing_is_stored(client):
    event = {"event": "charge.success", "data": {"id": 1, "reference": "PAY-X", "amount": 1}}
    assert post_webhook(client, event, signature="deadbeef").status_code == 401
    assert post_webhook(client, event, signature="").status_code == 401
    body = json.dumps(event).encode()
    tampered = client.post(
        "/webhooks/simulated",
        data=body.replace(b"1}", b"9}"),
        content_type="application/json",
        headers={"x-simulated-signature": sign(body)},
    )
    assert tampered.status_code == 401
    assert not WebhookEvent.objects.exists()


def test_webhook_for_unknown_reference_is_flagged_not_posted(client):
    event = {"event": "charge.success", "data": {"id": 5, "reference": "PAY-NOPE", "amount": 100}}
    with on_commit(execute=True):
        post_webhook(client, event)
    assert WebhookEvent.objects.get().status == WebhookStatus.FLAGGED
    assert not JournalEntry.objects.exists()


def test_amount_mismatch_is_flagged_for_finance_and_nothing_is_posted(client):
    loan = active_loan()
    client.force_login(loan.member.user)
    client.post(
        reverse("payments:pay", args=[loan.reference]), with_form_token({"amount": "23000"})
    )
    payment = Payment.objects.get(loan=loan)
    SimulatedProviderRecord.objects.filter(reference=payment.reference).update(
        status="success", amount=100
    )
    event = {
        "event": "charge.success",
        "data": {"id": 7, "reference": payment.reference, "amount": 23_000_00},
    }
    with on_commit(execute=True):
        post_webhook(client, event)
    event_row = WebhookEvent.objects.get()
    assert event_row.status == WebhookStatus.FLAGGED and "expected" in event_row.note
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert not JournalEntry.objects.filter(payment=payment).exists()


def test_member_cannot_pay_someone_elses_loan(client):
    loan = active_loan()
    other = active_loan()
    client.force_login(other.member.user)
    assert client.get(reverse("payments:pay", args=[loan.reference])).status_code == 404
    with pytest.raises(NotAllowed):
        services.start_checkout(
            loan=loan, actor=other.member.user, amount=100, callback_url="http://x/"
        )


# --- Pages ----------------------------------------------------------------------------------


def test_the_member_and_finance_see_the_credit_an_overpayment_left(client):
    """Overpaid money held for the member is shown where they look at the loan, and to staff
    beside the ledger balance; a loan without credit shows no credit line to the member."""
    loan = active_loan()
    client.force_login(loan.member.user)
    page = client.get(reverse("payments:loan_detail", args=[loan.reference])).content.decode()
    assert 'data-testid="member-credit"' not in page
    services.record_manual_payment(
        loan=loan, actor=make_finance(), amount=70_000_00, reason="Paid in full", evidence="R-7"
    )
    assert member_credit(loan.member) == 10_000_00  # settled for ₦60,000 on the payout day
    page = client.get(reverse("payments:loan_detail", args=[loan.reference])).content.decode()
    assert 'data-testid="member-credit"' in page and "₦10,000.00" in page
    client.force_login(make_finance())
    page = client.get(reverse("payments:staff_loan", args=[loan.reference])).content.decode()
    assert re.search(r'data-testid="member-credit">₦10,000.00<', page)


def test_finance_pages_show_the_ledger_balance_and_trial_balance(client):
    loan = active_loan()
    finance = make_finance()
    client.force_login(finance)
    page = client.get(reverse("payments:staff_loan", args=[loan.reference])).content.decode()
    assert "₦69,057.53" in page  # paid out 28 Jan (see the fixture)
    page = client.get(reverse("payments:trial_balance")).content.decode()
    assert "The ledger balances" in page
    client.force_login(make_officer())
    assert client.get(reverse("payments:trial_balance")).status_code == 403


def test_disbursement_queue_lists_approved_loans_for_finance_only(client):
    loan = approved_loan()
    client.force_login(make_finance())
    assert loan.reference in client.get(reverse("payments:disbursement_queue")).content.decode()
    client.force_login(loan.member.user)
    assert client.get(reverse("payments:disbursement_queue")).status_code == 403


def test_discharge_letter_once_repaid_and_only_to_the_owner(client):
    loan = active_loan()
    url = reverse("payments:discharge_letter", args=[loan.reference])
    client.force_login(loan.member.user)
    assert client.get(url).status_code == 302  # not repaid yet
    services.record_manual_payment(
        loan=loan, actor=make_finance(), amount=69_000_00, reason="Paid in full", evidence="RCPT-9"
    )
    page = client.get(url).content.decode()
    assert "repaid in full" in page and loan.reference in page
    from core.models import AuditEvent

    assert AuditEvent.objects.filter(
        action="loan.discharge_letter_issued", object_id=str(loan.pk)
    ).exists()
    client.force_login(active_loan().member.user)
    assert client.get(url).status_code == 404


def test_per_loan_ledger_statement_runs_down_to_the_balance(client):
    loan = active_loan()
    services.record_manual_payment(
        loan=loan, actor=make_finance(), amount=10_000_00, reason="Cash at branch", evidence="R"
    )
    lines = loan_statement(loan)
    assert [line["kind"] for line in lines] == ["disbursement", "repayment"]
    # ₦69,057.53 − ₦10,000
    assert lines[-1]["owed"] == loan_balance(loan) == 5_905_753
    client.force_login(make_finance())
    page = client.get(reverse("payments:staff_loan", args=[loan.reference])).content.decode()
    assert "Ledger statement" in page and "₦59,057.53" in page


def test_a_webhook_whose_task_was_lost_is_processed_by_the_sweeper():
    """The event is stored (and acknowledged) but the queue lost its task: five minutes on,
    the sweeper queues it again and the payment is confirmed exactly once."""
    from datetime import timedelta

    from django.utils import timezone

    from payments.models import WebhookEvent, WebhookStatus
    from payments.providers import get_provider
    from payments.tasks import requeue_stale_webhooks_task

    loan = active_loan()
    payment, _ = services.start_checkout(
        loan=loan, actor=loan.member.user, amount=10_000_00, callback_url="http://127.0.0.1/"
    )
    SimulatedProviderRecord.objects.filter(reference=payment.reference).update(status="success")
    notice = get_provider("simulated").parse_webhook(
        payload={
            "event": "charge.success",
            "data": {"id": 777, "reference": payment.reference, "amount": 10_000_00},
        }
    )
    event, created = services.store_webhook(provider_name="simulated", notice=notice)
    assert created and event.status == WebhookStatus.RECEIVED  # on-commit task never ran

    requeue_stale_webhooks_task.call_local()
    event.refresh_from_db()
    assert event.status == WebhookStatus.RECEIVED  # too recent to be lost
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        requeue_stale_webhooks_task.call_local()
        requeue_stale_webhooks_task.call_local()
    event.refresh_from_db()
    payment.refresh_from_db()
    assert event.status == WebhookStatus.PROCESSED and event.attempts == 1
    assert payment.status == PaymentStatus.SUCCESSFUL
    assert WebhookEvent.objects.count() == 1
