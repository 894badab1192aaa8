"""Builders shared by the reconciliation tests: an active loan, column mappings, statement
files and their import, a suggested line."""

import csv
import io
from datetime import date
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

from payments.models import (
    ColumnMapping,
    StatementImport,
    StatementLine,
)
from payments.reconciliation.services import import_statement
from tests import factories
from tests.factories import make_finance

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HEADER = ("Value Date", "Amount", "Narration", "Reference")


def active_loan(*, member=None, amount=60_000_00, tenure=3):
    """An active loan through the real origination and manual-payout services."""
    return factories.active_loan(
        member=member, amount=amount, tenure=tenure, bank_reference="FT123456"
    )


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


def suggested_line(finance, loan, amount=None):
    amount = amount or first_installment(loan).outstanding
    do_import(
        statement_csv((date(2025, 3, 3), naira(amount), f"TRF {loan.reference}")), actor=finance
    )
    return StatementLine.objects.get(amount=amount)
