"""Repaying early on a phone (360 × 740): the member asks for the payoff figure, pays it through
the (simulated) hosted card checkout, sees the loan closed and opens the discharge letter; and
a partial prepayment that lowers what is paid each month. Driven by labels, roles and names."""

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from core.money import format_naira
from ledger.selectors import member_credit, trial_balance
from loans.models import LoanStatus
from payments.services import credit as credit_services
from payments.services import settlement
from tests import factories
from tests.e2e.test_lending_journeys import FACTORY_PASSWORD, PASSWORD_LABEL, expect_message

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 360, "height": 740}


@pytest.fixture
def phone(browser: Browser, browser_context_args):
    context = browser.new_context(
        **browser_context_args, viewport=PHONE, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def sign_in(page: Page, email: str) -> None:
    """As ``test_lending_journeys.sign_in``; on a phone "Sign out" sits in the folded menu,
    so the welcome message says we are in."""
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label(PASSWORD_LABEL).fill(FACTORY_PASSWORD)
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()
    expect_message(page, "Successfully signed in")


def fits_the_screen(page: Page) -> None:
    """Nothing wider than the phone: no sideways scrolling to reach a figure or a button."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide on a {PHONE['width']}px phone"


def test_member_pays_the_payoff_figure_on_a_phone_and_opens_the_discharge_letter(phone: Page):
    loan = factories.active_loan()
    figure = settlement.quote(loan).amount
    assert figure > 0

    sign_in(phone, loan.member.user.email)
    phone.goto(f"/loans/{loan.reference}/")
    fits_the_screen(phone)
    phone.get_by_role("link", name="Repay everything early").click()

    expect(phone.get_by_role("heading", name=f"Repay loan {loan.reference} early")).to_be_visible()
    expect(phone.get_by_test_id("settlement-amount")).to_have_text(format_naira(figure))
    fits_the_screen(phone)
    phone.get_by_role("button", name=f"Pay {format_naira(figure)} today and close the loan").click()

    expect(phone.get_by_role("heading", name="Pay AllaweePlus")).to_be_visible()
    fits_the_screen(phone)
    phone.get_by_role("button", name=re.compile(r"^Pay ₦")).click()

    expect(phone).to_have_url(re.compile(rf"/loans/{loan.reference}/$"))
    expect_message(phone, f"Thank you: {format_naira(figure)} received.")
    expect(phone.get_by_test_id("outstanding")).to_have_text("₦0.00")
    expect(phone.get_by_role("link", name="Pay", exact=True)).to_have_count(0)
    fits_the_screen(phone)
    loan.refresh_from_db()
    assert loan.status == LoanStatus.CLOSED
    assert member_credit(loan.member) == 0
    assert trial_balance()["balanced"]

    phone.get_by_role("link", name="Discharge letter").click()
    expect(
        phone.get_by_role("heading", name=f"Discharge letter — loan {loan.reference}")
    ).to_be_visible()
    expect(phone.get_by_text("Nothing more is owed on this loan.")).to_be_visible()
    # What the member paid, not the schedule's total before the interest not earned was cut.
    expect(phone.get_by_test_id("total-repaid")).to_have_text(format_naira(figure))
    assert figure < loan.total_repayable
    fits_the_screen(phone)


def test_member_prepays_to_pay_less_each_month_on_a_phone(phone: Page):
    loan = factories.active_loan(tenure=6)
    installments = list(loan.installments.order_by("number"))
    due_now = installments[0].outstanding  # the running installment, on the payout day
    amount = due_now + 10_000_00
    plan = credit_services.preview_prepayment(loan=loan, amount=amount, mode="lower")
    assert plan.prepaid == 10_000_00 and len(plan.new) == len(installments) - 1

    sign_in(phone, loan.member.user.email)
    phone.goto(f"/loans/{loan.reference}/")
    phone.get_by_role("link", name="Pay more than is due").click()
    fits_the_screen(phone)
    phone.get_by_label("Amount to pay now (₦)").fill(f"{amount // 100}.{amount % 100:02d}")
    phone.get_by_role("radio", name=re.compile("less each month", re.I)).check()
    phone.get_by_role("button", name="Show my new schedule").click()
    fits_the_screen(phone)
    phone.get_by_role("button", name=re.compile(r"^Confirm and pay ₦")).click()

    expect(phone.get_by_role("heading", name="Pay AllaweePlus")).to_be_visible()
    phone.get_by_role("button", name=re.compile(r"^Pay ₦")).click()

    expect(phone).to_have_url(re.compile(rf"/loans/{loan.reference}/$"))
    expect_message(phone, f"Thank you: {format_naira(amount)} received.")
    fits_the_screen(phone)
    loan.refresh_from_db()
    later = list(loan.installments.order_by("number"))[1:]
    # Same number of months, each lower: the extra came off the principal.
    assert len(later) == len(installments) - 1
    assert [i.total_due for i in later] == [i.total for i in plan.new]
    assert all(
        new.total_due < old.total_due for new, old in zip(later, installments[1:], strict=True)
    )
    assert member_credit(loan.member) == 0
    assert trial_balance()["balanced"]
    expect(phone.get_by_role("link", name="Earlier schedules of this loan")).to_be_visible()
