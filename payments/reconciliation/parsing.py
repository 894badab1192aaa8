"""Bank statement parsing: pure, bytes in, ``ParsedLine`` out, nothing written.

A line's fingerprint is a hash of its date, amount, narration, reference and the number of
identical lines before it in the same file, so importing the same file twice adds nothing,
while two genuinely identical transfers on one day in one file both count.
"""

import csv
import hashlib
import io
import re
import zipfile
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from core.errors import DomainError
from core.money import MAX_AMOUNT_TEXT_LENGTH, MoneyError, parse_naira
from payments.models import (
    ColumnMapping,
)

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
# Bank exports often start with a few lines of account details before the column headers.
HEADER_SEARCH_ROWS = 30
# Spreadsheets formatted down to row 1,048,576 yield empty rows forever; stop after this many.
MAX_BLANK_RUN = 1_000
MAX_XLSX_UNPACKED_BYTES = 100 * 1024 * 1024
ISO_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


class StatementError(DomainError):
    code = "bad_statement"


@dataclass(frozen=True)
class ParsedLine:
    value_date: date
    amount_kobo: int  # credits positive, debits negative
    narration: str
    reference: str
    occurrence: int = 0  # how many identical lines came before this one in the file


def _header_key(text) -> str:
    return " ".join(str(text or "").split()).casefold()


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a reference typed as a number in Excel
    return " ".join(str(value).split())


def _is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _delimiter(text: str, header: str) -> str:
    """Comma, semicolon or tab: the one that splits out the mapped header; else the most
    frequent in the first lines (a preamble line may contain any of them)."""
    candidates = (",", ";", "\t")
    head = text.splitlines()[:HEADER_SEARCH_ROWS]
    for delimiter in candidates:
        for line in head:
            if header in (_header_key(cell.strip().strip('"')) for cell in line.split(delimiter)):
                return delimiter
    return max(candidates, key=lambda d: sum(line.count(d) for line in head))


def _csv_rows(content: bytes, header: str):
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StatementError(
            "This file is neither a CSV (UTF-8 text) nor an XLSX workbook. Export the "
            "statement as CSV (UTF-8) or Excel .xlsx and try again."
        ) from exc
    if "\x00" in text:
        raise StatementError("This file is neither a CSV nor an XLSX workbook.")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text, header))
    try:
        yield from reader
    except csv.Error as exc:
        raise StatementError(f"Row {reader.line_num}: the CSV is malformed ({exc}).") from exc


def _xlsx_rows(content: bytes):
    from openpyxl import load_workbook

    unreadable = (
        "This XLSX workbook cannot be read. Open it in Excel, save it again as .xlsx "
        "(or export CSV) and try again."
    )
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise StatementError(unreadable) from exc
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        # A few MB of zip can unpack to gigabytes of XML; refuse before parsing any of it.
        raise StatementError("This workbook is too large once unpacked; export it as CSV.")
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # untrusted input: openpyxl raises many kinds of error
        raise StatementError(unreadable) from exc
    try:
        if not workbook.worksheets:
            raise StatementError("The workbook has no sheets.")
        try:
            yield from workbook.worksheets[0].iter_rows(values_only=True)
        except Exception as exc:  # malformed sheet XML, found while streaming the rows
            raise StatementError(unreadable) from exc
    finally:
        workbook.close()


def _rows(content: bytes, file_name: str, header: str):
    if content.startswith(b"PK\x03\x04"):
        return _xlsx_rows(content)
    if content.startswith(b"\xd0\xcf\x11\xe0") or file_name.lower().endswith(".xls"):
        raise StatementError(
            "Old Excel .xls files are not supported: save the statement as .xlsx or CSV."
        )
    if file_name.lower().endswith(".xlsx"):
        raise StatementError("This file is named .xlsx but is not an Excel workbook.")
    return _csv_rows(content, header)


def _parse_date(value, fmt: str, *, row: int, column: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and 20_000 < value < 80_000:
        from openpyxl.utils.datetime import from_excel

        return from_excel(value).date()  # an Excel date serial in an unformatted cell
    text = _cell_text(value)
    for candidate in (fmt, *ISO_FORMATS):
        try:
            return datetime.strptime(text, candidate).date()  # noqa: DTZ007 (a calendar date)
        except ValueError:
            continue
    raise StatementError(
        f"Row {row}, column “{column}”: “{_shown(text)}” is not a date in the format {fmt} "
        "(or YYYY-MM-DD)."
    )


# "1.500,00" from a European-locale export: the comma is the decimal point.
_DECIMAL_COMMA = re.compile(r"-?[0-9]{1,3}(?:\.[0-9]{3})*,[0-9]{1,2}|-?[0-9]+,[0-9]{1,2}", re.ASCII)
# How much of a bad cell an error message repeats.
SHOWN_CELL_CHARS = 40


def _shown(value) -> str:
    """A cell as an error message quotes it: a megabyte cell is not repeated to the user."""
    text = _cell_text(value[: 5 * SHOWN_CELL_CHARS] if isinstance(value, str) else value)
    return text if len(text) <= SHOWN_CELL_CHARS else text[: SHOWN_CELL_CHARS - 1] + "…"


def _parse_amount(value, *, row: int, column: str) -> int | None:
    """Kobo from a cell: ``1,500.00``, ``₦1,500``, ``NGN 1500``, ``(1,500.00)``, ``1500 CR``,
    ``1500-``, ``-1500``, ``1.500,00``; debits negative. The bank's markers are taken off
    here, then ``core.money.parse_naira`` (the one amount parser) reads what is left."""
    if isinstance(value, bool):
        raise StatementError(f"Row {row}, column “{column}”: “{value}” is not an amount.")
    text = "" if value is None else str(value)  # str(1500.5) is "1500.5"; 1e16 has an exponent
    try:
        # The parser's length cap, before any other work on the cell (even the blank check).
        if len(text) > MAX_AMOUNT_TEXT_LENGTH:
            parse_naira(text)
        if _is_blank(value):
            return None
        text = "".join(text.split()).upper()
        negative = False
        if text.startswith("(") and text.endswith(")"):
            negative, text = True, text[1:-1]
        if text.endswith("CR"):
            text = text[:-2]
        elif text.endswith("DR"):
            negative, text = True, text[:-2]
        if text.endswith("-"):
            negative, text = True, text[:-1]
        text = text.replace("NGN", "").replace("₦", "")
        if text.startswith("N") and "0" <= text[1:2] <= "9":
            text = text[1:]
        if _DECIMAL_COMMA.fullmatch(text):
            text = text.replace(".", "").replace(",", ".")
        kobo = parse_naira(text, allow_negative=True)
    except MoneyError as exc:
        raise StatementError(
            f"Row {row}, column “{column}”: “{_shown(value)}” is not an amount of money. "
            f"{exc.message}"
        ) from None
    return -kobo if negative else kobo


def _find_header(rows, mapping: ColumnMapping) -> tuple[int, dict[str, int]]:
    wanted = _header_key(mapping.date_column)
    first_seen = None
    for number, cells in enumerate(rows, start=1):
        keys = [_header_key(c) for c in cells or ()]
        if first_seen is None and any(keys):
            first_seen = [_cell_text(c) for c in cells if not _is_blank(c)]
        if wanted in keys:
            return number, {k: i for i, k in reversed(list(enumerate(keys))) if k}
        if number >= HEADER_SEARCH_ROWS:
            break
    if first_seen is None:
        raise StatementError("The file is empty.")
    raise StatementError(
        f"No header row with the column “{mapping.date_column}” (the {mapping.bank_name} "
        f"mapping's date column) in the first {HEADER_SEARCH_ROWS} rows. First row found: "
        f"{', '.join(first_seen)[:200]}."
    )


def _mapped_columns(mapping: ColumnMapping) -> dict[str, str]:
    columns = {"date": mapping.date_column, "narration": mapping.narration_column}
    if mapping.amount_column:
        columns["amount"] = mapping.amount_column
    else:
        if not mapping.credit_column:
            raise StatementError(
                f"The {mapping.bank_name} mapping has neither an amount column nor a credit "
                "column; fix the mapping first."
            )
        columns["credit"] = mapping.credit_column
        if mapping.debit_column:
            columns["debit"] = mapping.debit_column
    if mapping.reference_column:
        columns["reference"] = mapping.reference_column
    return columns


def _normal_key(value_date: date, amount: int, narration: str, reference: str) -> tuple:
    return (
        value_date.isoformat(),
        amount,
        " ".join(narration.split()).upper(),
        reference.strip().upper(),
    )


def parse_statement(content: bytes, file_name: str, mapping: ColumnMapping) -> list[ParsedLine]:
    """Read a CSV or XLSX statement with a bank's column mapping. Writes nothing.

    Row numbers in messages are the rows a person sees in Excel (the header row counts).
    Rows with no amount (opening/closing balance lines) are skipped.
    """
    if len(content) > MAX_FILE_BYTES:
        raise StatementError(
            f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; split the "
            "statement into shorter periods."
        )
    if not content.strip():
        raise StatementError("The file is empty.")
    rows = iter(_rows(content, file_name, _header_key(mapping.date_column)))
    header_row, index = _find_header(rows, mapping)
    columns = _mapped_columns(mapping)
    missing = [name for name in columns.values() if _header_key(name) not in index]
    if missing:
        raise StatementError(
            f"The file has no column {', '.join(f'“{m}”' for m in missing)} (the "
            f"{mapping.bank_name} mapping expects it). Check the mapping or the file."
        )
    position = {field: index[_header_key(name)] for field, name in columns.items()}

    parsed: list[tuple] = []
    blank_run = 0
    for number, cells in enumerate(rows, start=header_row + 1):
        cells = list(cells or ())

        def cell(field, cells=cells):
            i = position.get(field)
            return cells[i] if i is not None and i < len(cells) else None

        if all(_is_blank(cell(field)) for field in position):
            blank_run += 1
            if blank_run >= MAX_BLANK_RUN:
                break
            continue
        blank_run = 0
        if len(parsed) >= MAX_ROWS:
            raise StatementError(
                f"The statement has more than {MAX_ROWS:,} lines; split it into shorter periods."
            )
        amount = _row_amount(cell, columns, row=number)
        if not amount:
            continue
        if _is_blank(cell("date")):
            raise StatementError(f"Row {number}, column “{columns['date']}”: the date is empty.")
        value_date = _parse_date(
            cell("date"), mapping.date_format, row=number, column=columns["date"]
        )
        narration = _cell_text(cell("narration"))
        reference = _cell_text(cell("reference"))
        parsed.append((value_date, amount, narration, reference))
    if not parsed:
        raise StatementError("No transactions found under the header row.")

    seen: Counter = Counter()
    lines = []
    for value_date, amount, narration, reference in parsed:
        key = _normal_key(value_date, amount, narration, reference)
        lines.append(ParsedLine(value_date, amount, narration, reference, seen[key]))
        seen[key] += 1
    return lines


def _row_amount(cell, columns: dict[str, str], *, row: int) -> int | None:
    if "amount" in columns:
        return _parse_amount(cell("amount"), row=row, column=columns["amount"])
    credit = _parse_amount(cell("credit"), row=row, column=columns["credit"]) or 0
    debit = _parse_amount(cell("debit"), row=row, column=columns.get("debit", "")) or 0
    if credit < 0:
        raise StatementError(
            f"Row {row}, column “{columns['credit']}”: a credit cannot be negative."
        )
    if credit and debit:
        raise StatementError(
            f"Row {row}: both “{columns['credit']}” and “{columns['debit']}” have an amount; "
            "a line is either a credit or a debit."
        )
    return credit - abs(debit)


def fingerprint(line: ParsedLine) -> str:
    key = _normal_key(line.value_date, line.amount_kobo, line.narration, line.reference)
    text = "|".join(str(part) for part in (*key, line.occurrence))
    return hashlib.sha256(text.encode()).hexdigest()
