"""Statement import (once per file, limits) and auto-matching by reference, amount and identity."""

from datetime import date, timedelta

import pytest

from core.errors import NotAllowed
from core.models import AuditEvent
from payments.models import (
    LineStatus,
    Payment,
    PaymentChannel,
    PaymentStatus,
    StatementImport,
    StatementLine,
)
from payments.reconciliation.services import confirm_match
from tests.factories import MemberFactory
from tests.payments.reconciliation.builders import (
    FIXTURES,
    active_loan,
    do_import,
    first_installment,
    naira,
    nothing_written,
    signed_mapping,
    statement_csv,
)

pytestmark = pytest.mark.django_db


def test_reimporting_the_same_file_adds_no_lines(finance):
    mapping = signed_mapping()
    content = (FIXTURES / "statement_signed.csv").read_bytes()
    first = do_import(content, mapping=mapping, actor=finance)
    second = do_import(content, mapping=mapping, actor=finance)
    assert (first.lines_total, first.lines_new, first.lines_duplicate) == (4, 4, 0)
    assert (second.lines_total, second.lines_new, second.lines_duplicate) == (4, 0, 4)
    assert StatementLine.objects.count() == 4
    assert AuditEvent.objects.filter(action="statement.imported").count() == 2


def test_two_identical_transfers_in_one_file_both_count(finance):
    row = (date(2025, 3, 3), "5,000.00", "TRF FROM ADA OBI", "")
    imported = do_import(statement_csv(row, row), actor=finance)
    assert imported.lines_new == 2
    assert StatementLine.objects.filter(amount=5_000_00).count() == 2
    # ... and importing the same two again still adds nothing.
    again = do_import(statement_csv(row, row), mapping=imported.mapping, actor=finance)
    assert again.lines_new == 0


def test_an_overlapping_statement_adds_only_the_lines_not_seen(finance):
    mapping = signed_mapping()
    a = (date(2025, 3, 3), "100.00", "A")
    b = (date(2025, 3, 4), "200.00", "B")
    c = (date(2025, 3, 5), "300.00", "C")
    do_import(statement_csv(a, b), mapping=mapping, actor=finance)
    second = do_import(statement_csv(b, c), mapping=mapping, actor=finance)
    assert (second.lines_new, second.lines_duplicate) == (1, 1)


def test_a_line_inserted_by_a_concurrent_import_is_not_counted_twice(finance, monkeypatch):
    """The unique fingerprint is the backstop when another import wins the race between our
    check for existing fingerprints and our insert."""
    mapping = signed_mapping()
    rival = StatementImport.objects.create(
        mapping=mapping, file_name="rival.csv", file_sha256="0" * 64, imported_by=finance
    )
    real_bulk_create = StatementLine.objects.bulk_create

    def racing_bulk_create(objs, **kwargs):
        first = objs[0]
        StatementLine.objects.create(
            statement=rival,
            fingerprint=first.fingerprint,
            value_date=first.value_date,
            amount=first.amount,
        )
        return real_bulk_create(objs, **kwargs)

    monkeypatch.setattr(StatementLine.objects, "bulk_create", racing_bulk_create)
    content = statement_csv((date(2025, 3, 3), "100.00", "A"), (date(2025, 3, 4), "200.00", "B"))
    imported = do_import(content, mapping=mapping, actor=finance)
    assert (imported.lines_new, imported.lines_duplicate) == (1, 1)
    assert StatementLine.objects.count() == 2


def test_someone_without_the_permission_cannot_import(officer):
    with pytest.raises(NotAllowed):
        do_import(statement_csv((date(2025, 3, 3), "100.00", "A")), actor=officer)
    assert nothing_written()


# --- Auto-matching ----------------------------------------------------------------------------


def test_a_loan_reference_in_the_narration_is_suggested(finance):
    loan = active_loan()
    other = active_loan()
    content = statement_csv(
        (date(2025, 3, 3), "7,000.00", f"TRF/{loan.reference}/FROM SOMEONE", ""),
        (date(2025, 3, 3), "9,000.00", "DEPOSIT", other.reference.lower()),
    )
    do_import(content, actor=finance)
    by_amount = {line.amount: line for line in StatementLine.objects.all()}
    assert by_amount[7_000_00].status == LineStatus.SUGGESTED
    assert by_amount[7_000_00].suggested_loan == loan
    assert by_amount[7_000_00].match_reason == f"reference {loan.reference}"
    assert by_amount[9_000_00].suggested_loan == other  # from the bank reference column


def test_a_pending_checkout_reference_suggests_that_payment(finance):
    loan = active_loan()
    pending = Payment.objects.create(
        reference="PAY-0A1B2C3D4E5F",
        provider="simulated",
        channel=PaymentChannel.CHECKOUT,
        loan=loan,
        member=loan.member,
        amount=5_000_00,
    )
    do_import(statement_csv((date(2025, 3, 3), "5,000.00", "PAY-0A1B2C3D4E5F ADA")), actor=finance)
    line = StatementLine.objects.get()
    assert (line.status, line.suggested_loan, line.suggested_payment) == (
        LineStatus.SUGGESTED,
        loan,
        pending,
    )
    assert "PAY-0A1B2C3D4E5F" in line.match_reason

    confirm_match(line=line, actor=finance)
    pending.refresh_from_db()
    # The member paid by transfer instead; a late checkout success cannot post it twice.
    assert pending.status == PaymentStatus.FAILED
    assert Payment.objects.filter(status=PaymentStatus.SUCCESSFUL, loan=loan).count() == 1


@pytest.mark.parametrize("days", [-3, 0, 3])
def test_amount_and_name_within_three_days_of_the_due_date_is_suggested(finance, days):
    member = MemberFactory(
        full_name="Chidinma Okafor", passing_out=date(2027, 12, 1), monthly_allowance=300_000_00
    )
    loan = active_loan(member=member)
    due = first_installment(loan)
    content = statement_csv(
        (
            due.due_date + timedelta(days=days),
            naira(due.outstanding),
            "NIP TRF FROM OKAFOR CHIDINMA N/GTB",
        )
    )
    do_import(content, actor=finance)
    line = StatementLine.objects.get()
    assert line.status == LineStatus.SUGGESTED
    assert line.suggested_loan == loan
    assert "name OKAFOR CHIDINMA" in line.match_reason or "name CHIDINMA OKAFOR" in (
        line.match_reason
    )


@pytest.mark.parametrize("days", [-4, 4])
def test_amount_and_name_four_days_away_stays_unmatched(finance, days):
    member = MemberFactory(
        full_name="Chidinma Okafor", passing_out=date(2027, 12, 1), monthly_allowance=300_000_00
    )
    loan = active_loan(member=member)
    due = first_installment(loan)
    content = statement_csv(
        (
            due.due_date + timedelta(days=days),
            naira(due.outstanding),
            "NIP TRF FROM OKAFOR CHIDINMA",
        )
    )
    do_import(content, actor=finance)
    line = StatementLine.objects.get()
    assert line.status == LineStatus.UNMATCHED
    assert line.suggested_loan is None


def test_amount_with_phone_or_account_number_in_the_narration_is_suggested(finance):
    loan_a = active_loan()
    loan_b = active_loan()
    due_a, due_b = first_installment(loan_a), first_installment(loan_b)
    phone_local = "0" + loan_a.member.phone[4:]
    content = statement_csv(
        (due_a.due_date, naira(due_a.outstanding), f"USSD TRF {phone_local}"),
        (
            due_b.due_date + timedelta(days=1),
            naira(due_b.outstanding) + " ",
            f"FROM ACCT {loan_b.member.account_number} NIP",
            "X2",
        ),
    )
    do_import(content, actor=finance)
    suggested = {
        line.suggested_loan_id for line in StatementLine.objects.filter(status=LineStatus.SUGGESTED)
    }
    assert suggested == {loan_a.pk, loan_b.pk}


def test_amount_without_identity_is_not_suggested(finance):
    loan = active_loan()
    due = first_installment(loan)
    do_import(
        statement_csv((due.due_date, naira(due.outstanding), "CASH DEPOSIT IKEJA")), actor=finance
    )
    assert StatementLine.objects.get().status == LineStatus.UNMATCHED


def test_debits_are_never_suggested(finance):
    loan = active_loan()
    do_import(
        statement_csv((date(2025, 3, 3), "-7,000.00", f"REFUND {loan.reference}")), actor=finance
    )
    assert StatementLine.objects.get().status == LineStatus.UNMATCHED
