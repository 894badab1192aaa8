"""Bank statement import and reconciliation: parsing, fingerprints, auto-matching, the
services a person uses to confirm / re-match / ignore, and the back-office pages."""

import csv
import io
import zipfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import include, path, reverse
from django.utils import timezone

from config import urls as portal_urls
from core.errors import Conflict, DomainError, NotAllowed
from core.models import AuditEvent
from loans import services as loan_services
from loans.models import LoanProduct
from payments import ledger
from payments.models import (
    ColumnMapping,
    LineStatus,
    Payment,
    PaymentChannel,
    PaymentStatus,
    StatementImport,
    StatementLine,
)
from payments.reconciliation.parsing import (
    MAX_ROWS,
    ParsedLine,
    StatementError,
    fingerprint,
    parse_statement,
)
from payments.reconciliation.selectors import reconciliation_totals
from payments.reconciliation.services import confirm_match, ignore_line, import_statement, rematch
from payments.services import record_manual_disbursement
from tests.factories import MemberFactory, make_finance, make_officer

FIXTURES = Path(__file__).parent / "fixtures"

# The lead mounts payments.reconciliation.urls in config/urls.py; until then this module adds it.
urlpatterns = list(portal_urls.urlpatterns)
if not any(getattr(p, "namespace", None) == "recon" for p in urlpatterns):
    urlpatterns.append(path("", include("payments.reconciliation.urls")))

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

HEADER = ("Value Date", "Amount", "Narration", "Reference")


# --- Builders ---------------------------------------------------------------------------------


def active_loan(*, member=None, amount=60_000_00, tenure=3):
    """An active loan through the real origination and manual-payout services."""
    member = member or MemberFactory(passing_out=date(2027, 12, 1), monthly_allowance=300_000_00)
    product = LoanProduct.objects.create(
        name=f"Recon product {LoanProduct.objects.count() + 1}",
        min_principal=10_000_00,
        max_principal=500_000_00,
        tenures=[1, 2, 3, 6],
        interest_method="flat",
        monthly_rate=Decimal("0.05"),
        fee_percent=Decimal("0.01"),
        dual_approval_above=10**12,
    )
    application = loan_services.start_application(
        member=member, actor=member.user, product=product, amount=amount, tenure=tenure
    )
    loan_services.submit_application(
        application=application,
        actor=member.user,
        consent=True,
        shown_hash=application.key_facts_hash,
        ip=None,
        user_agent="",
    )
    loan_services.assess_application(application_id=application.pk)
    application.refresh_from_db()
    loan_services.approve_application(application=application, actor=make_officer())
    member.mark_payout_confirmed(member.full_name)
    member.save()
    loan = application.loan
    record_manual_disbursement(loan=loan, actor=make_finance(), bank_reference="FT123456")
    loan.refresh_from_db()
    return loan


def first_installment(loan):
    return loan.installments.order_by("number").first()


def signed_mapping(**overrides):
    values = dict(
        bank_name="GTBank",
        date_column="Value Date",
        amount_column="Amount",
        narration_column="Narration",
        reference_column="Reference",
        date_format="%d/%m/%Y",
    )
    values.update(overrides)
    mapping, _ = ColumnMapping.objects.get_or_create(
        bank_name=values.pop("bank_name"), defaults=values
    )
    return mapping


def credit_debit_mapping():
    return ColumnMapping.objects.create(
        bank_name="Access Bank",
        date_column="Trans Date",
        credit_column="Credit",
        debit_column="Debit",
        narration_column="Remarks",
        reference_column="Ref",
        date_format="%d/%m/%Y",
    )


def statement_csv(*rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for value_date, amount, narration, *reference in rows:
        if isinstance(value_date, date):
            value_date = value_date.strftime("%d/%m/%Y")
        writer.writerow([value_date, amount, narration, *(reference or [""])])
    return buffer.getvalue().encode()


def upload(content: bytes, name="statement.csv"):
    return SimpleUploadedFile(name, content, content_type="text/csv")


def do_import(content, *, mapping=None, actor=None, name="statement.csv"):
    return import_statement(
        mapping=mapping or signed_mapping(),
        uploaded_file=upload(content, name),
        actor=actor or make_finance(),
    )


def naira(kobo: int) -> str:
    return f"{kobo // 100:,}.{kobo % 100:02d}"


def nothing_written():
    return StatementImport.objects.count() == 0 and StatementLine.objects.count() == 0


# --- Parsing ----------------------------------------------------------------------------------


def test_csv_with_one_signed_amount_column_is_parsed_to_kobo():
    content = (FIXTURES / "statement_signed.csv").read_bytes()
    lines = parse_statement(content, "gtbank.csv", ColumnMapping(**_signed_values()))
    assert lines == [
        ParsedLine(date(2025, 3, 3), 1_500_00, "TRF FROM ADA OBI", "FT001", 0),
        ParsedLine(date(2025, 3, 3), -2_000_50, "NIP CHARGES", "FT002", 0),
        ParsedLine(date(2025, 3, 4), 21_333_33, "transfer from Musa Bello", "", 0),
        ParsedLine(date(2025, 3, 5), 50_000_00, "USSD DEPOSIT", "FT004", 0),  # ISO fallback
    ]


def _signed_values():
    return dict(
        bank_name="GTBank",
        date_column="Value Date",
        amount_column="Amount",
        narration_column="Narration",
        reference_column="Reference",
    )


def test_semicolon_csv_with_credit_and_debit_columns_is_parsed():
    content = (FIXTURES / "statement_credit_debit.csv").read_bytes()
    mapping = ColumnMapping(
        bank_name="Access Bank",
        date_column="Trans Date",
        credit_column="Credit",
        debit_column="Debit",
        narration_column="Remarks",
        reference_column="Ref",
    )
    lines = parse_statement(content, "access.csv", mapping)
    # The zero "opening balance" row is not a transaction.
    assert [(line.amount_kobo, line.narration) for line in lines] == [
        (23_000_00, "TRANSFER FROM CHIDI OKAFOR"),
        (-1_200_50, "ATM WITHDRAWAL"),
    ]


def test_the_delimiter_is_the_one_that_splits_out_the_header():
    content = (
        b"Statement for 01/03/2025, 02/03/2025, and 03/03/2025\n"
        b'"Value Date";Amount;Narration;Reference\n'
        b'01/03/2025;"1,500.00";TRF FROM ADA, OBI;FT1\n'
    )
    [line] = parse_statement(content, "s.csv", ColumnMapping(**_signed_values()))
    assert (line.amount_kobo, line.narration) == (1_500_00, "TRF FROM ADA, OBI")


def test_xlsx_first_sheet_with_real_dates_and_numbers_is_parsed():
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Zenith Bank customer statement"])
    sheet.append(["Trans Date", "Credit", "Debit", "Remarks", "Ref"])
    sheet.append([date(2025, 4, 28), 23000, None, "TRF FROM CHIDI OKAFOR", 998877])
    sheet.append(["29/04/2025", None, "1,200.50", "SMS ALERT CHARGES", "X1"])
    sheet.append([date(2025, 4, 30), 1500.5, None, "POS REVERSAL", None])
    workbook.create_sheet("Summary").append(["ignored"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    mapping = ColumnMapping(
        bank_name="Zenith",
        date_column="trans date",  # headers match regardless of case
        credit_column="Credit",
        debit_column="Debit",
        narration_column="Remarks",
        reference_column="Ref",
    )
    lines = parse_statement(buffer.getvalue(), "zenith.xlsx", mapping)
    assert [(line.value_date, line.amount_kobo, line.reference) for line in lines] == [
        (date(2025, 4, 28), 23_000_00, "998877"),
        (date(2025, 4, 29), -1_200_50, "X1"),
        (date(2025, 4, 30), 1_500_50, ""),
    ]


@pytest.mark.parametrize(
    "text, kobo",
    [
        ("₦1,500.00", 1_500_00),
        ("NGN 1500", 1_500_00),
        ("(2,000.00)", -2_000_00),
        ("1,500.00 CR", 1_500_00),
        ("1500DR", -1_500_00),
        ("1.500,25", 1_500_25),
    ],
)
def test_amounts_in_the_shapes_banks_write_them(text, kobo):
    content = statement_csv(("01/03/2025", text, "X"))
    assert parse_statement(content, "s.csv", ColumnMapping(**_signed_values()))[0].amount_kobo == (
        kobo
    )


def test_binary_junk_is_refused_and_nothing_is_written(finance):
    junk = bytes(range(256)) * 20
    with pytest.raises(StatementError, match="neither a CSV"):
        do_import(junk, actor=finance, name="statement.pdf")
    assert nothing_written()


def test_junk_named_xlsx_is_refused(finance):
    with pytest.raises(StatementError, match="not an Excel workbook"):
        do_import(b"hello", actor=finance, name="statement.xlsx")
    with pytest.raises(StatementError, match="cannot be read"):
        do_import(b"PK\x03\x04 broken zip", actor=finance, name="statement.xlsx")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("statement.txt", "not a workbook")
    with pytest.raises(StatementError, match="cannot be read"):
        do_import(archive.getvalue(), actor=finance, name="statement.xlsx")
    assert nothing_written()


def test_a_missing_mapped_column_is_named(finance):
    content = b"Value Date,Amount,Narration\n01/03/2025,100.00,X\n"
    with pytest.raises(StatementError, match="no column “Reference”"):
        do_import(content, actor=finance)
    assert nothing_written()


def test_a_file_without_the_header_row_says_which_column_it_looked_for(finance):
    with pytest.raises(StatementError, match="No header row with the column “Value Date”"):
        do_import(b"Date,Amt\n01/03/2025,100\n", actor=finance)


def test_a_bad_date_on_row_3_names_row_3_and_writes_nothing(finance):
    content = (FIXTURES / "statement_bad_date.csv").read_bytes()
    with pytest.raises(StatementError) as error:
        do_import(content, actor=finance)
    assert "Row 3" in error.value.message
    assert "“Value Date”" in error.value.message
    assert "31/02/2025" in error.value.message
    assert nothing_written()


def test_a_bad_amount_names_its_row_and_column(finance):
    content = statement_csv(("01/03/2025", "100.00", "A"), ("02/03/2025", "ten naira", "B"))
    with pytest.raises(StatementError, match="Row 3, column “Amount”"):
        do_import(content, actor=finance)
    assert nothing_written()


def test_a_file_over_5_mb_is_refused(finance):
    content = statement_csv(("01/03/2025", "100.00", "X" * 100)) + b" " * (5 * 1024 * 1024)
    with pytest.raises(StatementError, match="larger than 5 MB"):
        do_import(content, actor=finance)
    assert nothing_written()


def test_more_than_20000_rows_is_refused(finance):
    rows = [(date(2025, 3, 1), "1.00", f"N{i}") for i in range(MAX_ROWS + 1)]
    with pytest.raises(StatementError, match="more than 20,000 lines"):
        do_import(statement_csv(*rows), actor=finance)
    assert nothing_written()


def test_fingerprint_ignores_case_and_spacing_but_not_the_occurrence():
    a = ParsedLine(date(2025, 3, 1), 100, "trf  from ada", "ft1", 0)
    b = ParsedLine(date(2025, 3, 1), 100, "TRF FROM ADA", "FT1", 0)
    assert fingerprint(a) == fingerprint(b)
    assert fingerprint(a) != fingerprint(
        ParsedLine(date(2025, 3, 1), 100, "TRF FROM ADA", "FT1", 1)
    )
    assert len(fingerprint(a)) == 64


# --- Import -----------------------------------------------------------------------------------


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


# --- Confirm, re-match, ignore ----------------------------------------------------------------


def suggested_line(finance, loan, amount=None):
    amount = amount or first_installment(loan).outstanding
    do_import(
        statement_csv((date(2025, 3, 3), naira(amount), f"TRF {loan.reference}")), actor=finance
    )
    return StatementLine.objects.get(amount=amount)


def test_confirm_creates_one_successful_payment_and_the_ledger_balance_drops(finance):
    loan = active_loan()
    before = ledger.loan_balance(loan)
    line = suggested_line(finance, loan, amount=5_000_00)
    line = confirm_match(line=line, actor=finance)

    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.SUCCESSFUL
    assert payment.channel == PaymentChannel.BANK_TRANSFER
    assert (payment.loan, payment.amount, payment.provider) == (loan, 5_000_00, "bank")
    assert payment.reference == f"STMT-{line.fingerprint[:20]}"
    assert timezone.localdate(payment.received_at) == date(2025, 3, 3)  # the value date
    assert sum(a.amount for a in payment.allocations.all()) == 5_000_00
    assert ledger.loan_balance(loan) == before - 5_000_00
    assert ledger.unbalanced_entries() == []
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


# --- Pages ------------------------------------------------------------------------------------


def recon_urls(line_pk=1, mapping_pk=1):
    return [
        ("get", reverse("recon:lines")),
        ("get", reverse("recon:upload")),
        ("post", reverse("recon:upload")),
        ("get", reverse("recon:mappings")),
        ("get", reverse("recon:mapping_create")),
        ("post", reverse("recon:mapping_create")),
        ("get", reverse("recon:mapping_edit", args=[mapping_pk])),
        ("post", reverse("recon:confirm", args=[line_pk])),
        ("post", reverse("recon:rematch", args=[line_pk])),
        ("post", reverse("recon:ignore", args=[line_pk])),
    ]


@pytest.mark.parametrize("who", ["member", "officer"])
def test_member_and_officer_get_403_on_every_recon_url(client, finance, who, request):
    loan = active_loan()
    line = suggested_line(finance, loan)
    user = request.getfixturevalue(who)
    client.force_login(user.user if who == "member" else user)
    for method, url in recon_urls(line.pk, line.statement.mapping_id):
        response = getattr(client, method)(url, {"reason": "trying", "loan_reference": "X"})
        assert response.status_code == 403, (method, url)
    line.refresh_from_db()
    assert line.status == LineStatus.SUGGESTED
    assert Payment.objects.count() == 0


def test_anonymous_visitors_are_sent_to_sign_in(client):
    for method, url in recon_urls():
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_reconciliation_screen_groups_lines_and_shows_totals(client, finance):
    loan = active_loan()
    content = statement_csv(
        (date(2025, 3, 3), "5,000.00", f"TRF {loan.reference}"),
        (date(2025, 3, 4), "2,000.00", "UNKNOWN DEPOSIT"),
    )
    do_import(content, actor=finance)
    client.force_login(finance)
    response = client.get(reverse("recon:lines"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Suggested matches" in html and "Unmatched" in html and "Matched (confirmed)" in html
    assert f"Confirm ₦5,000.00 to {loan.reference}" in html
    assert 'id="recon-totals"' in html and "₦7,000.00" in html
    assert response["Vary"] and "HX-Request" in response["Vary"]

    filtered = client.get(
        reverse("recon:lines"), {"status": "unmatched"}, headers={"HX-Request": "true"}
    )
    body = filtered.content.decode()
    assert "<html" not in body and 'id="recon-results"' in body
    assert "UNKNOWN DEPOSIT" in body and f"TRF {loan.reference}" not in body


def test_reconciliation_screen_query_count_stays_flat(client, finance):
    loan = active_loan()
    client.force_login(finance)
    mapping = signed_mapping()

    def queries_for(count, start):
        rows = [
            (date(2025, 3, 3), f"{start + i}.00", f"TRF {loan.reference}") for i in range(count)
        ]
        do_import(statement_csv(*rows), mapping=mapping, actor=finance)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("recon:lines"), {"statement": "all"}).status_code == 200
        return len(ctx.captured_queries)

    assert queries_for(2, 100) == queries_for(20, 200)


def test_htmx_confirm_returns_only_the_row_and_the_totals_out_of_band(client, finance):
    loan = active_loan()
    line = suggested_line(finance, loan, amount=5_000_00)
    client.force_login(finance)
    response = client.post(
        reverse("recon:confirm", args=[line.pk]),
        {"statement": str(line.statement_id), "next": "/x"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith(f'<tr id="line-{line.pk}">')
    assert "<html" not in body and "<nav" not in body
    assert "Matched (confirmed)" in body
    assert 'id="recon-totals"' in body and 'hx-swap-oob="true"' in body
    assert Payment.objects.filter(status=PaymentStatus.SUCCESSFUL).count() == 1

    again = client.post(
        reverse("recon:confirm", args=[line.pk]), {}, headers={"HX-Request": "true"}
    )
    assert again.status_code == 200
    assert "already matched" in again.content.decode()
    assert Payment.objects.count() == 1


def test_htmx_ignore_without_a_reason_shows_the_error_in_the_row(client, finance):
    do_import(statement_csv((date(2025, 3, 3), "100.00", "UNKNOWN")), actor=finance)
    line = StatementLine.objects.get()
    client.force_login(finance)
    response = client.post(
        reverse("recon:ignore", args=[line.pk]), {"reason": "no"}, headers={"HX-Request": "true"}
    )
    assert 'role="alert"' in response.content.decode()
    line.refresh_from_db()
    assert line.status == LineStatus.UNMATCHED


def test_without_javascript_actions_redirect_back_with_a_message(client, finance):
    do_import(statement_csv((date(2025, 3, 3), "100.00", "UNKNOWN")), actor=finance)
    line = StatementLine.objects.get()
    client.force_login(finance)
    back = reverse("recon:lines") + "?status=unmatched"
    response = client.post(
        reverse("recon:ignore", args=[line.pk]),
        {"reason": "Refund to sender", "next": back},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == back
    assert "ignored" in response.content.decode()
    offsite = client.post(
        reverse("recon:rematch", args=[line.pk]),
        {"loan_reference": "LNNOTREAL1", "next": "https://evil.example/"},
    )
    assert offsite["Location"] == reverse("recon:lines")


def test_upload_page_imports_and_shows_the_counts(client, finance):
    mapping = signed_mapping()
    client.force_login(finance)
    content = (FIXTURES / "statement_signed.csv").read_bytes()
    client.post(reverse("recon:upload"), {"mapping": mapping.pk, "file": upload(content)})
    response = client.post(
        reverse("recon:upload"), {"mapping": mapping.pk, "file": upload(content)}, follow=True
    )
    html = response.content.decode()
    assert "4 lines, 0 new, 4 already imported" in html
    assert StatementLine.objects.count() == 4


def test_upload_page_shows_a_malformed_file_error(client, finance):
    mapping = signed_mapping()
    client.force_login(finance)
    content = (FIXTURES / "statement_bad_date.csv").read_bytes()
    response = client.post(
        reverse("recon:upload"), {"mapping": mapping.pk, "file": upload(content)}
    )
    assert response.status_code == 200
    assert "Row 3" in response.content.decode()
    assert nothing_written()


def test_finance_creates_and_edits_a_column_mapping(client, finance):
    client.force_login(finance)
    data = {
        "bank_name": "First Bank",
        "date_column": "Date",
        "credit_column": "Credit",
        "debit_column": "Debit",
        "narration_column": "Details",
        "date_format": "%d-%b-%Y",
    }
    response = client.post(reverse("recon:mapping_create"), data)
    assert response.status_code == 302
    mapping = ColumnMapping.objects.get(bank_name="First Bank")
    response = client.post(
        reverse("recon:mapping_edit", args=[mapping.pk]), {**data, "narration_column": "Narrative"}
    )
    mapping.refresh_from_db()
    assert mapping.narration_column == "Narrative"
    assert AuditEvent.objects.filter(action="column_mapping.changed").exists()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"amount_column": "Amount"}, "not both"),
        ({"credit_column": "", "debit_column": ""}, "signed amount column, or the credit"),
        ({"date_format": "dd/mm/yyyy"}, "Not a full date format"),
    ],
)
def test_a_mapping_that_cannot_work_is_refused(client, finance, change, message):
    client.force_login(finance)
    data = {
        "bank_name": "First Bank",
        "date_column": "Date",
        "credit_column": "Credit",
        "debit_column": "Debit",
        "narration_column": "Details",
        "date_format": "%d/%m/%Y",
    }
    response = client.post(reverse("recon:mapping_create"), {**data, **change})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ColumnMapping.objects.exists()


# --- PostgreSQL: concurrency ------------------------------------------------------------------


@pytest.fixture
def committed_db(transactional_db):
    """Threads need committed rows. A flush by an earlier transactional test removes the rows
    data migrations made (role groups, chart of accounts): put them back first."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent unique inserts are tested on PostgreSQL")
    from django.apps import apps

    from members.roles import sync_role_permissions
    from payments.models import Account

    sync_role_permissions(apps)
    for code, name, kind in ledger.CHART:
        Account.objects.update_or_create(code=code, defaults={"name": name, "type": kind})
    ledger._accounts_by_code.clear()
    yield
    ledger._accounts_by_code.clear()


def run_in_threads(count, work):
    """Start ``count`` threads together; return each one's result or exception."""
    import threading

    barrier = threading.Barrier(count)
    results = [None] * count

    def run(i):
        try:
            barrier.wait()
            results[i] = work()
        except Exception as exc:  # collected for the assertions
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.postgres
def test_concurrent_imports_of_one_file_store_each_line_once(committed_db):
    finance = make_finance()
    mapping = signed_mapping()
    rows = [
        (date(2025, 3, 1) + timedelta(days=i % 28), f"{100 + i}.00", f"TRF {i}") for i in range(200)
    ]
    content = statement_csv(*rows)
    results = run_in_threads(
        6, lambda: import_statement(mapping=mapping, uploaded_file=upload(content), actor=finance)
    )
    assert all(isinstance(r, StatementImport) for r in results), results
    assert StatementLine.objects.count() == 200
    assert sum(r.lines_new for r in results) == 200
    assert all(r.lines_new + r.lines_duplicate == 200 for r in results)


@pytest.mark.postgres
def test_concurrent_confirms_of_one_line_post_one_payment(committed_db):
    finance = make_finance()
    loan = active_loan()
    before = ledger.loan_balance(loan)
    line = suggested_line(finance, loan, amount=5_000_00)
    results = run_in_threads(6, lambda: confirm_match(line=line, actor=finance))
    assert sum(isinstance(r, StatementLine) for r in results) == 1
    assert all(isinstance(r, Conflict) for r in results if not isinstance(r, StatementLine))
    assert Payment.objects.count() == 1
    assert ledger.loan_balance(loan) == before - 5_000_00
