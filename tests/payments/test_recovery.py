"""Recoveries after a write-off (issue 17): the write-off clears the receivable in our books,
not the member's debt. Money that arrives afterwards is accepted, allocated to the installments
like any repayment and booked as recovery income (4300); the member can still settle; a loan
recovered in full is discharged (the letter, once); the member never reads "You owe ₦0.00"
beside overdue installments, and the staff page shows what was recovered.
"""

import re
from datetime import date, datetime

import pytest
import time_machine
from django.urls import reverse

from arrears import overdue
from arrears import services as arrears_services
from core.clock import LAGOS
from core.errors import Conflict
from core.models import AuditEvent
from core.money import format_naira
from ledger import chart
from ledger.models import JournalEntry
from ledger.selectors import loan_balance, loan_balances, trial_balance, unbalanced_entries
from loans.models import InstallmentStatus, LoanStatus
from loans.selectors import contractual_outstanding
from payments import services
from payments.models import Payment
from payments.services import settlement
from tests.arrears.builders import loan_in_arrears
from tests.factories import make_finance, make_officer

pytestmark = pytest.mark.django_db

TODAY = date(2027, 6, 15)


@pytest.fixture(autouse=True)
def _lagos_midday():
    with time_machine.travel(datetime(2027, 6, 15, 11, tzinfo=LAGOS), tick=False) as traveller:
        yield traveller


@pytest.fixture
def written_off():
    """A six-month loan whose first installment fell due 120 days ago, nothing paid, written
    off by two people."""
    loan = loan_in_arrears(120, today=TODAY)
    overdue.run_overdue(run_date=TODAY)
    write_off = arrears_services.request_write_off(
        loan=loan, actor=make_officer(), reason="Member unreachable for 120 days, number gone."
    )
    arrears_services.approve_write_off(write_off=write_off, actor=make_finance())
    loan.refresh_from_db()
    assert loan.status == LoanStatus.WRITTEN_OFF and loan_balance(loan) == 0
    return loan


def pay(loan, amount, evidence):
    return services.record_manual_payment(
        loan=loan,
        actor=make_finance(),
        amount=amount,
        reason="Paid at the branch",
        evidence=evidence,
    )


def postings_of(payment) -> dict[str, int]:
    entry = JournalEntry.objects.get(payment=payment)
    totals: dict[str, int] = {}
    for p in entry.postings.select_related("account"):
        totals[p.account.code] = totals.get(p.account.code, 0) + p.amount
    return totals


def books_balance():
    assert unbalanced_entries() == []
    assert trial_balance()["balanced"]


def recovered(loan) -> int:
    return -loan_balances(loan).get(chart.RECOVERY_INCOME, 0)


def shown_outstanding(page: str) -> str:
    return re.search(r'data-testid="outstanding">([^<]+)<', page).group(1)


def letters(loan) -> int:
    return AuditEvent.objects.filter(
        action="loan.discharge_letter_issued", object_id=str(loan.pk)
    ).count()


def test_a_repayment_after_write_off_is_allocated_and_booked_as_a_recovery(written_off, client):
    loan = written_off
    owed = contractual_outstanding(loan)
    first, second = loan.installments.order_by("number")[:2]
    # Installment 1 in full, then ₦50 of installment 2: its late fee comes first.
    amount = first.outstanding + 50_00
    assert second.late_fee - second.paid_late_fee >= 50_00

    payment = pay(loan, amount, "REC-1")

    assert postings_of(payment) == {chart.CASH_BANK: amount, chart.RECOVERY_INCOME: -amount}
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.outstanding == 0 and first.status == InstallmentStatus.PAID
    assert second.paid_late_fee == 50_00 and second.total_paid == 50_00
    loan.refresh_from_db()
    assert loan.status == LoanStatus.WRITTEN_OFF and loan.closed_at is None
    assert loan_balance(loan) == 0  # the receivable left the books at the write-off
    assert contractual_outstanding(loan) == owed - amount
    assert recovered(loan) == amount
    assert letters(loan) == 0
    books_balance()

    client.force_login(loan.member.user)
    page = client.get(reverse("payments:loan_detail", args=[loan.reference])).content.decode()
    assert shown_outstanding(page) == format_naira(owed - amount)
    assert 'data-testid="written-off"' in page
    assert "Overdue" in page  # the installments still owed are listed beside that figure
    assert "Discharge letter" not in page


def test_the_staff_loan_page_shows_the_recoveries_and_what_the_agreement_still_owes(
    written_off, client
):
    loan = written_off
    owed = contractual_outstanding(loan)
    pay(loan, 5_000_00, "REC-2")
    pay(loan, 2_500_50, "REC-3")
    client.force_login(make_finance())
    page = client.get(reverse("payments:staff_loan", args=[loan.reference])).content.decode()
    got = re.search(r'data-testid="recovered">([^<]+)<', page).group(1)
    assert got == format_naira(7_500_50) == "₦7,500.50"
    still = re.search(r'data-testid="still-owed">([^<]+)<', page).group(1)
    assert still == format_naira(owed - 7_500_50)
    # Finance can record the next recovery from the page.
    assert reverse("payments:manual_payment", args=[loan.reference]) in page


def test_an_active_loan_page_has_no_recovery_line(client):
    loan = loan_in_arrears(10, today=TODAY)
    client.force_login(make_finance())
    page = client.get(reverse("payments:staff_loan", args=[loan.reference])).content.decode()
    assert 'data-testid="recovered"' not in page


def test_the_member_settles_a_written_off_loan_and_it_is_discharged(written_off, client):
    loan = written_off
    quote = settlement.quote(loan)
    assert 0 < quote.amount <= contractual_outstanding(loan)

    pay(loan, quote.amount, "REC-SETTLE")

    loan.refresh_from_db()
    # It stays written off in our books, but nothing more is owed: discharged.
    assert loan.status == LoanStatus.WRITTEN_OFF and loan.closed_at is not None
    assert contractual_outstanding(loan) == 0
    assert all(i.status == InstallmentStatus.PAID for i in loan.installments.all())
    assert recovered(loan) == quote.amount
    assert letters(loan) == 1
    assert AuditEvent.objects.filter(action="loan.recovered_in_full", object_id=str(loan.pk))
    books_balance()

    client.force_login(loan.member.user)
    page = client.get(reverse("payments:loan_detail", args=[loan.reference])).content.decode()
    assert shown_outstanding(page) == "₦0.00"
    assert "Overdue" not in page  # ₦0.00 owed never sits beside overdue installments
    assert reverse("payments:discharge_letter", args=[loan.reference]) in page
    assert reverse("payments:pay", args=[loan.reference]) not in page
    letter = client.get(reverse("payments:discharge_letter", args=[loan.reference]))
    assert letter.status_code == 200 and loan.reference in letter.content.decode()
    repaid = re.search(r'data-testid="total-repaid">([^<]+)<', letter.content.decode()).group(1)
    assert repaid == format_naira(quote.amount)


def test_recovery_in_two_payments_of_the_whole_debt_discharges_the_loan(written_off):
    """Paying what the agreement says, in two parts: the second part covers the day's figure,
    so it settles (rebating interest not earned) and the loan is discharged."""
    loan = written_off
    owed = contractual_outstanding(loan)
    pay(loan, owed // 2, "REC-HALF")
    loan.refresh_from_db()
    assert loan.closed_at is None
    rest = settlement.quote(loan).amount
    assert 0 < rest <= owed - owed // 2
    pay(loan, rest, "REC-REST")
    loan.refresh_from_db()
    assert loan.closed_at is not None and contractual_outstanding(loan) == 0
    assert recovered(loan) == owed // 2 + rest
    assert letters(loan) == 1
    books_balance()


def test_money_after_full_recovery_is_refused_and_the_letter_is_issued_once(written_off):
    loan = written_off
    pay(loan, settlement.quote(loan).amount, "REC-ALL")
    loan.refresh_from_db()
    closed_at = loan.closed_at
    assert closed_at is not None and letters(loan) == 1

    with pytest.raises(Conflict, match="nothing more is owed"):
        pay(loan, 1_000_00, "REC-AGAIN")
    with pytest.raises(Conflict):
        settlement.quote(loan)
    loan.refresh_from_db()
    assert loan.closed_at == closed_at and letters(loan) == 1
    assert not Payment.objects.filter(evidence="REC-AGAIN").exists()
    books_balance()


def test_a_card_payment_that_lands_after_full_recovery_is_kept_as_credit(written_off):
    """A checkout started before the last kobo arrived is the member's money: posted as
    credit (as on a closed loan), never lost, and no second letter."""
    loan = written_off
    member = loan.member
    payment, _ = services.start_checkout(
        loan=loan, actor=member.user, amount=1_000_00, callback_url="http://127.0.0.1/"
    )
    pay(loan, settlement.quote(loan).amount, "REC-FIRST")
    from simulator.models import SimulatedProviderRecord

    SimulatedProviderRecord.objects.filter(reference=payment.reference).update(status="success")
    services.confirm_checkout(reference=payment.reference)
    payment.refresh_from_db()
    assert payment.status == "successful"
    assert [(a.component, a.amount) for a in payment.allocations.all()] == [("credit", 1_000_00)]
    assert letters(loan) == 1
    books_balance()
