"""Refunds of member credit and of deposits in suspense: maker-checker, the bound account,
the reservation that keeps one credit from being refunded twice, the transfer outbox."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.errors import Conflict, DomainError, InvalidTransition, NotAllowed
from core.models import AuditEvent
from ledger import chart
from ledger.models import JournalEntry
from ledger.selectors import member_credit, trial_balance, unbalanced_entries
from members.models import StaffIdentity
from members.validators import make_valid_nuban
from payments.models import LineStatus, Refund, RefundEvent, RefundStatus, StatementLine
from payments.providers import get_provider
from payments.providers.base import ProviderError
from payments.reconciliation.suspense import (
    assign_from_suspense,
    book_to_suspense,
    suspense_balance,
    suspense_lines_total,
)
from payments.services import record_manual_payment
from payments.services.refund_transfer import send_refund, sweep_refunds
from payments.services.refunds import (
    approve_refund,
    available_credit,
    credit_summary,
    reject_refund,
    request_credit_refund,
    request_suspense_refund,
)
from simulator.models import SimulatedProviderRecord
from simulator.records import DEFAULT_ACCOUNT_NAME
from tests.factories import active_loan, make_officer, schedule_outstanding
from tests.form_tokens import with_form_token
from tests.payments.reconciliation.builders import do_import, make_finance, naira, statement_csv
from tests.payments.reconciliation.test_postgres import committed_db  # noqa: F401
from tests.races import race

pytestmark = pytest.mark.django_db

CREDIT = 5_000_00


def loan_with_credit(credit=CREDIT, finance=None):
    """An active loan repaid in full plus ``credit``: the loan closes, the rest is credit (a
    product whose early repayment saves nothing, so the whole schedule is what closes it)."""
    loan = active_loan(early_settlement_rule="none")
    record_manual_payment(
        loan=loan,
        actor=finance or make_finance(),
        amount=schedule_outstanding(loan) + credit,
        reason="Paid it all off at the branch",
        evidence=f"RCPT-{loan.pk}",
    )
    loan.refresh_from_db()
    assert member_credit(loan.member) == credit
    return loan


def books_are_sound(member=None):
    assert unbalanced_entries() == []
    assert trial_balance()["balanced"]
    assert suspense_balance() == suspense_lines_total()
    if member is not None:
        assert member_credit(member) >= 0
        assert 0 <= available_credit(member) <= member_credit(member)


def refund_entry(refund):
    entry = JournalEntry.objects.filter(idempotency_key=f"refund:{refund.pk}").first()
    if entry is None:
        return None
    return {p.account.code: p.amount for p in entry.postings.select_related("account")}


# --- Worked example -------------------------------------------------------------------------


def test_member_refund_of_part_of_the_credit_worked_figures():
    loan = loan_with_credit()
    member = loan.member
    finance = make_finance()

    refund = request_credit_refund(member=member, actor=member.user, amount=3_000_00, loan=loan)
    assert refund.status == RefundStatus.REQUESTED
    assert (refund.bank_code, refund.account_number) == (
        member.confirmed_bank_code,
        member.confirmed_account_number,
    )
    assert refund.reference.startswith("RFD-")
    # Asked for, not yet reserved: the ledger still holds ₦5,000.00 for the member.
    assert credit_summary(member) == {
        "credit": 5_000_00,
        "reserved": 0,
        "requested": 3_000_00,
        "available": 5_000_00,
        "refundable": 2_000_00,
    }
    books_are_sound(member)

    refund = approve_refund(refund=refund, actor=finance)
    assert refund.status == RefundStatus.QUEUED
    assert refund.decided_by == finance
    # Reserved: ₦3,000.00 is promised to the transfer; ₦2,000.00 is still free.
    assert member_credit(member) == 5_000_00
    assert available_credit(member) == 2_000_00
    assert refund_entry(refund) is None
    books_are_sound(member)

    refund = send_refund(refund_id=refund.pk)

    assert refund.status == RefundStatus.SUCCEEDED
    assert refund_entry(refund) == {chart.MEMBER_CREDIT: 3_000_00, chart.CASH_PROVIDER: -3_000_00}
    assert member_credit(member) == 2_000_00 == available_credit(member)
    assert SimulatedProviderRecord.objects.get(reference=refund.reference).amount == 3_000_00
    assert list(
        RefundEvent.objects.filter(refund=refund).values_list("from_status", "to_status")
    ) == [
        ("", RefundStatus.REQUESTED),
        (RefundStatus.REQUESTED, RefundStatus.QUEUED),
        (RefundStatus.QUEUED, RefundStatus.SENT),
        (RefundStatus.SENT, RefundStatus.SUCCEEDED),
    ]
    assert set(
        AuditEvent.objects.filter(action__startswith="refund.").values_list("action", flat=True)
    ) == {"refund.requested", "refund.approved", "refund.succeeded"}
    books_are_sound(member)

    # A second run of the task (a retry) pays nothing twice.
    send_refund(refund_id=refund.pk)
    assert member_credit(member) == 2_000_00
    assert JournalEntry.objects.filter(idempotency_key__startswith="refund:").count() == 1


def test_finance_may_ask_for_a_refund_of_a_members_credit_and_another_approves():
    loan = loan_with_credit()
    asker, approver = make_finance(), make_finance()
    refund = request_credit_refund(member=loan.member, actor=asker, amount=CREDIT)
    with pytest.raises(NotAllowed, match="another finance user"):
        approve_refund(refund=refund, actor=asker)
    approve_refund(refund=refund, actor=approver)
    assert send_refund(refund_id=refund.pk).status == RefundStatus.SUCCEEDED
    assert member_credit(loan.member) == 0
    books_are_sound(loan.member)


# --- Bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [CREDIT + 1, 10 * CREDIT])
def test_refund_larger_than_the_credit_is_refused(amount):
    loan = loan_with_credit()
    with pytest.raises(Conflict, match="more than the credit"):
        request_credit_refund(member=loan.member, actor=loan.member.user, amount=amount)
    assert Refund.objects.count() == 0


@pytest.mark.parametrize("amount", [0, -100, 10.5, "500", True, None])
def test_zero_negative_or_non_kobo_amounts_are_refused(amount):
    loan = loan_with_credit()
    with pytest.raises(DomainError, match="positive amount"):
        request_credit_refund(member=loan.member, actor=loan.member.user, amount=amount)
    assert Refund.objects.count() == 0


def test_member_without_credit_cannot_ask():
    loan = active_loan()
    with pytest.raises(Conflict):
        request_credit_refund(member=loan.member, actor=loan.member.user, amount=1)


def test_refund_to_an_unconfirmed_account_is_refused():
    loan = loan_with_credit()
    member = loan.member
    member.clear_payout_confirmation()
    member.save()
    with pytest.raises(DomainError, match="not been matched or confirmed"):
        request_credit_refund(member=member, actor=member.user, amount=1_000_00)


def test_account_changed_after_the_request_stops_the_approval_and_the_transfer():
    loan = loan_with_credit()
    member = loan.member
    refund = request_credit_refund(member=member, actor=member.user, amount=1_000_00)
    member.account_number = "0123456789"
    member.save()
    with pytest.raises(DomainError, match="changed after its name was confirmed"):
        approve_refund(refund=refund, actor=make_finance())
    assert Refund.objects.get(pk=refund.pk).status == RefundStatus.REQUESTED


def test_account_changed_after_approval_fails_the_transfer_and_returns_the_credit():
    loan = loan_with_credit()
    member = loan.member
    refund = request_credit_refund(member=member, actor=member.user, amount=1_000_00)
    approve_refund(refund=refund, actor=make_finance())
    member.account_number = "0123456789"
    member.save()
    refund = send_refund(refund_id=refund.pk)
    assert refund.status == RefundStatus.FAILED
    assert SimulatedProviderRecord.objects.count() == 0
    assert available_credit(member) == CREDIT
    books_are_sound(member)


def test_approver_needs_the_permission_and_is_not_the_member():
    loan = loan_with_credit()
    refund = request_credit_refund(member=loan.member, actor=loan.member.user, amount=1_000_00)
    with pytest.raises(NotAllowed):
        approve_refund(refund=refund, actor=make_officer())
    with pytest.raises(NotAllowed):
        approve_refund(refund=refund, actor=loan.member.user)
    assert Refund.objects.get(pk=refund.pk).status == RefundStatus.REQUESTED


def test_nobody_else_may_ask_for_a_members_credit():
    loan = loan_with_credit()
    other = active_loan().member
    with pytest.raises(NotAllowed):
        request_credit_refund(member=loan.member, actor=other.user, amount=1_000_00)
    with pytest.raises(NotAllowed):
        request_credit_refund(member=loan.member, actor=make_officer(), amount=1_000_00)


def test_two_requests_of_the_same_credit_the_second_is_refused():
    loan = loan_with_credit()
    member = loan.member
    request_credit_refund(member=member, actor=member.user, amount=CREDIT)
    with pytest.raises(Conflict, match="already asked for"):
        request_credit_refund(member=member, actor=member.user, amount=1)


def test_approval_rechecks_the_credit_so_one_credit_is_never_refunded_twice():
    loan = loan_with_credit()
    member = loan.member
    first = request_credit_refund(member=member, actor=member.user, amount=CREDIT)
    # A second request written when the credit looked free (e.g. before a reversal or on
    # another server): approval is the gate that counts.
    second = Refund.objects.create(
        reference="RFD-SECOND",
        source="credit",
        member=member,
        amount=CREDIT,
        bank_code=first.bank_code,
        account_number=first.account_number,
        account_name=first.account_name,
        requested_by=member.user,
    )
    approve_refund(refund=first, actor=make_finance())
    with pytest.raises(Conflict, match="more than the member's credit"):
        approve_refund(refund=second, actor=make_finance())
    send_refund(refund_id=first.pk)
    with pytest.raises(Conflict):
        approve_refund(refund=second, actor=make_finance())
    assert member_credit(member) == 0
    books_are_sound(member)


def test_approving_twice_or_after_rejection_is_refused():
    loan = loan_with_credit()
    refund = request_credit_refund(member=loan.member, actor=loan.member.user, amount=1_000_00)
    approve_refund(refund=refund, actor=make_finance())
    with pytest.raises(InvalidTransition):
        approve_refund(refund=refund, actor=make_finance())
    other = request_credit_refund(member=loan.member, actor=loan.member.user, amount=1_000_00)
    with pytest.raises(DomainError, match="Say why"):
        reject_refund(refund=other, actor=make_finance(), reason="")
    reject_refund(refund=other, actor=make_finance(), reason="Member asked us to keep it")
    with pytest.raises(InvalidTransition):
        approve_refund(refund=other, actor=make_finance())
    # A rejected request frees what it asked for.
    assert credit_summary(loan.member)["refundable"] == CREDIT - 1_000_00


# --- The transfer: failure and verify-before-resend ---------------------------------------------


def test_failed_transfer_returns_the_money_to_the_credit(settings):
    settings.SIMULATED_TRANSFER_OUTCOME = "failed"
    loan = loan_with_credit()
    member = loan.member
    refund = request_credit_refund(member=member, actor=member.user, amount=CREDIT)
    approve_refund(refund=refund, actor=make_finance())
    assert available_credit(member) == 0

    refund = send_refund(refund_id=refund.pk)

    assert refund.status == RefundStatus.FAILED
    assert refund.failure_reason
    assert refund_entry(refund) is None
    assert member_credit(member) == CREDIT == available_credit(member)
    assert credit_summary(member)["refundable"] == CREDIT
    books_are_sound(member)


def test_sweep_verifies_a_pending_transfer_and_never_sends_it_twice(settings):
    settings.SIMULATED_TRANSFER_OUTCOME = "pending"
    loan = loan_with_credit()
    member = loan.member
    refund = request_credit_refund(member=member, actor=member.user, amount=CREDIT)
    approve_refund(refund=refund, actor=make_finance())
    refund = send_refund(refund_id=refund.pk)
    assert refund.status == RefundStatus.SENT

    assert sweep_refunds(older_than_seconds=0)["pending"] == 1
    get_provider("simulated").settle_transfer(reference=refund.reference, outcome="success")
    counts = sweep_refunds(older_than_seconds=0)

    assert counts["verified"] == 1 and counts["resent"] == 0
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert SimulatedProviderRecord.objects.filter(reference=refund.reference).count() == 1
    assert member_credit(member) == 0
    assert sweep_refunds(older_than_seconds=0) == {
        "verified": 0,
        "resent": 0,
        "pending": 0,
        "errors": 0,
    }
    books_are_sound(member)


def test_sweep_resends_a_refund_the_provider_never_saw_with_the_same_reference():
    loan = loan_with_credit()
    member = loan.member
    refund = request_credit_refund(member=member, actor=member.user, amount=CREDIT)
    approve_refund(refund=refund, actor=make_finance())
    # The task died after marking it sent, before the provider heard of it.
    Refund.objects.filter(pk=refund.pk).update(status=RefundStatus.SENT)

    assert sweep_refunds(older_than_seconds=0)["resent"] == 1

    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert SimulatedProviderRecord.objects.get(kind="transfer").reference == refund.reference
    assert member_credit(member) == 0
    books_are_sound(member)


def test_sweep_finishes_a_refund_the_provider_paid_before_we_heard_back(monkeypatch):
    loan = loan_with_credit()
    member = loan.member
    refund = request_credit_refund(member=member, actor=member.user, amount=CREDIT)
    approve_refund(refund=refund, actor=make_finance())
    provider = get_provider("simulated")
    code = provider.create_recipient(
        name="x", account_number=refund.account_number, bank_code=refund.bank_code
    )
    provider.initiate_transfer(
        reference=refund.reference, amount=refund.amount, recipient_code=code, reason="r"
    )
    Refund.objects.filter(pk=refund.pk).update(status=RefundStatus.SENT)
    sent = []
    monkeypatch.setattr(
        type(provider), "initiate_transfer", lambda *a, **k: sent.append(k) or 1 / 0
    )

    assert sweep_refunds(older_than_seconds=0)["verified"] == 1

    assert sent == []
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert member_credit(member) == 0


def test_provider_outage_leaves_the_refund_sent_for_the_sweeper(monkeypatch):
    loan = loan_with_credit()
    refund = request_credit_refund(member=loan.member, actor=loan.member.user, amount=CREDIT)
    approve_refund(refund=refund, actor=make_finance())

    def down(*args, **kwargs):
        raise ProviderError("timeout")

    monkeypatch.setattr(type(get_provider("simulated")), "initiate_transfer", down)
    refund = send_refund(refund_id=refund.pk)
    assert refund.status == RefundStatus.SENT
    assert available_credit(loan.member) == 0  # still promised to the transfer
    monkeypatch.undo()
    sweep_refunds(older_than_seconds=0)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED


# --- Suspense refunds --------------------------------------------------------------------------

SENDER_ACCOUNT = make_valid_nuban("044", "012345678")


def deposit_in_suspense(finance, amount=7_500_00):
    do_import(
        statement_csv((date(2025, 3, 3), naira(amount), "TRF FROM A STRANGER", "FT1")),
        actor=finance,
    )
    return book_to_suspense(line=StatementLine.objects.get(amount=amount), actor=finance)


def ask_suspense_refund(line, actor, **overrides):
    values = dict(
        bank_code="044",
        account_number=SENDER_ACCOUNT,
        account_name=DEFAULT_ACCOUNT_NAME.title(),
        reason="Sender paid us by mistake",
    )
    values.update(overrides)
    return request_suspense_refund(line=line, actor=actor, **values)


def test_suspense_refund_sends_the_whole_deposit_back_and_empties_suspense():
    asker, approver = make_finance(), make_finance()
    line = deposit_in_suspense(asker)

    refund = ask_suspense_refund(line, asker)
    assert (refund.amount, refund.name_confirmed) == (7_500_00, True)
    assert "confirmed by the bank" in refund.name_check
    with pytest.raises(Conflict):
        assign_from_suspense(line=line, actor=asker, loan_reference=active_loan().reference)
    with pytest.raises(Conflict):
        ask_suspense_refund(line, asker)

    approve_refund(refund=refund, actor=approver)
    refund = send_refund(refund_id=refund.pk)

    assert refund.status == RefundStatus.SUCCEEDED
    assert refund_entry(refund) == {chart.SUSPENSE: 7_500_00, chart.CASH_PROVIDER: -7_500_00}
    assert StatementLine.objects.get(pk=line.pk).status == LineStatus.REFUNDED
    assert suspense_balance() == 0
    books_are_sound()


def test_failed_suspense_refund_leaves_the_deposit_in_suspense_to_assign(settings):
    settings.SIMULATED_TRANSFER_OUTCOME = "failed"
    finance = make_finance()
    line = deposit_in_suspense(finance)
    refund = ask_suspense_refund(line, finance)
    approve_refund(refund=refund, actor=make_finance())
    assert send_refund(refund_id=refund.pk).status == RefundStatus.FAILED
    assert StatementLine.objects.get(pk=line.pk).status == LineStatus.SUSPENSE
    assert suspense_balance() == 7_500_00
    loan = active_loan()
    assign_from_suspense(line=line, actor=finance, loan_reference=loan.reference)
    assert suspense_balance() == 0
    books_are_sound()


def test_suspense_refund_refuses_a_name_the_bank_does_not_know():
    finance = make_finance()
    line = deposit_in_suspense(finance)
    with pytest.raises(DomainError, match="The bank says this account belongs to"):
        ask_suspense_refund(line, finance, account_name="Chukwuemeka Obi")
    assert Refund.objects.count() == 0


def test_without_name_enquiry_the_approver_is_told_plainly(monkeypatch):
    def no_enquiry(*args, **kwargs):
        raise ProviderError("name enquiry is not available")

    monkeypatch.setattr(type(get_provider()), "resolve_account", no_enquiry)
    finance = make_finance()
    refund = ask_suspense_refund(deposit_in_suspense(finance), finance)
    assert refund.name_confirmed is False
    assert refund.name_check.startswith("Name NOT checked")


@pytest.mark.parametrize(
    ("field", "value"),
    [("account_number", "12345"), ("bank_code", ""), ("account_name", "x"), ("reason", "")],
)
def test_suspense_refund_bad_input_is_refused(field, value):
    finance = make_finance()
    line = deposit_in_suspense(finance)
    with pytest.raises(DomainError) as caught:
        ask_suspense_refund(line, finance, **{field: value})
    assert field in caught.value.fields
    assert Refund.objects.count() == 0


def test_suspense_refund_never_goes_to_a_staff_members_own_account():
    finance = make_finance()
    line = deposit_in_suspense(finance)
    own = StaffIdentity.objects.get(user=finance)
    with pytest.raises(NotAllowed):
        ask_suspense_refund(
            line, finance, bank_code=own.bank_code, account_number=own.account_number
        )


def test_suspense_refund_needs_finance():
    finance = make_finance()
    line = deposit_in_suspense(finance)
    with pytest.raises(NotAllowed):
        ask_suspense_refund(line, make_officer())


# --- Pages -----------------------------------------------------------------------------------


def test_member_sees_the_refund_form_on_the_loan_page_and_asks(client):
    loan = loan_with_credit()
    client.force_login(loan.member.user)
    page = client.get(loan.get_absolute_url()).content.decode()
    assert "Refund my credit" in page
    assert reverse("payments:refund_credit", args=[loan.reference]) in page

    form_page = client.get(reverse("payments:refund_credit", args=[loan.reference]))
    token = form_page.content.decode().split('name="form_token" value="')[1].split('"')[0]
    response = client.post(
        reverse("payments:refund_credit", args=[loan.reference]),
        {"amount": "1,500.00", "form_token": token},
    )
    assert response.status_code == 302
    assert Refund.objects.get().amount == 1_500_00


def test_member_asking_too_much_sees_why_and_keeps_what_they_typed(client):
    loan = loan_with_credit()
    client.force_login(loan.member.user)
    form_page = client.get(reverse("payments:refund_credit", args=[loan.reference]))
    token = form_page.content.decode().split('name="form_token" value="')[1].split('"')[0]
    response = client.post(
        reverse("payments:refund_credit", args=[loan.reference]),
        {"amount": "9,999.00", "form_token": token},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "more than the credit that can be refunded" in body
    assert 'value="9,999.00"' in body
    assert Refund.objects.count() == 0


def test_no_refund_form_without_credit(client):
    loan = active_loan()
    client.force_login(loan.member.user)
    assert "Refund my credit" not in client.get(loan.get_absolute_url()).content.decode()


def test_finance_approves_from_the_queue_after_reauthentication(client):
    loan = loan_with_credit()
    refund = request_credit_refund(member=loan.member, actor=loan.member.user, amount=CREDIT)
    finance = make_finance()
    client.force_login(finance)
    queue = client.get(reverse("payments:refund_queue")).content.decode()
    assert refund.reference in queue
    response = client.post(reverse("payments:refund_approve", args=[refund.pk]))
    assert "/accounts/reauthenticate/" in response["Location"]
    client.post(reverse("account_reauthenticate"), {"password": "correct-horse-battery"})
    token = queue.split('name="form_token" value="')[1].split('"')[0]
    response = client.post(
        reverse("payments:refund_approve", args=[refund.pk]), {"form_token": token}
    )
    assert response.status_code == 302
    assert Refund.objects.get(pk=refund.pk).status != RefundStatus.REQUESTED


# --- PostgreSQL races ------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.usefixtures("committed_db")
def test_two_requests_of_one_credit_at_once_one_wins():
    loan = loan_with_credit()
    member = loan.member
    results, errors = race(
        4, lambda i: request_credit_refund(member=member, actor=member.user, amount=CREDIT)
    )
    assert len(results) == 1, errors
    assert all(isinstance(e, Conflict) for e in errors), errors
    assert Refund.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.usefixtures("committed_db")
def test_two_approvals_of_one_credit_at_once_one_wins_and_money_is_exact():
    loan = loan_with_credit()
    member = loan.member
    first = request_credit_refund(member=member, actor=member.user, amount=CREDIT)
    second = Refund.objects.create(
        reference="RFD-RACE-2",
        source="credit",
        member=member,
        amount=CREDIT,
        bank_code=first.bank_code,
        account_number=first.account_number,
        account_name=first.account_name,
        requested_by=member.user,
    )
    approvers = [make_finance(), make_finance()]
    refunds = [first, second]
    results, errors = race(2, lambda i: approve_refund(refund=refunds[i], actor=approvers[i]))
    assert len(results) == 1, errors
    assert all(isinstance(e, Conflict) for e in errors), errors
    # The task ran on commit (Huey immediate): exactly one transfer, exactly the credit.
    assert Refund.objects.filter(status=RefundStatus.SUCCEEDED).count() == 1
    assert SimulatedProviderRecord.objects.filter(kind="transfer").count() == 1
    assert member_credit(member) == 0
    books_are_sound(member)


@pytest.mark.postgres
@pytest.mark.usefixtures("committed_db")
def test_refund_and_assignment_of_one_deposit_at_once_one_wins():
    finance = make_finance()
    loan = active_loan()
    line = deposit_in_suspense(finance)

    def work(i):
        if i == 0:
            return ask_suspense_refund(line, finance)
        return assign_from_suspense(line=line, actor=finance, loan_reference=loan.reference)

    results, errors = race(2, work)
    assert len(results) == 1, errors
    assert all(isinstance(e, Conflict) for e in errors), errors
    books_are_sound()


def test_finance_asks_from_the_back_office_loan_page(client):
    loan = loan_with_credit()
    finance = make_finance()
    client.force_login(finance)
    page = client.get(reverse("payments:staff_loan", args=[loan.reference])).content.decode()
    assert reverse("payments:staff_refund_credit", args=[loan.reference]) in page
    url = reverse("payments:staff_refund_credit", args=[loan.reference])

    response = client.post(url, with_form_token({"amount": "99,999.00"}), follow=True)
    assert "more than the credit" in response.content.decode()
    response = client.post(url, with_form_token({"amount": "abc"}), follow=True)
    assert "you typed “abc”" in response.content.decode()
    assert Refund.objects.count() == 0

    client.post(url, with_form_token({"amount": "2,000.00", "reason": "Member phoned"}))
    refund = Refund.objects.get()
    assert (refund.amount, refund.requested_by, refund.loan) == (2_000_00, finance, loan)


def _refund_rows(count):
    for _ in range(count):
        loan = loan_with_credit(credit=1_000_00)
        request_credit_refund(member=loan.member, actor=loan.member.user, amount=1_000_00)


def _suspense_rows(finance, count, start):
    for i in range(count):
        deposit_in_suspense(finance, amount=start + i)


def test_refund_queue_and_suspense_list_queries_stay_flat(client):
    finance = make_finance()
    client.force_login(finance)
    _refund_rows(1)
    _suspense_rows(finance, 1, 100_00)
    counts = []
    for extra in (0, 3):
        _refund_rows(extra)
        _suspense_rows(finance, extra, 200_00 + extra * 10)
        pages = []
        for name in ("payments:refund_queue", "payments:suspense"):
            with CaptureQueriesContext(connection) as queries:
                assert client.get(reverse(name)).status_code == 200
            pages.append(len(queries))
        counts.append(pages)
    assert counts[0] == counts[1]


def test_suspense_refund_form_keeps_what_finance_typed_on_error(client):
    finance = make_finance()
    line = deposit_in_suspense(finance)
    client.force_login(finance)
    prefix = f"r{line.pk}-"
    response = client.post(
        reverse("payments:suspense_refund", args=[line.pk]),
        {
            f"{prefix}bank_code": "044",
            f"{prefix}account_number": SENDER_ACCOUNT,
            f"{prefix}account_name": "Chukwuemeka Obi",
            f"{prefix}reason": "Sender paid us by mistake",
        },
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "The bank says this account belongs to" in body
    assert 'value="Chukwuemeka Obi"' in body and f'value="{SENDER_ACCOUNT}"' in body
    assert Refund.objects.count() == 0

    response = client.post(
        reverse("payments:suspense_refund", args=[line.pk]),
        {
            f"{prefix}bank_code": "044",
            f"{prefix}account_number": SENDER_ACCOUNT,
            f"{prefix}account_name": DEFAULT_ACCOUNT_NAME,
            f"{prefix}reason": "Sender paid us by mistake",
        },
    )
    assert response.status_code == 302
    refund = Refund.objects.get()
    page = client.get(reverse("payments:suspense")).content.decode()
    assert refund.reference in page


def test_finance_rejects_from_the_queue_with_a_reason(client):
    loan = loan_with_credit()
    refund = request_credit_refund(member=loan.member, actor=loan.member.user, amount=CREDIT)
    client.force_login(make_finance())
    url = reverse("payments:refund_reject", args=[refund.pk])
    client.post(url, with_form_token({"reason": ""}))
    assert Refund.objects.get(pk=refund.pk).status == RefundStatus.REQUESTED
    client.post(url, with_form_token({"reason": "Member asked us to keep it"}))
    assert Refund.objects.get(pk=refund.pk).status == RefundStatus.REJECTED
