"""Statement parsing: CSV and XLSX, column mappings, dates and amounts, fingerprints,
hostile files."""

import io
import zipfile
from datetime import date

import pytest

from payments.models import (
    ColumnMapping,
)
from payments.reconciliation.parsing import (
    MAX_ROWS,
    ParsedLine,
    StatementError,
    fingerprint,
    parse_statement,
)
from tests.payments.reconciliation.builders import (
    FIXTURES,
    do_import,
    nothing_written,
    statement_csv,
)

pytestmark = pytest.mark.django_db


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
