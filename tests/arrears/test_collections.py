"""Collections desk: the worklist by bucket, the contact log, two-person write-off and the
allowance-delay switch — as officers, finance and members would use (or abuse) them."""

import re
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from arrears import overdue, services
from arrears.models import AllowanceDelay, CollectionContact, WriteOff, WriteOffStatus
from core.clock import LAGOS
from core.errors import Conflict, DomainError, NotAllowed
from core.models import AuditEvent
from core.money import format_naira
from ledger import chart
from ledger.selectors import loan_balance, loan_balances, trial_balance, unbalanced_entries
from loans import lifecycle
from loans.models import LoanStatus
from tests.arrears import builders as arrears_builders
from tests.factories import MemberFactory, make_finance, make_officer
from tests.form_tokens import with_form_token

TODAY = date(2027, 6, 15)
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _lagos_midday():
    with time_machine.travel(datetime(2027, 6, 15, 11, tzinfo=LAGOS), tick=False) as traveller:
        yield traveller


def loan_in_arrears(days_past_due: int, name="Ngozi Eze", state="LA"):
    return arrears_builders.loan_in_arrears(days_past_due, today=TODAY, name=name, state=state)


def run_today():
    overdue.run_overdue(run_date=TODAY)


def reauthenticate(client, user):
    """Money decisions ask for the password again (allauth's reauthentication)."""
    client.force_login(user)
    response = client.post(reverse("account_reauthenticate"), {"password": "correct-horse-battery"})
    assert response.status_code == 302, response.content


def test_worklist_filters_by_bucket_state_and_keeps_its_query_count(client):
    finance = make_finance()
    loan_45 = loan_in_arrears(45, name="Musa Bello", state="KN")
    loan_10 = loan_in_arrears(10, name="Ada Obi", state="LA")
    loan_in_arrears(-5, name="Up To Date")
    run_today()
    client.force_login(finance)
    url = reverse("arrears:worklist")

    page = client.get(url).content.decode()
    assert "Musa Bello" in page and "Ada Obi" in page and "Up To Date" not in page

    partial = client.get(url, {"bucket": "31-60"}, headers={"HX-Request": "true"})
    body = partial.content.decode()
    assert "<html" not in body
    assert loan_45.reference in body and loan_10.reference not in body
    assert ">45<" in body and "31–60 days" in body

    body = client.get(url, {"deployment_state": "LA"}).content.decode()
    assert loan_10.reference in body and loan_45.reference not in body
    body = client.get(url, {"q": "musa"}).content.decode()
    assert loan_45.reference in body and loan_10.reference not in body

    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for days in (20, 35, 70, 100):
        loan_in_arrears(days, name=f"Extra {days}")
    lifecycle.mark_overdue(TODAY)  # today's run is done: mark the new ones directly
    lifecycle.update_arrears_since()
    client.get(url)  # the new products emptied the products cache: refill it once
    with CaptureQueriesContext(connection) as many:
        body = client.get(url).content.decode()
    assert "Extra 100" in body
    assert len(many) == len(few)


def test_members_and_staff_without_permission_cannot_see_the_worklist(client):
    member = MemberFactory()
    client.force_login(member.user)
    assert client.get(reverse("arrears:worklist")).status_code == 403
    client.logout()
    response = client.get(reverse("arrears:worklist"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_officer_logs_a_call_with_a_promise_through_htmx(client):
    loan = loan_in_arrears(40)
    run_today()
    officer = make_officer()
    client.force_login(officer)
    url = reverse("arrears:log_contact", args=[loan.reference])

    bad = client.post(
        url, {"channel": "call", "outcome": "promised"}, headers={"HX-Request": "true"}
    )
    assert bad.status_code == 400
    assert "needs the date the member promised" in bad.content.decode()
    assert not CollectionContact.objects.exists()

    response = client.post(
        url,
        {
            "channel": "call",
            "outcome": "promised",
            "promise_date": "2027-06-20",
            "promise_amount": "15,000",
            "note": "Allowance arrives on the 18th.",
        },
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert "Promise to pay" in body and "20 Jun 2027" in body and "₦15,000.00" in body
    contact = CollectionContact.objects.get()
    assert contact.staff == officer and contact.promise_amount == 15_000_00
    assert contact.outside_permitted_hours is False
    assert AuditEvent.objects.filter(action="arrears.contact_logged").count() == 1

    # The worklist shows the latest contact and the promised date.
    body = client.get(reverse("arrears:worklist")).content.decode()
    assert "20 Jun 2027" in body


def test_a_contact_logged_at_night_is_flagged(_lagos_midday):
    loan = loan_in_arrears(3)
    _lagos_midday.move_to(datetime(2027, 6, 15, 22, 30, tzinfo=LAGOS))
    contact = services.log_contact(
        loan=loan, actor=make_officer(), channel="call", outcome="no_answer"
    )
    assert contact.outside_permitted_hours is True


def test_promises_in_the_past_and_members_logging_contacts_are_refused(client):
    loan = loan_in_arrears(12)
    with pytest.raises(DomainError, match="in the past"):
        services.log_contact(
            loan=loan,
            actor=make_officer(),
            channel="call",
            outcome="promised",
            promise_date=TODAY - timedelta(days=1),
        )
    client.force_login(loan.member.user)
    response = client.post(
        reverse("arrears:log_contact", args=[loan.reference]),
        {"channel": "call", "outcome": "reached"},
    )
    assert response.status_code == 403
    assert not CollectionContact.objects.exists()


def test_write_off_needs_two_people_and_clears_the_loan_in_the_ledger(client):
    loan = loan_in_arrears(120)
    run_today()
    officer = make_officer()
    finance = make_finance()
    owed = loan_balance(loan)
    assert owed > 0

    with pytest.raises(DomainError, match="at least 20"):
        services.request_write_off(loan=loan, actor=officer, reason="gone")
    write_off = services.request_write_off(
        loan=loan, actor=officer, reason="Member unreachable for 120 days, number disconnected."
    )
    assert write_off.amount == owed
    with pytest.raises(Conflict, match="already waiting"):
        services.request_write_off(
            loan=loan, actor=finance, reason="A second request for the same loan, refused."
        )
    # The officer cannot approve (no permission), nor can the requester.
    with pytest.raises(NotAllowed):
        services.approve_write_off(write_off=write_off, actor=officer)
    self_request = WriteOff.objects.create(
        loan=loan_in_arrears(100, name="Second Loan"),
        reason="Requested by finance, approved by the same person?",
        requested_by=finance,
        amount=1,
    )
    with pytest.raises(NotAllowed, match="second person"):
        services.approve_write_off(write_off=self_request, actor=finance)

    decide = reverse("arrears:decide_write_off", args=[loan.reference, write_off.pk])
    client.force_login(finance)
    response = client.post(decide, {"decision": "approve", "note": "Agreed"})
    assert "/accounts/reauthenticate/" in response["Location"]
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ACTIVE

    reauthenticate(client, finance)
    response = client.post(decide, with_form_token({"decision": "approve", "note": "Agreed"}))
    assert response["Location"] == reverse("arrears:loan", args=[loan.reference])
    loan.refresh_from_db()
    write_off.refresh_from_db()
    assert loan.status == LoanStatus.WRITTEN_OFF and loan.arrears_since is None
    assert write_off.status == WriteOffStatus.APPROVED and write_off.decided_by == finance
    assert loan_balance(loan) == 0
    balances = loan_balances(loan)
    assert balances.get(chart.UNEARNED_INTEREST, 0) == 0
    assert trial_balance()["balanced"] and unbalanced_entries() == []
    assert AuditEvent.objects.filter(action="loan.written_off", object_id=str(loan.pk)).exists()

    # Deciding again changes nothing.
    with pytest.raises(Conflict):
        services.approve_write_off(write_off=write_off, actor=make_finance())


def test_refusing_a_write_off_needs_a_note_and_keeps_the_loan(client):
    loan = loan_in_arrears(95)
    write_off = services.request_write_off(
        loan=loan, actor=make_officer(), reason="Member says the allowance stopped early."
    )
    finance = make_finance()
    with pytest.raises(DomainError, match="Say why"):
        services.reject_write_off(write_off=write_off, actor=finance, note="")
    services.reject_write_off(write_off=write_off, actor=finance, note="Call the member again.")
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ACTIVE
    # A new request is possible once the first is decided.
    services.request_write_off(
        loan=loan, actor=make_officer(), reason="Second attempt after three more weeks of calls."
    )


def test_finance_pauses_late_fees_and_cannot_rewrite_days_already_charged(client):
    finance = make_finance()
    client.force_login(finance)
    url = reverse("arrears:allowance_delays")
    assert client.get(url).status_code == 200

    run_today()  # today is charged: a pause can start tomorrow at the earliest
    too_early = client.post(
        url, {"starts_on": "2027-06-15", "ends_on": "2027-06-20", "reason": "Allowance late"}
    )
    assert too_early.status_code == 400
    assert "16 Jun 2027 at the earliest" in too_early.content.decode()
    backwards = client.post(
        url, {"starts_on": "2027-06-20", "ends_on": "2027-06-16", "reason": "Allowance late"}
    )
    assert backwards.status_code == 400 and "ends before it starts" in backwards.content.decode()
    assert not AllowanceDelay.objects.exists()

    response = client.post(
        url,
        {"starts_on": "2027-06-16", "ends_on": "2027-06-30", "reason": "June allowance late"},
    )
    assert response.status_code == 302
    delay = AllowanceDelay.objects.get()
    assert AuditEvent.objects.filter(action="arrears.allowance_delay_set").exists()
    assert overdue.fees_paused_on(date(2027, 6, 20))

    client.post(reverse("arrears:cancel_allowance_delay", args=[delay.pk]))
    delay.refresh_from_db()
    assert delay.cancelled_by == finance and not overdue.fees_paused_on(date(2027, 6, 20))


def test_officers_cannot_switch_allowance_delayed(client):
    client.force_login(make_officer())
    response = client.post(
        reverse("arrears:allowance_delays"),
        {"starts_on": "2027-06-16", "ends_on": "2027-06-30", "reason": "June allowance late"},
    )
    assert response.status_code == 403
    assert not AllowanceDelay.objects.exists()


def test_after_a_write_off_the_member_still_sees_what_they_owe(client):
    """Issue 17: a write-off clears the receivable in our books, not the member's debt; the
    loan page showed "You owe ₦0.00" beside overdue installments."""
    loan = loan_in_arrears(120)
    run_today()
    owed = loan_balance(loan)
    write_off = services.request_write_off(
        loan=loan, actor=make_officer(), reason="Member unreachable for 120 days, number gone."
    )
    services.approve_write_off(write_off=write_off, actor=make_finance())
    loan.refresh_from_db()
    assert loan.status == LoanStatus.WRITTEN_OFF and loan_balance(loan) == 0

    client.force_login(loan.member.user)
    page = client.get(reverse("payments:loan_detail", args=[loan.reference])).content.decode()
    shown = re.search(r'data-testid="outstanding">([^<]+)<', page).group(1)
    assert shown == format_naira(owed) and owed > 0
    assert 'data-testid="written-off"' in page and "the debt remains" in page


def test_an_active_loan_shows_no_write_off_notice(client):
    loan = loan_in_arrears(10)
    client.force_login(loan.member.user)
    page = client.get(reverse("payments:loan_detail", args=[loan.reference])).content.decode()
    assert 'data-testid="written-off"' not in page
    shown = re.search(r'data-testid="outstanding">([^<]+)<', page).group(1)
    assert shown == format_naira(loan_balance(loan))
