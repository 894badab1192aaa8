"""Spreadsheet exports (CSV and XLSX) that are safe to open in Excel or LibreOffice.

A cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return,
which some programs skip before reading one of those) is run as a formula by spreadsheet
programs: a payment reference or narration written by an outsider could then call out to
the network or run commands on a finance officer's machine (CSV / formula injection, OWASP).
Every exported text cell goes through ``neutralise_cell``, which prefixes a single quote so
the program shows the text instead. Numbers are left as numbers.
"""

import csv
from collections.abc import Iterable, Iterator, Sequence
from io import BytesIO
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def neutralise_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def neutralise_row(row: Sequence[Any]) -> list[Any]:
    return [neutralise_cell(value) for value in row]


class _Echo:
    """A file-like object whose write returns the line, so csv.writer can feed a stream."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Sequence[str], rows: Iterable[Sequence]) -> Iterator[str]:
    """CSV text one line at a time (for StreamingHttpResponse: nothing is held in memory)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(neutralise_row(header))
    for row in rows:
        yield writer.writerow(neutralise_row(row))


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    return "".join(csv_lines(header, rows)).encode("utf-8")


def xlsx_bytes(sheets: Iterable[tuple[str, Sequence[str], Iterable[Sequence]]]) -> bytes:
    """A workbook of (title, header, rows) sheets, written in openpyxl's write-only mode."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    for title, header, rows in sheets:
        sheet = workbook.create_sheet(title=title[:31])
        sheet.append(neutralise_row(header))
        for row in rows:
            sheet.append(neutralise_row(row))
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
