"""The suspense account: unidentified deposits booked, assigned to a loan once, or refunded."""

from datetime import date

import pytest
from django.urls import reverse

from core.errors import Conflict, DomainError, NotAllowed
from core.models import AuditEvent
from ledger import chart
from ledger.models import JournalEntry, Posting
from ledger.selectors import loan_balance, trial_balance, unbalanced_entries
from loans.models import Loan, LoanStatus
from payments.models import LineStatus, Payment, PaymentChannel, StatementLine
from payments.reconciliation import selectors as recon_selectors
from payments.reconciliation.services import confirm_match, ignore_line
from payments.reconciliation.suspense import (
    assign_from_suspense,
    book_to_suspense,
    suspense_balance,
    suspense_lines_total,
)
from tests.factories import make_officer
from tests.payments.reconciliation.builders import (
    active_loan,
    do_import,
    make_finance,
    naira,
    statement_csv,
)
from tests.payments.reconciliation.test_postgres import committed_db  # noqa: F401
from tests.races import race

pytestmark = pytest.mark.django_db


def account_balance(code: str) -> int:
    return sum(Posting.objects.filter(account__code=code).values_list("amount", flat=True))


def unknown_deposit(finance, amount=12_345_67, narration="TRF FROM UNKNOWN"):
    do_import(
        statement_csv((date(2025, 3, 3), naira(amount), narration, "FT998877")), actor=finance
    )
    return StatementLine.objects.get(amount=amount)


def books_are_sound():
    assert unbalanced_entries() == []
    assert trial_balance()["balanced"]
    assert suspense_balance() == suspense_lines_total()


def test_unmatched_deposit_booked_to_suspense_posts_bank_against_suspense_once():
    finance = make_finance()
    line = unknown_deposit(finance)
    assert line.status == LineStatus.UNMATCHED

    line = book_to_suspense(line=line, actor=finance)

    assert line.status == LineStatus.SUSPENSE
    entry = JournalEntry.objects.get(idempotency_key=f"suspense:{line.pk}")
    assert {p.account.code: p.amount for p in entry.postings.select_related("account")} == {
        chart.CASH_BANK: 12_345_67,
        chart.SUSPENSE: -12_345_67,
    }
    assert suspense_balance() == 12_345_67 == suspense_lines_total()
    assert AuditEvent.objects.filter(action="statement_line.suspense_booked").count() == 1
    books_are_sound()
    # Twice: the line is no longer open.
    with pytest.raises(Conflict):
        book_to_suspense(line=line, actor=finance)
    assert JournalEntry.objects.filter(idempotency_key__startswith="suspense").count() == 1


def test_line_in_suspense_cannot_be_confirmed_or_ignored_around_it():
    finance = make_finance()
    loan = active_loan()
    line = book_to_suspense(line=unknown_deposit(finance), actor=finance)
    with pytest.raises(Conflict):
        confirm_match(line=line, actor=finance, loan=loan)
    with pytest.raises(Conflict):
        ignore_line(line=line, actor=finance, reason="Not ours at all")


def test_debit_line_cannot_go_to_suspense():
    finance = make_finance()
    do_import(statement_csv((date(2025, 3, 3), "-500.00", "BANK CHARGES")), actor=finance)
    line = StatementLine.objects.get()
    with pytest.raises(DomainError):
        book_to_suspense(line=line, actor=finance)
    assert suspense_balance() == 0


def test_without_reconcile_permission_nothing_is_booked():
    finance = make_finance()
    line = unknown_deposit(finance)
    with pytest.raises(NotAllowed):
        book_to_suspense(line=line, actor=make_officer())
    assert StatementLine.objects.get(pk=line.pk).status == LineStatus.UNMATCHED


def test_assigning_to_a_loan_records_a_repayment_and_empties_suspense_counting_cash_once():
    finance = make_finance()
    loan = active_loan()
    owed = loan_balance(loan)
    bank_before = account_balance(chart.CASH_BANK)
    line = book_to_suspense(line=unknown_deposit(finance, amount=5_000_00), actor=finance)
    assert account_balance(chart.CASH_BANK) == bank_before + 5_000_00

    line = assign_from_suspense(line=line, actor=finance, loan_reference=loan.reference.lower())

    assert line.status == LineStatus.MATCHED
    payment = Payment.objects.get()
    assert (payment.amount, payment.channel, payment.loan_id) == (
        5_000_00,
        PaymentChannel.BANK_TRANSFER,
        loan.pk,
    )
    assert line.payment == payment
    assert loan_balance(loan) == owed - 5_000_00
    # The deposit is in the bank once, and no longer in suspense.
    assert account_balance(chart.CASH_BANK) == bank_before + 5_000_00
    assert suspense_balance() == 0 == suspense_lines_total()
    assert JournalEntry.objects.filter(idempotency_key=f"suspense_assign:{line.pk}").exists()
    assert AuditEvent.objects.filter(action="statement_line.suspense_assigned").count() == 1
    books_are_sound()
    # The reconciliation totals count the deposit once too.
    totals = recon_selectors.reconciliation_totals()
    assert totals["difference"] == 0

    with pytest.raises(Conflict):
        assign_from_suspense(line=line, actor=finance, loan_reference=loan.reference)
    assert Payment.objects.count() == 1


def test_reconciliation_difference_counts_a_deposit_held_in_suspense_as_received():
    finance = make_finance()
    book_to_suspense(line=unknown_deposit(finance, amount=2_000_00), actor=finance)
    totals = recon_selectors.reconciliation_totals()
    assert (totals["suspense"], totals["difference"]) == (2_000_00, 0)


@pytest.mark.parametrize("reference", ["", "LNNOSUCH1", "closed"])
def test_assign_refuses_unknown_or_inactive_loan_and_keeps_the_money_in_suspense(reference):
    finance = make_finance()
    line = book_to_suspense(line=unknown_deposit(finance), actor=finance)
    if reference == "closed":
        reference = active_loan().reference
        Loan.objects.filter(reference=reference).update(status=LoanStatus.CLOSED)
    with pytest.raises(DomainError):
        assign_from_suspense(line=line, actor=finance, loan_reference=reference)
    assert StatementLine.objects.get(pk=line.pk).status == LineStatus.SUSPENSE
    assert Payment.objects.count() == 0
    books_are_sound()


def test_suspense_page_lists_deposits_with_total_equal_to_the_ledger(client):
    finance = make_finance()
    book_to_suspense(line=unknown_deposit(finance, amount=1_000_00, narration="A"), actor=finance)
    book_to_suspense(line=unknown_deposit(finance, amount=2_500_50, narration="B"), actor=finance)
    client.force_login(finance)
    response = client.get(reverse("payments:suspense"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "₦3,500.50" in body
    assert 'data-testid="suspense-ledger"' in body
    assert suspense_balance() == 3_500_50


def test_suspense_page_is_finance_only(client):
    client.force_login(make_officer())
    assert client.get(reverse("payments:suspense")).status_code == 403


def test_assign_through_the_page_keeps_the_typed_reference_on_error(client):
    finance = make_finance()
    line = book_to_suspense(line=unknown_deposit(finance), actor=finance)
    client.force_login(finance)
    response = client.post(
        reverse("payments:suspense_assign", args=[line.pk]),
        {f"a{line.pk}-loan_reference": "LNWRONG99"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "There is no loan with reference LNWRONG99" in body
    assert 'value="LNWRONG99"' in body


def test_assign_through_the_page(client):
    finance = make_finance()
    loan = active_loan()
    line = book_to_suspense(line=unknown_deposit(finance, amount=3_000_00), actor=finance)
    client.force_login(finance)
    response = client.post(
        reverse("payments:suspense_assign", args=[line.pk]),
        {f"a{line.pk}-loan_reference": loan.reference},
    )
    assert response.status_code == 302
    assert StatementLine.objects.get(pk=line.pk).status == LineStatus.MATCHED


def test_book_to_suspense_from_the_reconciliation_screen(client):
    finance = make_finance()
    line = unknown_deposit(finance)
    client.force_login(finance)
    response = client.post(reverse("recon:book_suspense", args=[line.pk]))
    assert response.status_code == 302
    assert StatementLine.objects.get(pk=line.pk).status == LineStatus.SUSPENSE


# --- PostgreSQL races ---------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.usefixtures("committed_db")
def test_one_deposit_assigned_twice_at_once_pays_once():
    finance, other = make_finance(), make_finance()
    loan = active_loan()
    owed = loan_balance(loan)
    line = book_to_suspense(line=unknown_deposit(finance, amount=4_000_00), actor=finance)

    results, errors = race(
        4,
        lambda i: assign_from_suspense(
            line=line, actor=(finance, other)[i % 2], loan_reference=loan.reference
        ),
    )

    assert len(results) == 1, (results, errors)
    assert all(isinstance(e, Conflict) for e in errors), errors
    assert Payment.objects.count() == 1
    assert loan_balance(loan) == owed - 4_000_00
    books_are_sound()
