"""GET /api/v1/reports/daily/{date}: finance reads the stored daily report."""

from datetime import date

import pytest

from reports.services import generate_daily_report
from tests import factories
from tests.api.conftest import error_code

pytestmark = pytest.mark.django_db


def test_finance_reads_a_stored_report_with_money_as_naira_strings(finance_api):
    factories.active_loan()
    report = generate_daily_report(report_date=date(2026, 11, 20))
    response = finance_api.get("/reports/daily/2026-11-20")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["report_date"] == "2026-11-20"
    lines = {(line["section"], line["figure"]): line["value"] for line in body["lines"]}
    assert lines[("Ledger", "Trial balance balanced")] == "yes"
    debits = lines[("Ledger", "Total debits (NGN)")]
    assert debits.endswith(".00") or "." in debits
    assert report.figures["ledger"]["balanced"] is True


def test_missing_days_bad_dates_and_other_roles_get_json_errors(
    finance_api, officer_api, member_api, anon
):
    generate_daily_report(report_date=date(2026, 11, 20))
    assert error_code(finance_api.get("/reports/daily/2026-11-19")) == "not_found"
    bad = finance_api.get("/reports/daily/2026-13-45")
    assert bad.status_code == 422 and error_code(bad) == "validation_error"
    for caller in (officer_api, member_api):
        response = caller.get("/reports/daily/2026-11-20")
        assert response.status_code == 403 and error_code(response) == "forbidden"
    response = anon.get("/reports/daily/2026-11-20")
    assert response.status_code == 401
