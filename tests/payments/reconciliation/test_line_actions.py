"""The services a person uses on a line: confirm, re-match, ignore; permissions and audit."""

from datetime import date

import pytest
from django.utils import timezone

from core.errors import Conflict, DomainError, NotAllowed
from core.models import AuditEvent
from ledger.selectors import loan_balance, unbalanced_entries
from payments.models import LineStatus, Payment, PaymentChannel, PaymentStatus, StatementLine
from payments.reconciliation.selectors import reconciliation_totals
from payments.reconciliation.services import confirm_match, ignore_line, rematch
from tests.payments.reconciliation.builders import (
    active_loan,
    do_import,
    statement_csv,
    suggested_line,
)

pytestmark = pytest.mark.django_db


def test_confirm_creates_one_successful_payment_and_the_ledger_balance_drops(finance):
    loan = active_loan()
    before = loan_balance(loan)
    line = suggested_line(finance, loan, amount=5_000_00)
    line = confirm_match(line=line, actor=finance)

    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.SUCCESSFUL
    assert payment.channel == PaymentChannel.BANK_TRANSFER
    assert (payment.loan, payment.amount, payment.provider) == (loan, 5_000_00, "bank")
    assert payment.reference == f"STMT-{line.fingerprint[:20]}"
    assert timezone.localdate(payment.received_at) == date(2025, 3, 3)  # the value date
    assert sum(a.amount for a in payment.allocations.all()) == 5_000_00
    assert loan_balance(loan) == before - 5_000_00
    assert unbalanced_entries() == []
    line.refresh_from_db()
    assert (line.status, line.payment, line.resolved_by) == (LineStatus.MATCHED, payment, finance)
    assert AuditEvent.objects.filter(
        action="statement_line.confirmed", object_id=str(line.pk)
    ).exists()


def test_confirming_twice_is_a_conflict_and_still_one_payment(finance):
    loan = active_loan()
    line = suggested_line(finance, loan)
    confirm_match(line=line, actor=finance)
    with pytest.raises(Conflict):
        confirm_match(line=line, actor=finance)
    assert Payment.objects.count() == 1


def test_a_debit_line_cannot_be_confirmed(finance):
    loan = active_loan()
    do_import(statement_csv((date(2025, 3, 3), "-100.00", "CHARGES")), actor=finance)
    line = StatementLine.objects.get()
    with pytest.raises(DomainError, match="debit"):
        confirm_match(line=line, actor=finance, loan=loan)
    assert Payment.objects.count() == 0


def test_an_unmatched_line_needs_a_loan_before_it_can_be_confirmed(finance):
    do_import(statement_csv((date(2025, 3, 3), "100.00", "UNKNOWN")), actor=finance)
    with pytest.raises(DomainError, match="re-match"):
        confirm_match(line=StatementLine.objects.get(), actor=finance)


def test_rematch_points_at_another_loan_and_then_confirms_to_it(finance):
    loan = active_loan()
    do_import(statement_csv((date(2025, 3, 3), "3,000.00", "CASH DEPOSIT")), actor=finance)
    line = StatementLine.objects.get()
    line = rematch(line=line, actor=finance, loan_reference=f" {loan.reference.lower()} ")
    assert (line.status, line.suggested_loan) == (LineStatus.SUGGESTED, loan)
    confirm_match(line=line, actor=finance)
    assert Payment.objects.get().loan == loan


def test_rematch_to_an_unknown_reference_is_refused(finance):
    do_import(statement_csv((date(2025, 3, 3), "3,000.00", "CASH DEPOSIT")), actor=finance)
    line = StatementLine.objects.get()
    with pytest.raises(DomainError, match="no loan with reference LNNOTREAL1"):
        rematch(line=line, actor=finance, loan_reference="LNNOTREAL1")
    line.refresh_from_db()
    assert line.status == LineStatus.UNMATCHED


def test_ignore_needs_a_reason(finance):
    do_import(statement_csv((date(2025, 3, 3), "-50.00", "SMS ALERT")), actor=finance)
    line = StatementLine.objects.get()
    for reason in ("", "   ", "bank"):
        with pytest.raises(DomainError, match="why"):
            ignore_line(line=line, actor=finance, reason=reason)
    line = ignore_line(line=line, actor=finance, reason="Bank charges, not a repayment")
    assert (line.status, line.ignore_reason) == (
        LineStatus.IGNORED,
        "Bank charges, not a repayment",
    )
    with pytest.raises(Conflict):
        confirm_match(line=line, actor=finance, loan=active_loan())
    assert AuditEvent.objects.filter(action="statement_line.ignored").count() == 1


def test_services_refuse_a_user_without_the_permission(finance, officer):
    loan = active_loan()
    line = suggested_line(finance, loan)
    for action in (
        lambda: confirm_match(line=line, actor=officer),
        lambda: rematch(line=line, actor=officer, loan_reference=loan.reference),
        lambda: ignore_line(line=line, actor=officer, reason="not allowed anyway"),
    ):
        with pytest.raises(NotAllowed):
            action()
    assert Payment.objects.count() == 0


def test_totals_compare_statement_credits_with_the_ledger(finance):
    loan = active_loan()
    content = statement_csv(
        (date(2025, 3, 3), "5,000.00", f"TRF {loan.reference}"),
        (date(2025, 3, 4), "2,000.00", "UNKNOWN DEPOSIT"),
        (date(2025, 3, 5), "-300.00", "CHARGES"),
    )
    statement = do_import(content, actor=finance)
    totals = reconciliation_totals(statement)
    assert (totals["statement_credits"], totals["statement_debits"]) == (7_000_00, 300_00)
    assert (totals["suggested"], totals["unmatched"], totals["matched"]) == (5_000_00, 2_000_00, 0)
    assert (totals["ledger_bank_repayments"], totals["difference"]) == (0, 7_000_00)
    assert (totals["date_from"], totals["date_to"]) == (date(2025, 3, 3), date(2025, 3, 5))

    confirm_match(line=StatementLine.objects.get(amount=5_000_00), actor=finance)
    ignore_line(
        line=StatementLine.objects.get(amount=2_000_00),
        actor=finance,
        reason="Our own transfer between accounts",
    )
    totals = reconciliation_totals(statement)
    assert (totals["matched"], totals["ignored"]) == (5_000_00, 2_000_00)
    assert totals["ledger_bank_repayments"] == 5_000_00
    assert totals["difference"] == 2_000_00  # exactly the ignored line
