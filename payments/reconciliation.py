"""Bank statement import and reconciliation.

Pure parsing first (bytes in, ``ParsedLine`` out, nothing written), then the services that
store lines, suggest matches and let a person confirm, re-match or ignore them. Nothing is
ever posted automatically: a suggestion becomes a repayment only when finance confirms it.

A line's fingerprint is a hash of its date, amount, narration, reference and the number of
identical lines before it in the same file, so importing the same file twice adds nothing,
while two genuinely identical transfers on one day in one file both count.
"""

import csv
import hashlib
import io
import re
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Max, Min, Q, Sum
from django.forms.models import model_to_dict
from django.utils import timezone

from core import audit
from core.errors import Conflict, DomainError, NotAllowed
from core.money import MAX_AMOUNT_TEXT_LENGTH, MoneyError, format_naira, parse_naira
from loans.models import INSTALLMENT_OUTSTANDING, Installment, InstallmentStatus, Loan, LoanStatus
from payments import ledger
from payments.models import (
    ColumnMapping,
    LineStatus,
    Payment,
    PaymentChannel,
    PaymentStatus,
    Posting,
    StatementImport,
    StatementLine,
)
from payments.services import record_payment

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
MATCH_WINDOW_DAYS = 3
PERMISSION = "payments.reconcile_statement"
# Bank exports often start with a few lines of account details before the column headers.
HEADER_SEARCH_ROWS = 30
# Spreadsheets formatted down to row 1,048,576 yield empty rows forever; stop after this many.
MAX_BLANK_RUN = 1_000
MAX_XLSX_UNPACKED_BYTES = 100 * 1024 * 1024
ISO_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")
QUERY_CHUNK = 500


class StatementError(DomainError):
    code = "bad_statement"


@dataclass(frozen=True)
class ParsedLine:
    value_date: date
    amount_kobo: int  # credits positive, debits negative
    narration: str
    reference: str
    occurrence: int = 0  # how many identical lines came before this one in the file


# --- Parsing --------------------------------------------------------------------------------


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


# --- Auto-matching ---------------------------------------------------------------------------

_LOAN_REFERENCE = re.compile(r"(?=(LN[A-Z0-9]{8}))")
_PAYMENT_REFERENCE = re.compile(r"(?=PAY-?([0-9A-F]{12}))")
_WORDS = re.compile(r"[A-Z]+")
_DIGITS = re.compile(r"\d+")


def _chunks(items, size=QUERY_CHUNK):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _line_text(line: StatementLine) -> str:
    return f"{line.bank_reference} {line.narration}".upper()


def identity_in_narration(member, narration: str) -> str:
    """What of the member's identity the narration names ('' if nothing): account number,
    phone (local 0… or 234… form) or at least two of their names as whole words."""
    text = narration.upper()
    digit_runs = set(_DIGITS.findall(text))
    if member.account_number and member.account_number in digit_runs:
        return f"account {member.account_number}"
    phone_digits = "".join(c for c in (member.phone or "") if c.isdigit())
    if phone_digits.startswith("234") and len(phone_digits) == 13:
        local = "0" + phone_digits[3:]
        if local in digit_runs or phone_digits in digit_runs:
            return f"phone {local}"
    names = [w for w in _WORDS.findall((member.full_name or "").upper()) if len(w) > 1]
    words = set(_WORDS.findall(text))
    present = [w for w in names if w in words]
    if names and len(present) >= min(2, len(names)):
        return "name " + " ".join(present)
    return ""


def _suggest(line, *, loan, reason, payment=None):
    line.status = LineStatus.SUGGESTED
    line.suggested_loan = loan
    line.suggested_payment = payment
    line.match_reason = reason[:200]


def _match_by_reference(lines: list[StatementLine]) -> None:
    loan_refs = {line.pk: set(_LOAN_REFERENCE.findall(_line_text(line))) for line in lines}
    pay_refs = {
        line.pk: {f"PAY-{h}" for h in _PAYMENT_REFERENCE.findall(_line_text(line))}
        for line in lines
    }
    loans, payments = {}, {}
    for chunk in _chunks(set().union(*loan_refs.values())):
        loans.update((loan.reference, loan) for loan in Loan.objects.filter(reference__in=chunk))
    for chunk in _chunks(set().union(*pay_refs.values())):
        payments.update(
            (p.reference, p)
            for p in Payment.objects.filter(
                reference__in=chunk, status=PaymentStatus.PENDING, channel=PaymentChannel.CHECKOUT
            ).select_related("loan")
        )
    for line in lines:
        named_payments = [
            payments[r]
            for r in sorted(pay_refs[line.pk])
            if r in payments and payments[r].loan and payments[r].loan.status == LoanStatus.ACTIVE
        ]
        if len(named_payments) == 1:
            payment = named_payments[0]
            _suggest(
                line,
                loan=payment.loan,
                payment=payment,
                reason=f"reference {payment.reference} (pending checkout of "
                f"{format_naira(payment.amount)} on {payment.loan.reference})",
            )
            continue
        named = [loans[r] for r in sorted(loan_refs[line.pk]) if r in loans]
        active = [loan for loan in named if loan.status == LoanStatus.ACTIVE]
        if len(active) == 1:
            _suggest(line, loan=active[0], reason=f"reference {active[0].reference}")
        elif len(active) > 1:
            line.match_reason = (
                "names several loans: " + ", ".join(loan.reference for loan in active)
            )[:200]
        elif named:
            line.match_reason = (
                f"reference {named[0].reference}, but that loan is "
                f"{named[0].get_status_display().lower()}"
            )[:200]


@dataclass
class _Candidate:
    loan: Loan
    on: date
    detail: str


def _amount_candidates(lines: list[StatementLine]) -> dict[int, list[_Candidate]]:
    """Active loans owing exactly a line's amount on their next installment, or with a pending
    checkout of that amount, near the statement's dates."""
    window = timedelta(days=MATCH_WINDOW_DAYS)
    low = min(line.value_date for line in lines) - window
    high = max(line.value_date for line in lines) + window
    amounts = {line.amount for line in lines}
    by_amount: dict[int, list[_Candidate]] = defaultdict(list)

    installments = []
    for chunk in _chunks(amounts):
        installments += list(
            Installment.objects.filter(loan__status=LoanStatus.ACTIVE, due_date__range=(low, high))
            .exclude(status=InstallmentStatus.WAIVED)
            .annotate(owed=INSTALLMENT_OUTSTANDING)
            .filter(owed__in=chunk)
            .select_related("loan__member")
        )
    next_unpaid = {}
    for chunk in _chunks({i.loan_id for i in installments}):
        next_unpaid.update(
            Installment.objects.filter(loan_id__in=chunk)
            .exclude(status=InstallmentStatus.WAIVED)
            .annotate(owed=INSTALLMENT_OUTSTANDING)
            .filter(owed__gt=0)
            .values("loan_id")
            .annotate(first=Min("number"))
            .values_list("loan_id", "first")
        )
    for inst in installments:
        if next_unpaid.get(inst.loan_id) == inst.number:
            by_amount[inst.owed].append(
                _Candidate(
                    inst.loan,
                    inst.due_date,
                    f"installment {inst.number} due {inst.due_date:%d %b %Y}",
                )
            )

    start = timezone.make_aware(datetime.combine(low, time.min))
    end = timezone.make_aware(datetime.combine(high + timedelta(days=1), time.min))
    for chunk in _chunks(amounts):
        for payment in Payment.objects.filter(
            status=PaymentStatus.PENDING,
            loan__status=LoanStatus.ACTIVE,
            amount__in=chunk,
            created_at__gte=start,
            created_at__lt=end,
        ).select_related("loan__member"):
            by_amount[payment.amount].append(
                _Candidate(
                    payment.loan,
                    timezone.localdate(payment.created_at),
                    f"pending payment {payment.reference}",
                )
            )
    return by_amount


def _match_by_amount_and_identity(lines: list[StatementLine]) -> None:
    if not lines:
        return
    candidates = _amount_candidates(lines)
    for line in lines:
        found: dict[int, tuple[Loan, str, str]] = {}
        for c in candidates.get(line.amount, ()):
            if abs((c.on - line.value_date).days) > MATCH_WINDOW_DAYS or c.loan.pk in found:
                continue
            who = identity_in_narration(c.loan.member, _line_text(line))
            if who:
                found[c.loan.pk] = (c.loan, c.detail, who)
        if len(found) == 1:
            loan, detail, who = next(iter(found.values()))
            _suggest(
                line, loan=loan, reason=f"amount = {detail} of {loan.reference}; {who} in narration"
            )
        elif found:
            line.match_reason = (
                "amount and identity fit several loans: "
                + ", ".join(loan.reference for loan, _, _ in found.values())
            )[:200]


def auto_match(lines) -> int:
    """Suggest a loan for unmatched credit lines: first by a reference in the bank reference
    or narration, then by amount + the member's identity within ±3 days. Never confirms.
    Returns how many lines got a suggestion."""
    credits = [line for line in lines if line.amount > 0 and line.status == LineStatus.UNMATCHED]
    if not credits:
        return 0
    _match_by_reference(credits)
    _match_by_amount_and_identity([line for line in credits if line.status == LineStatus.UNMATCHED])
    changed = [line for line in credits if line.status != LineStatus.UNMATCHED or line.match_reason]
    StatementLine.objects.bulk_update(
        changed,
        ["status", "suggested_loan", "suggested_payment", "match_reason"],
        batch_size=QUERY_CHUNK,
    )
    return sum(1 for line in credits if line.status == LineStatus.SUGGESTED)


# --- Services ---------------------------------------------------------------------------------


def _require(actor) -> None:
    if not (
        actor is not None
        and actor.is_authenticated
        and actor.is_staff
        and actor.has_perm(PERMISSION)
    ):
        raise NotAllowed("You do not have permission to import statements or reconcile.")


MAPPING_FIELDS = [
    "bank_name",
    "date_column",
    "amount_column",
    "credit_column",
    "debit_column",
    "narration_column",
    "reference_column",
    "date_format",
]


@transaction.atomic
def save_column_mapping(*, mapping: ColumnMapping, actor) -> ColumnMapping:
    """Create or change a bank's column mapping (validated by the form), audited."""
    _require(actor)
    before = {}
    if mapping.pk:
        before = model_to_dict(
            ColumnMapping.objects.select_for_update().get(pk=mapping.pk), fields=MAPPING_FIELDS
        )
    mapping.save()
    after = model_to_dict(mapping, fields=MAPPING_FIELDS)
    changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
    audit.record(
        actor=actor,
        action="column_mapping.changed" if before else "column_mapping.created",
        obj=mapping,
        changes=changes,
    )
    return mapping


def import_statement(*, mapping: ColumnMapping, uploaded_file, actor) -> StatementImport:
    """Store the lines of a statement not seen before, then suggest matches for the new
    credits. A malformed file raises ``StatementError`` and writes nothing."""
    _require(actor)
    size = getattr(uploaded_file, "size", None)
    if size is not None and size > MAX_FILE_BYTES:
        raise StatementError(
            f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; split the "
            "statement into shorter periods."
        )
    content = uploaded_file.read(MAX_FILE_BYTES + 1)
    file_name = (getattr(uploaded_file, "name", "") or "statement").rsplit("/", 1)[-1][:200]
    parsed = parse_statement(content, file_name, mapping)
    prints = [fingerprint(line) for line in parsed]

    with transaction.atomic():
        statement = StatementImport.objects.create(
            mapping=mapping,
            file_name=file_name,
            file_sha256=hashlib.sha256(content).hexdigest(),
            imported_by=actor,
        )
        existing = set()
        for chunk in _chunks(prints):
            existing.update(
                StatementLine.objects.filter(fingerprint__in=chunk).values_list(
                    "fingerprint", flat=True
                )
            )
        new_lines = [
            StatementLine(
                statement=statement,
                fingerprint=fp,
                value_date=line.value_date,
                amount=line.amount_kobo,
                narration=line.narration,
                bank_reference=line.reference[:120],
            )
            for line, fp in zip(parsed, prints, strict=True)
            if fp not in existing
        ]
        # A concurrent import of the same file may insert some of these after our check: the
        # unique fingerprint drops them here, and the count below is what we really stored.
        StatementLine.objects.bulk_create(new_lines, ignore_conflicts=True, batch_size=QUERY_CHUNK)
        stored = list(StatementLine.objects.filter(statement=statement))
        statement.lines_total = len(parsed)
        statement.lines_new = len(stored)
        statement.lines_duplicate = len(parsed) - len(stored)
        statement.save(update_fields=["lines_total", "lines_new", "lines_duplicate"])
        suggested = auto_match(stored)
        audit.record(
            actor=actor,
            action="statement.imported",
            obj=statement,
            changes={
                "bank": mapping.bank_name,
                "file": file_name,
                "lines": statement.lines_total,
                "new": statement.lines_new,
                "duplicates": statement.lines_duplicate,
                "suggested": suggested,
            },
        )
    return statement


def _lock_open_line(line: StatementLine, actor) -> StatementLine:
    _require(actor)
    line = StatementLine.objects.select_for_update().get(pk=line.pk)
    if line.status in (LineStatus.MATCHED, LineStatus.IGNORED):
        raise Conflict(
            f"This line is already {line.get_status_display().lower()}"
            f"{' by ' + str(line.resolved_by) if line.resolved_by_id else ''}; "
            "nothing was changed."
        )
    return line


def _value_datetime(value_date: date) -> datetime:
    return timezone.make_aware(datetime.combine(value_date, time.min))


@transaction.atomic
def confirm_match(*, line: StatementLine, actor, loan: Loan | None = None) -> StatementLine:
    """A person confirms a statement credit as a repayment of a loan (the suggested one
    unless another is given): one bank-transfer payment, allocated and posted."""
    line = _lock_open_line(line, actor)
    if line.amount <= 0:
        raise DomainError(
            "A debit on the statement is money going out; it cannot be a "
            "repayment. Ignore it with a reason instead."
        )
    loan = loan or line.suggested_loan
    if loan is None:
        raise DomainError("This line has no suggested loan: re-match it to a loan reference first.")
    superseded = None
    if line.suggested_payment_id and loan.pk == line.suggested_loan_id:
        superseded = Payment.objects.select_for_update().get(pk=line.suggested_payment_id)
        if superseded.status == PaymentStatus.SUCCESSFUL:
            raise Conflict(
                f"Checkout {superseded.reference} was already paid through the provider; this "
                "bank credit may be the same money. Check it, then ignore the line or re-match "
                "it."
            )

    payment = record_payment(
        loan=loan,
        amount=line.amount,
        channel=PaymentChannel.BANK_TRANSFER,
        reference=f"STMT-{line.fingerprint[:20]}",
        provider="bank",
        actor=actor,
        received_at=_value_datetime(line.value_date),
        reason=f"Bank statement line {line.pk}: {line.narration}"[:2000],
        evidence=(line.bank_reference or f"statement {line.statement_id}")[:200],
        raw_payload={
            "statement_line": line.pk,
            "value_date": line.value_date.isoformat(),
            "narration": line.narration,
            "bank_reference": line.bank_reference,
        },
    )
    if superseded is not None and superseded.status == PaymentStatus.PENDING:
        # The member paid by bank transfer instead of finishing the checkout. Closing the
        # checkout keeps a late provider confirmation from posting the same money twice.
        superseded.status = PaymentStatus.FAILED
        superseded.reason = f"Paid by bank transfer instead: {payment.reference}"
        superseded.save(update_fields=["status", "reason"])
        audit.record(
            actor=actor,
            action="payment.superseded",
            obj=superseded,
            changes={
                "status": [PaymentStatus.PENDING, PaymentStatus.FAILED],
                "by": payment.reference,
            },
        )
    before = line.status
    line.status = LineStatus.MATCHED
    line.payment = payment
    line.suggested_loan = loan
    line.resolved_by = actor
    line.resolved_at = timezone.now()
    line.save(update_fields=["status", "payment", "suggested_loan", "resolved_by", "resolved_at"])
    audit.record(
        actor=actor,
        action="statement_line.confirmed",
        obj=line,
        changes={
            "status": [before, LineStatus.MATCHED],
            "loan": loan.reference,
            "payment": payment.reference,
            "amount": line.amount,
        },
    )
    return line


@transaction.atomic
def rematch(*, line: StatementLine, actor, loan_reference: str) -> StatementLine:
    """Point a line's suggestion at another active loan (a person still confirms it)."""
    line = _lock_open_line(line, actor)
    if line.amount <= 0:
        raise DomainError("A debit on the statement cannot be matched to a loan.")
    reference = (loan_reference or "").strip().upper()
    if not reference:
        raise DomainError(
            "Enter a loan reference, e.g. LN7KQ2M4XP.", fields={"loan_reference": "Required"}
        )
    loan = Loan.objects.filter(reference=reference).first()
    if loan is None:
        raise DomainError(
            f"There is no loan with reference {reference}.", fields={"loan_reference": "Unknown"}
        )
    if loan.status != LoanStatus.ACTIVE:
        raise DomainError(
            f"Loan {loan.reference} is {loan.get_status_display().lower()}; "
            "repayments go to active loans.",
            fields={"loan_reference": "Not active"},
        )
    before = {"status": line.status, "loan": getattr(line.suggested_loan, "reference", None)}
    _suggest(line, loan=loan, reason=f"re-matched by {actor} to {loan.reference}")
    line.save(update_fields=["status", "suggested_loan", "suggested_payment", "match_reason"])
    audit.record(
        actor=actor,
        action="statement_line.rematched",
        obj=line,
        changes={
            "status": [before["status"], line.status],
            "loan": [before["loan"], loan.reference],
        },
    )
    return line


@transaction.atomic
def ignore_line(*, line: StatementLine, actor, reason: str) -> StatementLine:
    """Set a line aside (not a repayment: a debit, a transfer between our own accounts, a
    deposit we cannot identify and will refund…), with the reason for the auditors."""
    _require(actor)
    reason = " ".join((reason or "").split())
    if len(reason) < 5:
        raise DomainError(
            "Say why this line is ignored (at least 5 characters).", fields={"reason": "Required"}
        )
    line = _lock_open_line(line, actor)
    before = line.status
    line.status = LineStatus.IGNORED
    line.ignore_reason = reason[:2000]
    line.resolved_by = actor
    line.resolved_at = timezone.now()
    line.save(update_fields=["status", "ignore_reason", "resolved_by", "resolved_at"])
    audit.record(
        actor=actor,
        action="statement_line.ignored",
        obj=line,
        changes={
            "status": [before, LineStatus.IGNORED],
            "reason": reason[:200],
            "amount": line.amount,
        },
    )
    return line


# --- Reads ------------------------------------------------------------------------------------


def statement_lines(*, statement: StatementImport | None = None, status: str | None = None):
    lines = StatementLine.objects.select_related("suggested_loan__member", "payment", "resolved_by")
    if statement is not None:
        lines = lines.filter(statement=statement)
    if status:
        lines = lines.filter(status=status)
    return lines.order_by("value_date", "id")


def reconciliation_totals(statement: StatementImport | None = None) -> dict:
    """Statement credits against what the ledger holds as bank-transfer repayments received
    in the same dates (postings on cash at bank, net of reversals), and the difference."""
    lines = StatementLine.objects.all()
    if statement is not None:
        lines = lines.filter(statement=statement)
    credit = Q(amount__gt=0)
    sums = lines.aggregate(
        date_from=Min("value_date"),
        date_to=Max("value_date"),
        statement_credits=Sum("amount", filter=credit, default=0),
        statement_debits=Sum("amount", filter=Q(amount__lt=0), default=0),
        matched=Sum("amount", filter=credit & Q(status=LineStatus.MATCHED), default=0),
        suggested=Sum("amount", filter=credit & Q(status=LineStatus.SUGGESTED), default=0),
        unmatched=Sum("amount", filter=credit & Q(status=LineStatus.UNMATCHED), default=0),
        ignored=Sum("amount", filter=credit & Q(status=LineStatus.IGNORED), default=0),
    )
    ledger_total = 0
    if sums["date_from"] is not None:
        ledger_total = Posting.objects.filter(
            account__code=ledger.CASH_BANK,
            entry__payment__channel=PaymentChannel.BANK_TRANSFER,
            entry__payment__received_at__gte=_value_datetime(sums["date_from"]),
            entry__payment__received_at__lt=_value_datetime(sums["date_to"] + timedelta(days=1)),
        ).aggregate(total=Sum("amount", default=0))["total"]
    sums["statement_debits"] = -sums["statement_debits"]
    sums["ledger_bank_repayments"] = ledger_total
    sums["difference"] = sums["statement_credits"] - ledger_total
    sums["to_resolve"] = sums["suggested"] + sums["unmatched"]
    return sums
