"""Waivers of late fees, fees and interest on one loan: worked figures through the real
services, the ledger kept equal to the schedule, two people above the threshold, every refusal,
the staff pages and the member's message."""

import re
from datetime import date, datetime, time, timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import TestCase
from django.urls import reverse

from arrears import overdue
from arrears import services as arrears_services
from core.clock import LAGOS
from core.errors import Conflict, DomainError, NotAllowed
from core.models import AuditEvent
from ledger import chart
from ledger.models import JournalEntry
from ledger.selectors import loan_balance, loan_balances, trial_balance, unbalanced_entries
from loans import services as loan_services
from loans.models import Installment, InstallmentStatus, LoanStatus
from notifications.models import Message
from payments import services as payment_services
from servicing.models import Waiver, WaiverStatus
from servicing.services.waivers import approve_waiver, reject_waiver, request_waiver
from tests.arrears.builders import loan_in_arrears
from tests.factories import (
    UserFactory,
    active_loan,
    approved_loan,
    give_staff_identity,
    make_admin,
    make_finance,
    make_officer,
    schedule_outstanding,
)
from tests.form_tokens import with_form_token
from tests.races import race

pytestmark = pytest.mark.django_db
on_commit = TestCase.captureOnCommitCallbacks

TODAY = date(2027, 6, 15)
REASON = "The member's allowance was paid three weeks late by NYSC."


@pytest.fixture(autouse=True)
def lagos_midday():
    with time_machine.travel(datetime(2027, 6, 15, 11, tzinfo=LAGOS), tick=False) as traveller:
        yield traveller


# Loans here are paid out on TODAY, 15 Jun 2027: the first due date is 28 Jul, 15 + 28 = 43
# days, and installment 1's interest is for those days (issue 17): on ₦60,000 at 5 % a month,
# 6,000,000 × 0.05 × 12 × 43 / 365 = 424,109.59 → ₦4,241.10. Later months: ₦3,000 (flat).
FIRST_INTEREST = 424_110


def loan_with_late_fees(*, days_past_due=10, fee_days=6):
    """Six months of ₦10,000 principal + ₦3,000 interest (month 1: ₦4,241.10, above); the first
    installment (₦14,241.10) overdue with 0.5 % of it a day, 7,120.55 → ₦71.21, for
    ``fee_days`` days (6 days: ₦427.26), capped at 10 %: ₦1,424.11 (rounded down)."""
    loan = loan_in_arrears(days_past_due, today=TODAY)
    overdue.run_overdue(run_date=TODAY - timedelta(days=fee_days - 1))
    overdue.run_overdue(run_date=TODAY)
    return loan


def installment(loan, number) -> Installment:
    return Installment.objects.get(loan=loan, number=number)


def assert_books_agree(loan):
    """Every entry balances, and what the ledger says the member owes is what the schedule says."""
    assert trial_balance()["balanced"] and unbalanced_entries() == []
    assert loan_balance(loan) == schedule_outstanding(loan)


def waiver_entries(loan):
    return JournalEntry.objects.filter(loan=loan, kind="waiver")


def audit_actions(loan) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_id=str(loan.pk), action__startswith="servicing.")
        .order_by("id")
        .values_list("action", flat=True)
    )


# --- Worked figures ----------------------------------------------------------------------------


def test_a_small_late_fee_waiver_applies_at_once_with_one_balanced_entry():
    loan = loan_with_late_fees()
    assert installment(loan, 1).late_fee == 427_26  # 6 days × ₦71.21
    assert_books_agree(loan)
    owed_before = loan_balance(loan)
    officer = make_officer()

    waiver = request_waiver(
        loan=loan, actor=officer, component="late_fee", amount=100_00, reason=REASON
    )

    assert waiver.status == WaiverStatus.APPLIED and waiver.decided_by == officer
    assert not waiver.second_approval_required
    assert waiver.breakdown == [{"installment": 1, "amount": 100_00}]
    first = installment(loan, 1)
    assert first.late_fee == 327_26 and first.status == InstallmentStatus.OVERDUE
    assert first.late_fee_cap == 1_424_11 - 100_00
    entry = waiver.journal_entry
    assert entry.idempotency_key == f"waiver:{waiver.pk}" and entry.actor == officer
    assert sorted((p.account.code, p.amount) for p in entry.postings.all()) == [
        (chart.LOANS_PENALTIES, -100_00),
        (chart.CHARGES_WAIVED, 100_00),
    ]
    balances = loan_balances(loan)
    assert balances[chart.LOANS_PENALTIES] == 327_26
    assert balances[chart.CHARGES_WAIVED] == 100_00
    assert balances[chart.PENALTY_INCOME] == -427_26  # the income stays; the expense offsets it
    assert loan_balance(loan) == owed_before - 100_00
    assert_books_agree(loan)
    assert audit_actions(loan) == ["servicing.waiver_requested", "servicing.waiver_applied"]


def test_a_waived_late_fee_is_never_charged_again_once_the_cap_was_reached(lagos_midday):
    loan = loan_with_late_fees(days_past_due=40, fee_days=31)
    assert installment(loan, 1).late_fee == 1_424_11  # the cap: 10 % of ₦14,241.10

    request_waiver(
        loan=loan, actor=make_officer(), component="late_fee", amount=500_00, reason=REASON
    )
    lagos_midday.shift(timedelta(days=1))
    overdue.run_overdue(run_date=TODAY + timedelta(days=1))

    first = installment(loan, 1)
    assert first.late_fee == 924_11 and first.late_fee_cap == 924_11
    assert_books_agree(loan)


def test_below_the_cap_late_fees_keep_running_after_a_waiver(lagos_midday):
    loan = loan_with_late_fees()
    request_waiver(
        loan=loan, actor=make_officer(), component="late_fee", amount=427_26, reason=REASON
    )
    assert installment(loan, 1).late_fee == 0
    lagos_midday.shift(timedelta(days=1))
    overdue.run_overdue(run_date=TODAY + timedelta(days=1))
    first = installment(loan, 1)
    assert first.late_fee == 71_21 and first.late_fee_cap == 1_424_11 - 427_26
    assert_books_agree(loan)


def test_interest_is_waived_oldest_first_never_below_what_was_paid_against_unearned_interest():
    # Three months of ₦20,000 principal + ₦3,000 interest, month 1's ₦4,241.10 (above).
    loan = active_loan()
    payment_services.record_manual_payment(
        loan=loan, actor=make_finance(), amount=1_000_00, reason="Part payment", evidence="P-1"
    )
    assert installment(loan, 1).paid_interest == 1_000_00
    unearned_before = loan_balances(loan)[chart.UNEARNED_INTEREST]

    waiver = request_waiver(
        loan=loan, actor=make_officer(), component="interest", amount=4_000_00, reason=REASON
    )

    # Installment 1 down to the ₦1,000 paid: 4,241.10 − 1,000 = ₦3,241.10; the other
    # 4,000 − 3,241.10 = ₦758.90 from installment 2.
    assert waiver.breakdown == [
        {"installment": 1, "amount": 3_241_10},
        {"installment": 2, "amount": 758_90},
    ]
    first, second, third = (installment(loan, n) for n in (1, 2, 3))
    assert (first.interest, first.paid_interest) == (1_000_00, 1_000_00)
    assert second.interest == 2_241_10 and third.interest == 3_000_00
    balances = loan_balances(loan)
    assert balances[chart.UNEARNED_INTEREST] == unearned_before + 4_000_00
    # Unpaid interest was never income: what stays unearned is exactly what is still owed,
    # 2,241.10 + 3,000.
    assert balances[chart.UNEARNED_INTEREST] == -balances[chart.LOANS_INTEREST] == -5_241_10
    assert chart.CHARGES_WAIVED not in balances
    assert_books_agree(loan)


def test_a_fee_added_to_the_first_installment_is_waived_as_an_expense():
    loan = active_loan(fee_treatment="first_installment")
    assert installment(loan, 1).fee == 600_00  # 1 % of ₦60,000

    request_waiver(loan=loan, actor=make_finance(), component="fee", amount=600_00, reason=REASON)

    assert installment(loan, 1).fee == 0
    balances = loan_balances(loan)
    assert balances.get(chart.LOANS_FEES, 0) == 0 and balances[chart.CHARGES_WAIVED] == 600_00
    assert_books_agree(loan)


# --- Two people above the threshold ------------------------------------------------------------


def test_above_the_threshold_a_second_person_applies_the_waiver():
    loan = active_loan()
    officer, finance = make_officer(), make_finance()

    waiver = request_waiver(
        loan=loan, actor=officer, component="interest", amount=6_000_00, reason=REASON
    )
    assert waiver.status == WaiverStatus.PENDING_APPROVAL and waiver.second_approval_required
    assert waiver.journal_entry is None and not waiver_entries(loan).exists()
    assert [i.interest for i in loan.installments.all()] == [FIRST_INTEREST, 3_000_00, 3_000_00]

    with pytest.raises(NotAllowed, match="second person"):
        approve_waiver(waiver=waiver, actor=officer)
    approve_waiver(waiver=waiver, actor=finance, note="Agreed with the branch manager.")

    waiver.refresh_from_db()
    assert waiver.status == WaiverStatus.APPLIED and waiver.decided_by == finance
    assert waiver.decision_note == "Agreed with the branch manager."
    # ₦6,000 oldest first: all ₦4,241.10 of month 1, then ₦1,758.90 of month 2's ₦3,000.
    assert [i.interest for i in loan.installments.all()] == [0, 1_241_10, 3_000_00]
    assert waiver_entries(loan).count() == 1
    assert_books_agree(loan)
    assert audit_actions(loan) == ["servicing.waiver_requested", "servicing.waiver_applied"]

    with pytest.raises(Conflict, match="already applied"):
        approve_waiver(waiver=waiver, actor=make_finance())
    with pytest.raises(Conflict, match="already applied"):
        reject_waiver(waiver=waiver, actor=make_finance(), note="Too late to refuse this.")
    assert waiver_entries(loan).count() == 1


def test_single_person_waivers_on_one_loan_add_up_against_the_threshold(settings):
    settings.WAIVER_SECOND_APPROVAL_ABOVE = 300_00
    loan = loan_with_late_fees()
    officer = make_officer()
    first = request_waiver(
        loan=loan, actor=officer, component="late_fee", amount=200_00, reason=REASON
    )
    second = request_waiver(
        loan=loan, actor=officer, component="late_fee", amount=150_00, reason=REASON
    )
    assert first.status == WaiverStatus.APPLIED
    assert second.status == WaiverStatus.PENDING_APPROVAL and second.second_approval_required


def test_refusing_needs_a_reason_and_a_second_person_and_moves_no_money():
    loan = active_loan()
    officer, finance = make_officer(), make_finance()
    waiver = request_waiver(
        loan=loan, actor=officer, component="interest", amount=6_000_00, reason=REASON
    )
    with pytest.raises(DomainError, match="Say why"):
        reject_waiver(waiver=waiver, actor=finance, note="no")
    with pytest.raises(NotAllowed, match="second person"):
        reject_waiver(waiver=waiver, actor=officer, note="I changed my mind about it.")

    reject_waiver(waiver=waiver, actor=finance, note="Interest is owed under the agreement.")

    waiver.refresh_from_db()
    assert waiver.status == WaiverStatus.REJECTED and waiver.decided_by == finance
    assert not waiver_entries(loan).exists()
    assert [i.interest for i in loan.installments.all()] == [FIRST_INTEREST, 3_000_00, 3_000_00]
    assert audit_actions(loan) == ["servicing.waiver_requested", "servicing.waiver_rejected"]
    with pytest.raises(Conflict, match="already refused"):
        approve_waiver(waiver=waiver, actor=make_finance())


def test_approval_checks_again_what_is_owed_now():
    loan = active_loan()
    finance = make_finance()
    waiver = request_waiver(
        loan=loan, actor=make_officer(), component="interest", amount=6_000_00, reason=REASON
    )
    # A second request may not take what already waits for approval.
    with pytest.raises(DomainError, match="₦6,000.00 of it already waits") as refused:
        request_waiver(
            loan=loan, actor=make_officer(), component="interest", amount=4_500_00, reason=REASON
        )
    # ₦10,241.10 of interest in all (4,241.10 + 3,000 + 3,000), ₦6,000 of it waiting.
    assert "at most ₦4,241.10" in refused.value.message
    # After all three installments fell due the member pays ₦52,000: installments 1 and 2 in
    # full (₦24,241.10 + ₦23,000) and ₦4,758.90 of installment 3 (its ₦3,000 interest first),
    # so no interest is owed.
    last_due = loan.installments.order_by("number").last().due_date
    later = datetime.combine(last_due + timedelta(days=1), time(12), tzinfo=LAGOS)
    with time_machine.travel(later, tick=False):
        payment_services.record_manual_payment(
            loan=loan, actor=finance, amount=52_000_00, reason="Paid at the bank", evidence="P-2"
        )
    owed_after_payment = loan_balance(loan)

    with pytest.raises(Conflict, match="Only ₦0.00 of interest is owed on this loan now"):
        approve_waiver(waiver=waiver, actor=make_finance())

    waiver.refresh_from_db()
    assert waiver.status == WaiverStatus.PENDING_APPROVAL
    assert loan_balance(loan) == owed_after_payment and not waiver_entries(loan).exists()
    assert_books_agree(loan)


# --- Refusals: nothing is written --------------------------------------------------------------


def test_bad_input_is_refused_in_plain_words_and_nothing_is_written():
    loan = loan_with_late_fees()
    officer = make_officer()
    schedule_before = list(loan.installments.values())
    balance_before = loan_balance(loan)
    cases = [
        ("late_fee", 427_27, REASON, "Only ₦427.26 of late fees is owed on this loan"),
        ("fee", 1_00, REASON, "No fees are owed on this loan"),
        ("late_fee", 0, REASON, "more than ₦0.00"),
        ("late_fee", -100_00, REASON, "more than ₦0.00"),
        ("late_fee", 10.5, REASON, "whole number of kobo"),
        ("late_fee", "100", REASON, "whole number of kobo"),
        ("late_fee", True, REASON, "whole number of kobo"),
        ("late_fee", 100_00, "  late  ", "at least 10 characters"),
        ("principal", 100_00, REASON, "Choose what to waive"),
    ]
    for component, amount, reason, message in cases:
        with pytest.raises(DomainError, match=message):
            request_waiver(
                loan=loan, actor=officer, component=component, amount=amount, reason=reason
            )
    assert not Waiver.objects.exists() and not waiver_entries(loan).exists()
    assert list(loan.installments.values()) == schedule_before
    assert loan_balance(loan) == balance_before
    assert audit_actions(loan) == []


def test_only_an_active_loan_has_charges_waived():
    officer, finance = make_officer(), make_finance()
    pending = approved_loan()
    cancelled = approved_loan()
    loan_services.cancel_application(application=cancelled.application, actor=cancelled.member.user)
    closed = active_loan()
    payment_services.record_manual_payment(
        loan=closed, actor=finance, amount=loan_balance(closed), reason="Repaid", evidence="P-3"
    )
    written_off = active_loan()
    write_off = arrears_services.request_write_off(
        loan=written_off, actor=officer, reason="The member cannot be found after many calls."
    )
    arrears_services.approve_write_off(write_off=write_off, actor=finance)

    for loan, status in [
        (pending, "pending disbursement"),
        (cancelled, "cancelled"),
        (closed, "closed (repaid)"),
        (written_off, "written off"),
    ]:
        expected = f"only on an active loan; loan .* is {re.escape(status)}"
        with pytest.raises(Conflict, match=expected):
            request_waiver(
                loan=loan, actor=officer, component="interest", amount=100_00, reason=REASON
            )
    assert not Waiver.objects.exists()


def test_a_waiver_cannot_be_approved_once_the_loan_is_written_off():
    loan = active_loan()
    officer, finance = make_officer(), make_finance()
    waiver = request_waiver(
        loan=loan, actor=officer, component="interest", amount=6_000_00, reason=REASON
    )
    write_off = arrears_services.request_write_off(
        loan=loan, actor=officer, reason="The member cannot be found after many calls."
    )
    arrears_services.approve_write_off(write_off=write_off, actor=finance)
    with pytest.raises(Conflict, match="written off"):
        approve_waiver(waiver=waiver, actor=make_finance())
    # Refusing it is still possible, so nothing stays pending for ever.
    reject_waiver(waiver=waiver, actor=make_finance(), note="The loan was written off meanwhile.")


# --- Who may waive -----------------------------------------------------------------------------


def test_only_staff_with_the_permission_and_no_tie_to_the_member_may_waive():
    loan = loan_with_late_fees()

    def attempt(actor, amount=100_00):
        return request_waiver(
            loan=loan, actor=actor, component="late_fee", amount=amount, reason=REASON
        )

    with pytest.raises(NotAllowed, match="permission"):
        attempt(loan.member.user)
    with pytest.raises(NotAllowed, match="permission"):
        attempt(make_admin())
    with pytest.raises(NotAllowed, match="staff identity"):
        attempt(make_officer(identity=False))
    related = make_officer()
    give_staff_identity(related, phone=loan.member.phone)
    with pytest.raises(NotAllowed, match="same phone number as you"):
        attempt(related)
    assert not Waiver.objects.exists()

    # The approver is checked against the member and against the person who asked.
    waiver = attempt(make_officer(), amount=390_00)
    assert waiver.status == WaiverStatus.APPLIED


def test_the_approver_must_not_share_an_identity_with_the_member(settings):
    settings.WAIVER_SECOND_APPROVAL_ABOVE = 0
    loan = loan_with_late_fees()
    waiver = request_waiver(
        loan=loan, actor=make_officer(), component="late_fee", amount=100_00, reason=REASON
    )
    related = make_finance()
    give_staff_identity(related, phone=loan.member.phone)
    with pytest.raises(NotAllowed, match="same phone number as you"):
        approve_waiver(waiver=waiver, actor=related)
    with pytest.raises(NotAllowed, match="permission"):
        approve_waiver(waiver=waiver, actor=make_admin())
    waiver.refresh_from_db()
    assert waiver.status == WaiverStatus.PENDING_APPROVAL


# --- The member is told ------------------------------------------------------------------------


def test_the_member_is_told_in_plain_words_once_the_waiver_is_applied(settings):
    settings.WAIVER_SECOND_APPROVAL_ABOVE = 200_00
    loan = loan_with_late_fees()
    with on_commit(execute=True):
        small = request_waiver(
            loan=loan, actor=make_officer(), component="late_fee", amount=100_00, reason=REASON
        )
    with on_commit(execute=True):
        large = request_waiver(
            loan=loan, actor=make_officer(), component="late_fee", amount=290_00, reason=REASON
        )
    assert large.status == WaiverStatus.PENDING_APPROVAL
    assert len(mail.outbox) == 1  # nothing for a waiver still waiting
    email = mail.outbox[0]
    assert email.to == [loan.member.user.email]
    assert email.subject == (
        f"[AllaweePlus] We have waived ₦100.00 of late fees on loan {loan.reference}"
    )
    assert f"We have waived ₦100.00 of late fees on loan {loan.reference}." in email.body
    assert "You now owe" in email.body
    assert (
        Message.objects.filter(
            kind="charges_waived", dedupe_key__startswith=(f"charges_waived:{small.pk}:")
        ).count()
        == 2
    )  # e-mail and SMS

    with on_commit(execute=True):
        approve_waiver(waiver=large, actor=make_finance())
    assert len(mail.outbox) == 2
    assert "₦290.00 of late fees" in mail.outbox[1].subject


# --- Staff pages -------------------------------------------------------------------------------


def test_the_staff_loan_page_loads_the_waiver_panel(client):
    loan = loan_with_late_fees()
    client.force_login(make_officer())
    page = client.get(reverse("payments:staff_loan", args=[loan.reference])).content.decode()
    url = reverse("servicing:loan_waivers", args=[loan.reference])
    assert f'hx-get="{url}"' in page and 'hx-trigger="load"' in page

    panel = client.get(url, headers={"HX-Request": "true"})
    body = panel.content.decode()
    assert panel.status_code == 200 and "<html" not in body
    assert "Late fees still owed" in body and "₦427.26" in body
    assert 'name="amount"' in body and 'name="form_token"' in body and "Waive" in body
    assert panel["Vary"] and "HX-Request" in panel["Vary"]
    full = client.get(url).content.decode()
    assert "<html" in full and "back to the loan" in full


def test_staff_waive_a_late_fee_from_the_panel(client):
    loan = loan_with_late_fees()
    client.force_login(make_officer())
    response = client.post(
        reverse("servicing:request_waiver", args=[loan.reference]),
        with_form_token({"component": "late_fee", "amount": "₦100.50", "reason": REASON}),
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("payments:staff_loan", args=[loan.reference])
    waiver = Waiver.objects.get()
    assert waiver.amount == 100_50 and waiver.status == WaiverStatus.APPLIED
    page = client.get(response["Location"]).content.decode()
    assert f"₦100.50 of late fees waived on loan {loan.reference}." in page
    panel = client.get(reverse("servicing:loan_waivers", args=[loan.reference])).content
    assert "installment 1 (₦100.50)" in panel.decode()


def test_a_refused_waiver_shows_the_form_again_with_what_was_typed(client):
    loan = loan_with_late_fees()
    client.force_login(make_officer())
    url = reverse("servicing:request_waiver", args=[loan.reference])
    typed_reason = "Goodwill after a complaint about a late SMS reminder."

    too_much = client.post(
        url, with_form_token({"component": "late_fee", "amount": "500", "reason": typed_reason})
    )
    body = too_much.content.decode()
    assert too_much.status_code == 400
    assert "Only ₦427.26 of late fees is owed on this loan" in body
    assert typed_reason in body and 'value="500"' in body

    unreadable = client.post(
        url, with_form_token({"component": "late_fee", "amount": "12abc", "reason": "short"})
    )
    body = unreadable.content.decode()
    assert unreadable.status_code == 400
    assert 'value="12abc"' in body and "short</textarea>" in body
    assert 'aria-describedby="id_amount_error"' in body and 'id="id_amount_error"' in body
    assert "at least 10 characters" in body
    assert not Waiver.objects.exists()


def test_a_second_person_decides_from_the_panel_and_a_refusal_keeps_the_note(client):
    loan = active_loan()
    officer = make_officer()
    waiver = request_waiver(
        loan=loan, actor=officer, component="interest", amount=6_000_00, reason=REASON
    )
    panel_url = reverse("servicing:loan_waivers", args=[loan.reference])
    decide = reverse("servicing:decide_waiver", args=[loan.reference, waiver.pk])

    client.force_login(officer)
    assert "You asked for this waiver" in client.get(panel_url).content.decode()
    own = client.post(decide, with_form_token({"decision": "approve"}))
    assert own.status_code == 403 and "second person must decide" in own.content.decode()

    finance = make_finance()
    client.force_login(finance)
    assert "Approve waiver" in client.get(panel_url).content.decode()
    short = client.post(decide, with_form_token({"decision": "reject", "note": "Nope"}))
    assert short.status_code == 400
    assert "Say why the waiver is refused" in short.content.decode()
    assert ">Nope</textarea>" in short.content.decode()  # the note as typed

    approved = client.post(decide, with_form_token({"decision": "approve", "note": ""}))
    assert approved.status_code == 302
    waiver.refresh_from_db()
    assert waiver.status == WaiverStatus.APPLIED and waiver.decided_by == finance
    assert_books_agree(loan)


def test_people_without_the_permission_see_the_history_but_cannot_waive(client):
    loan = loan_with_late_fees()
    admin = make_admin()
    client.force_login(admin)
    panel = client.get(reverse("servicing:loan_waivers", args=[loan.reference]))
    assert panel.status_code == 200 and 'name="amount"' not in panel.content.decode()
    refused = client.post(
        reverse("servicing:request_waiver", args=[loan.reference]),
        with_form_token({"component": "late_fee", "amount": "100", "reason": REASON}),
    )
    assert refused.status_code == 403

    client.force_login(loan.member.user)
    member = client.get(reverse("servicing:loan_waivers", args=[loan.reference]))
    assert member.status_code == 403
    assert not Waiver.objects.exists()


def test_the_admin_shows_waivers_read_only(client):
    loan = loan_with_late_fees()
    waiver = request_waiver(
        loan=loan, actor=make_officer(), component="late_fee", amount=100_00, reason=REASON
    )
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    listing = client.get(reverse("admin:servicing_waiver_changelist"))
    assert listing.status_code == 200 and str(waiver.pk) in (listing.content.decode())
    assert client.get(reverse("admin:servicing_waiver_add")).status_code == 403
    detail = client.get(reverse("admin:servicing_waiver_change", args=[waiver.pk]))
    assert detail.status_code == 200 and b'name="_save"' not in detail.content


def test_a_loan_that_is_not_active_offers_no_waiver_form(client):
    loan = approved_loan()
    client.force_login(make_officer())
    body = client.get(reverse("servicing:loan_waivers", args=[loan.reference])).content.decode()
    assert 'name="amount"' not in body
    assert "only while the loan is active" in body
    assert LoanStatus.PENDING_DISBURSEMENT not in body  # no internal codes


# --- Races on PostgreSQL -----------------------------------------------------------------------


@pytest.fixture
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks and races need PostgreSQL")


@pytest.mark.usefixtures("_postgres_only")
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_people_approving_one_waiver_at_once_apply_it_once():
    loan = active_loan()
    waiver = request_waiver(
        loan=loan, actor=make_officer(), component="interest", amount=6_000_00, reason=REASON
    )
    approvers = [make_finance(), make_finance()]

    results, errors = race(2, lambda i: approve_waiver(waiver=waiver, actor=approvers[i]))

    assert len(results) == 1 and len(errors) == 1
    assert isinstance(errors[0], Conflict) and "already applied" in errors[0].message
    assert waiver_entries(loan).count() == 1
    # ₦6,000 oldest first: all ₦4,241.10 of month 1, then ₦1,758.90 of month 2's ₦3,000.
    assert [i.interest for i in loan.installments.all()] == [0, 1_241_10, 3_000_00]
    assert_books_agree(loan)


@pytest.mark.usefixtures("_postgres_only")
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_small_waivers_at_once_never_waive_more_than_is_owed():
    loan = loan_with_late_fees()  # ₦427.26 of late fees
    officers = [make_officer(), make_officer()]

    results, errors = race(
        2,
        lambda i: request_waiver(
            loan=loan, actor=officers[i], component="late_fee", amount=300_00, reason=REASON
        ),
    )

    assert len(results) == 1 and len(errors) == 1
    assert "Only ₦127.26 of late fees is owed" in errors[0].message
    assert installment(loan, 1).late_fee == 127_26
    assert_books_agree(loan)


@pytest.mark.usefixtures("_postgres_only")
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_waiver_approved_while_the_member_pays_keeps_the_books_equal_to_the_schedule():
    loan = active_loan()
    waiver = request_waiver(
        loan=loan, actor=make_officer(), component="interest", amount=6_000_00, reason=REASON
    )
    approver, cashier = make_finance(), make_finance()

    def work(i):
        if i == 0:
            return approve_waiver(waiver=waiver, actor=approver)
        return payment_services.record_manual_payment(
            loan=loan, actor=cashier, amount=50_000_00, reason="Paid at the bank", evidence="R-1"
        )

    results, errors = race(2, work)

    waiver.refresh_from_db()
    if waiver.status == WaiverStatus.APPLIED:  # the waiver first: the payment met less interest
        assert errors == [] and len(results) == 2
    else:  # the payment first cleared the interest: the approval found none left to waive
        assert len(errors) == 1 and "of interest is owed on this loan now" in errors[0].message
        assert not waiver_entries(loan).exists()
    assert_books_agree(loan)
