"""Finance at the desk: the dashboard with its charts, the collections worklist filtered to
31–60 days, a logged call, and yesterday's daily report downloaded."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from arrears import overdue
from arrears.models import CollectionContact
from reports.services import generate_daily_report
from tests.arrears.builders import loan_in_arrears
from tests.e2e.test_lending_journeys import sign_in
from tests.factories import make_finance

pytestmark = pytest.mark.django_db(transaction=True)


def test_finance_filters_the_collections_list_and_logs_a_call(page: Page):
    today = timezone.localdate()
    late = loan_in_arrears(45, today=today, name="Musa Bello", state="KN")
    recent = loan_in_arrears(10, today=today, name="Ada Obi", state="LA")
    overdue.run_overdue(run_date=today)
    yesterday = today - timedelta(days=1)
    generate_daily_report(report_date=yesterday)
    finance = make_finance(email="finance-collections@allaweeplus.ng")

    sign_in(page, finance.email)
    page.goto("/backoffice/")
    expect(page.get_by_role("heading", name="Key figures")).to_be_visible()
    for title in ("Applications submitted per day", "Disbursed and collected per month"):
        expect(page.get_by_role("img", name=re.compile(title))).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("Portfolio at risk"))).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Collections").click()
    expect(page.get_by_role("heading", name="Collections")).to_be_visible()
    table = page.get_by_role("table")
    expect(table.get_by_role("row").filter(has_text="Ada Obi")).to_be_visible()

    page.get_by_label("Days past due").select_option(label="31–60 days")
    expect(table.get_by_role("row").filter(has_text="Ada Obi")).to_have_count(0)
    row = table.get_by_role("row").filter(has_text="Musa Bello")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("45")
    expect(page).to_have_url(re.compile(r"[?&]bucket=31-60"))

    row.get_by_role("link", name=late.reference).click()
    expect(page.get_by_test_id("days-past-due")).to_have_text("45 days past due")
    form = page.get_by_role("form", name="Log a contact")
    form.get_by_label("How").select_option(label="Phone call")
    form.get_by_label("Outcome").select_option(label="Promise to pay")
    promised = today + timedelta(days=5)
    form.get_by_label("Promised for").fill(promised.isoformat())
    form.get_by_label("Note").fill("Allowance is expected this week.")
    page.evaluate("window.e2eSamePage = true")
    form.get_by_role("button", name="Log contact").click()

    log = page.get_by_test_id("contact-log")
    expect(log).to_contain_text("Promise to pay")
    expect(log).to_contain_text(promised.strftime("%d %b %Y"))
    assert page.evaluate("window.e2eSamePage") is True  # swapped by HTMX, no reload
    contact = CollectionContact.objects.get()
    assert contact.loan == late and contact.staff == finance
    assert not CollectionContact.objects.filter(loan=recent).exists()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name=f"CSV of {yesterday.day} {yesterday:%b %Y}").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8") as handle:
        content = handle.read()
    assert f"Report,Lagos day,{yesterday.isoformat()}" in content
    assert "Ledger,Trial balance balanced,yes" in content
