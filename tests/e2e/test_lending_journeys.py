"""Lending in the browser: a member applies and an officer decides; finance pays the loan out
and the member repays through the (simulated) hosted checkout.

Each person has their own browser context (cookies), as two people on two machines would.
The browser is driven by what a person sees: labels, roles and accessible names.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page, expect

from loans.models import Application, ApplicationStatus, LoanStatus
from tests import factories
from tests.factories import MemberFactory, make_finance, make_officer

FACTORY_PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory
# allauth's labels end in a colon ("Password:").
PASSWORD_LABEL = re.compile(r"^Password:?$")
REJECTION_REASON = "Your allowance cannot carry this amount alongside your other loan."

pytestmark = pytest.mark.django_db(transaction=True)


def expect_message(page: Page, text: str) -> None:
    """A message from ``django.contrib.messages`` (``role="status"`` in base.html)."""
    expect(page.get_by_role("status").filter(has_text=text)).to_be_visible()


def sign_in(page: Page, email: str, password: str = FACTORY_PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label(PASSWORD_LABEL).fill(password)
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


@pytest.fixture
def new_page(browser: Browser, browser_context_args):
    """A page in a fresh browser context: a second person, signed in separately."""
    contexts: list[BrowserContext] = []

    def make() -> Page:
        context = browser.new_context(**browser_context_args)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield make
    for context in contexts:
        context.close()


def eligible_member(name: str):
    return MemberFactory(
        full_name=name,
        passing_out=timezone.localdate() + timedelta(days=400),
        monthly_allowance=300_000_00,
    )


def member_applies(page: Page, email: str) -> str:
    """Apply through the live preview and key facts; returns the application reference."""
    sign_in(page, email)
    page.goto("/loans/apply/")
    expect(page.get_by_role("heading", name="Apply for a loan")).to_be_visible()

    preview = page.get_by_role("region", name="Your repayment preview")
    total = preview.get_by_test_id("total-repayable")
    page.get_by_label("Repay over").select_option(label="3 months")
    page.get_by_label("Amount (₦)").fill("60000")
    expect(total).to_have_text(re.compile(r"₦"))
    before = total.inner_text()

    # A full page load would drop this flag; HTMX swaps only the preview.
    page.evaluate("window.e2eSamePage = true")
    page.get_by_label("Amount (₦)").fill("120000")
    expect(total).not_to_have_text(before)
    expect(total).to_have_text(re.compile(r"₦"))
    assert page.evaluate("window.e2eSamePage") is True

    page.get_by_role("button", name="Continue to key facts").click()
    expect(page.get_by_role("heading", name="Key facts statement")).to_be_visible()
    page.get_by_label(re.compile("I have read the key facts")).check()
    page.get_by_role("button", name="Submit application").click()

    expect_message(page, "Your application is submitted.")
    heading = page.get_by_role("heading", name=re.compile(r"^Application "))
    expect(heading).to_be_visible()
    # With a real consumer the page shows "Submitted" and updates itself once assessed.
    expect(page.get_by_test_id("status")).to_have_text("In review", timeout=30_000)
    return heading.inner_text().split()[1]


def officer_opens_application(page: Page, email: str, applicant: str, reference: str) -> None:
    sign_in(page, email)
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Applications", exact=True
    ).click()
    expect(page.get_by_role("heading", name="Applications")).to_be_visible()
    table = page.get_by_role("table")
    expect(table.get_by_role("row").filter(has_text="Someone Else")).to_be_visible()

    page.get_by_role("searchbox", name="Search").fill(applicant)
    expect(table.get_by_role("row").filter(has_text="Someone Else")).to_have_count(0)
    row = table.get_by_role("row").filter(has_text=applicant)
    expect(row).to_have_count(1)
    expect(page).to_have_url(re.compile(r"[?&]q="))

    row.get_by_role("link", name=reference).click()
    expect(page.get_by_role("heading", name=reference)).to_be_visible()
    expect(page.get_by_test_id("status")).to_have_text("In review")


def other_application_in_queue() -> None:
    """A second applicant, so the search has something to filter out."""
    other = eligible_member("Someone Else")
    factories.submitted_application(member=other, amount=30_000_00, tenure=2, assess=False)


def test_member_applies_and_an_officer_approves(page: Page, new_page, huey_consumer):
    """The assessment runs in a real Huey consumer process, not in immediate mode."""
    member = eligible_member("Chiamaka Obi")
    factories.product()
    other_application_in_queue()
    officer = make_officer(email="officer@allaweeplus.ng")

    reference = member_applies(page, member.user.email)
    application = Application.objects.get(reference=reference)
    assert application.assessed_at and application.recommendation and application.assessment
    assert huey_consumer.poll() is None  # the consumer did the work and is still running

    officer_page = new_page()
    officer_opens_application(officer_page, officer.email, "Chiamaka Obi", reference)
    officer_page.get_by_role("button", name="Approve").click()
    expect_message(officer_page, "Approval recorded.")
    expect(officer_page.get_by_test_id("status")).to_have_text("Approved")

    page.reload()
    expect(page.get_by_test_id("status")).to_have_text("Approved")
    schedule = page.get_by_role("table")
    # Header row plus one row per monthly installment.
    expect(schedule.get_by_role("row")).to_have_count(1 + 3)
    expect(schedule.get_by_role("columnheader", name="Due")).to_be_visible()

    application = Application.objects.get(reference=reference)
    assert application.status == ApplicationStatus.APPROVED
    assert application.loan.installments.count() == 3


def test_officer_rejects_and_the_member_sees_the_reason(page: Page, new_page):
    member = eligible_member("Tunde Bakare")
    factories.product()
    other_application_in_queue()
    officer = make_officer(email="officer@allaweeplus.ng")

    reference = member_applies(page, member.user.email)

    officer_page = new_page()
    officer_opens_application(officer_page, officer.email, "Tunde Bakare", reference)
    officer_page.get_by_label("Reason (shown to the member)").fill(REJECTION_REASON)
    officer_page.get_by_role("button", name="Reject").click()
    expect_message(officer_page, "Application rejected; the member sees your reason.")
    expect(officer_page.get_by_test_id("status")).to_have_text("Rejected")

    page.reload()
    expect(page.get_by_test_id("status")).to_have_text("Rejected")
    expect(page.get_by_role("status").filter(has_text="Reason:")).to_contain_text(REJECTION_REASON)
    assert Application.objects.get(reference=reference).status == ApplicationStatus.REJECTED


def test_finance_disburses_and_the_member_repays_through_checkout(page: Page, new_page):
    loan = factories.approved_loan()
    finance = make_finance(email="finance@allaweeplus.ng")

    sign_in(page, finance.email)
    page.goto(f"/backoffice/loans/{loan.reference}/")
    expect(page.get_by_test_id("loan-status")).to_have_text("Pending disbursement")
    page.get_by_role("button", name=re.compile(r"^Disburse ₦")).click()

    # A payout is sensitive: allauth asks for the password again, then resumes the request.
    expect(page.get_by_role("button", name="Confirm")).to_be_visible()
    page.get_by_label(PASSWORD_LABEL).fill(FACTORY_PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_test_id("loan-status")).to_have_text("Active")
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ACTIVE

    member_page = new_page()
    sign_in(member_page, loan.member.user.email)
    member_page.goto(f"/loans/{loan.reference}/")
    owed = member_page.get_by_test_id("outstanding")
    expect(owed).to_have_text(re.compile(r"₦\s?[1-9]"))
    before = owed.inner_text()

    member_page.get_by_role("link", name="Pay", exact=True).click()
    expect(member_page.get_by_role("heading", name=f"Pay loan {loan.reference}")).to_be_visible()
    member_page.get_by_role("button", name="Continue to payment").click()

    expect(member_page.get_by_role("heading", name="Pay AllaweePlus")).to_be_visible()
    member_page.get_by_role("button", name=re.compile(r"^Pay ₦")).click()

    expect(member_page).to_have_url(re.compile(rf"/loans/{loan.reference}/$"))
    expect_message(member_page, "Thank you:")
    expect(owed).not_to_have_text(before)
    expect(owed).to_have_text(re.compile(r"₦"))


def test_finance_imports_a_statement_confirms_one_line_and_ignores_the_other(page: Page, tmp_path):
    from payments.models import ColumnMapping, LineStatus, Payment, StatementLine

    loan = factories.active_loan()
    first_due = loan.installments.first().outstanding
    mapping = ColumnMapping.objects.create(
        bank_name="GTBank export",
        date_column="Date",
        amount_column="Amount",
        narration_column="Narration",
        reference_column="Reference",
        date_format="%d/%m/%Y",
    )
    today = timezone.localdate().strftime("%d/%m/%Y")
    statement = tmp_path / "statement.csv"
    statement.write_text(
        "Date,Amount,Narration,Reference\n"
        f"{today},{first_due / 100:.2f},TRF FROM MEMBER {loan.reference},FT1111\n"
        f"{today},4321.00,POS REFUND UNKNOWN,FT2222\n"
    )
    finance = make_finance(email="finance-recon@allaweeplus.ng")
    sign_in(page, finance.email)
    page.goto("/backoffice/reconciliation/upload/")
    page.get_by_label("Bank (column mapping)").select_option(label=mapping.bank_name)
    page.get_by_label(re.compile(r"^Statement file")).set_input_files(str(statement))
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_test_id("import-summary")).to_contain_text("2 new")

    page.goto("/backoffice/reconciliation/")
    page.get_by_role("button", name=re.compile(rf"^Confirm ₦.* to {loan.reference}")).click()
    expect(page.get_by_role("button", name=re.compile(r"^Confirm ₦"))).to_have_count(0)
    page.get_by_label(re.compile(r"^Reason to ignore the line of ₦4,321.00")).fill(
        "Card refund, not a loan repayment"
    )
    page.get_by_role("button", name="Ignore").first.click()
    expect(page.get_by_role("button", name="Ignore")).to_have_count(0)

    lines = {line.amount: line for line in StatementLine.objects.all()}
    assert lines[first_due].status == LineStatus.MATCHED
    assert lines[4321_00].status == LineStatus.IGNORED
    assert lines[4321_00].ignore_reason == "Card refund, not a loan repayment"
    assert Payment.objects.filter(loan=loan, status="successful").count() == 1
