"""Exports: formula injection neutralised in CSV and XLSX; downloads and range exports are
permission-checked, streamed, and refuse bad dates with a clear message."""

import csv
import io
from datetime import date
from io import BytesIO

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from core.exports import csv_bytes, neutralise_cell, xlsx_bytes
from core.models import AuditEvent
from payments.models import Payment, PaymentChannel, PaymentStatus
from reports import services
from tests.factories import MemberFactory
from tests.reports.helpers import at, lagos, make_loans

EVIL = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.mark.parametrize("value", EVIL)
def test_a_cell_that_a_spreadsheet_would_run_is_quoted(value):
    assert neutralise_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["PAY-1", "Ada Obi", "", "1-2", " =1", 5, -5, None])
def test_ordinary_cells_and_numbers_are_left_alone(value):
    assert neutralise_cell(value) == value


def test_csv_and_xlsx_files_carry_no_formula():
    rows = [[value, 1] for value in EVIL]
    parsed = list(csv.reader(io.StringIO(csv_bytes(["=head", "n"], rows).decode())))
    assert parsed[0] == ["'=head", "n"]
    assert [row[0] for row in parsed[1:]] == ["'" + v for v in EVIL]

    sheet = load_workbook(BytesIO(xlsx_bytes([("Sheet", ["=head", "n"], rows)]))).active
    cells = [row[0] for row in sheet.iter_rows()]
    assert all(cell.data_type == "s" for cell in cells)
    # (XML turns the carriage return into a newline; the quote in front is what matters.)
    assert [c.value[:2] for c in cells] == ["'=", *("'" + v[0] for v in EVIL[:4]), "'\t", "'\n"]


@pytest.fixture
def report(db, settings):
    settings.FINANCE_REPORT_EMAILS = []
    with at(lagos(date(2027, 2, 1), 6)):
        return services.generate_daily_report(report_date=date(2027, 1, 31))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_finance_downloads_a_report(client, finance, report, fmt):
    client.force_login(finance)
    response = client.get(reverse(f"reports:download_{fmt}", args=["2027-01-31"]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="allaweeplus-daily-2027-01-31.{fmt}"'
    )
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        assert rows[0] == ["Section", "Figure", "Value"]
        assert ["Report", "Lagos day", "2027-01-31"] in rows
    else:
        sheet = load_workbook(BytesIO(response.content)).active
        assert sheet["A1"].value == "Section"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_downloads_are_refused_without_the_permission(client, officer, report, fmt):
    url = reverse(f"reports:download_{fmt}", args=["2027-01-31"])
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(officer)
    assert client.get(url).status_code == 403
    client.force_login(MemberFactory().user)
    assert client.get(url).status_code == 403


def test_unknown_day_is_not_found(client, finance, report):
    client.force_login(finance)
    assert client.get(reverse("reports:download_csv", args=["2027-01-30"])).status_code == 404
    assert client.get("/backoffice/reports/2027-13-45.csv").status_code == 404


def test_report_list_shows_reports_with_download_links(client, finance, report):
    client.force_login(finance)
    response = client.get(reverse("reports:list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("reports:download_csv", args=["2027-01-31"]) in html
    assert reverse("reports:download_xlsx", args=["2027-01-31"]) in html
    assert 'href="/backoffice/reports/"' in html  # the "Reports" menu item
    assert 'for="id_report_date_0"' in html and 'id="id_report_date_0"' in html
    partial = client.get(reverse("reports:list"), headers={"HX-Request": "true"})
    assert "<html" not in partial.content.decode()
    assert "2027-01-31.csv" in partial.content.decode()


def test_report_list_is_for_finance(client, officer):
    client.force_login(officer)
    assert client.get(reverse("reports:list")).status_code == 403
    assert 'href="/backoffice/reports/"' not in client.get(reverse("backoffice")).content.decode()


def test_payments_range_export_is_streamed_and_neutralised(client, finance):
    (loan,) = make_loans(1, date(2027, 1, 20))
    for ref, moment, status in (
        ("=cmd|' /C calc'!A0", lagos(date(2027, 1, 31), 23, 59, 59), PaymentStatus.SUCCESSFUL),
        ("IN-RANGE", lagos(date(2027, 1, 1), 0, 0, 0), PaymentStatus.SUCCESSFUL),
        ("TOO-LATE", lagos(date(2027, 2, 1), 0, 0, 0), PaymentStatus.SUCCESSFUL),
        ("FAILED", lagos(date(2027, 1, 15)), PaymentStatus.FAILED),
    ):
        Payment.objects.create(
            reference=ref,
            provider="manual",
            channel=PaymentChannel.MANUAL,
            status=status,
            amount=1_234_56,
            received_at=moment,
            loan=loan,
        )
    client.force_login(finance)
    response = client.get(
        reverse("reports:export"), {"kind": "payments", "start": "2027-01-01", "end": "2027-01-31"}
    )
    assert response.status_code == 200
    assert response.streaming
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][0] == "Reference"
    assert rows[1:] == [
        ["IN-RANGE", "2027-01-01 00:00:00", "manual", "successful", "1234.56", loan.reference],
        [
            "'=cmd|' /C calc'!A0",
            "2027-01-31 23:59:59",
            "manual",
            "successful",
            "1234.56",
            loan.reference,
        ],
    ]
    event = AuditEvent.objects.get(action="report.exported")
    assert event.actor == finance and event.changes["kind"] == "payments"


def test_reports_range_export_lists_the_stored_reports(client, finance, report):
    client.force_login(finance)
    response = client.get(
        reverse("reports:export"), {"kind": "reports", "start": "2027-01-01", "end": "2027-12-31"}
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row[0] for row in rows[1:]] == ["2027-01-31"]
    assert rows[1][9] == "no snapshot" and rows[1][11] == "yes"


@pytest.mark.parametrize(
    "params, message",
    [
        ({"kind": "payments", "start": "2027-02-01", "end": "2027-01-01"}, "on or before"),
        ({"kind": "payments", "start": "2027-02-30", "end": "2027-03-01"}, "valid date"),
        ({"kind": "payments", "start": "yesterday", "end": "2027-03-01"}, "valid date"),
        ({"kind": "payments", "start": "2020-01-01", "end": "2027-03-01"}, "at most 366 days"),
        ({"kind": "members", "start": "2027-01-01", "end": "2027-03-01"}, "valid choice"),
    ],
)
def test_bad_ranges_get_a_clear_error(client, finance, params, message):
    client.force_login(finance)
    response = client.get(reverse("reports:export"), params)
    assert response.status_code == 400
    assert not response.streaming
    assert message in response.content.decode()
    assert not AuditEvent.objects.filter(action="report.exported").exists()


def test_range_export_needs_the_permission(client, officer):
    url = reverse("reports:export")
    params = {"kind": "payments", "start": "2027-01-01", "end": "2027-01-31"}
    assert client.get(url, params).status_code == 302
    client.force_login(officer)
    assert client.get(url, params).status_code == 403
