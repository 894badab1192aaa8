"""New terms for a member in hardship, in the browser: an officer previews and offers them, the
member reads the new key facts on a 360 px phone and accepts, a second officer approves, and the
member sees the new schedule. Three people, three browser contexts, driven by accessible names.
"""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from loans.models import Installment
from servicing.models import Restructure, RestructureStatus
from tests.arrears.builders import loan_in_arrears
from tests.e2e.test_lending_journeys import (
    FACTORY_PASSWORD,
    PASSWORD_LABEL,
    expect_message,
    sign_in,
)
from tests.factories import make_officer

pytestmark = pytest.mark.django_db(transaction=True)
REASON = "The member's allowance stopped for two months after a posting change."


@pytest.fixture
def phone(browser: Browser, browser_context_args):
    """The member's phone: a 360 × 740 viewport in its own browser context."""
    context = browser.new_context(
        **browser_context_args, viewport={"width": 360, "height": 740}, is_mobile=True
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def sign_in_on_phone(page: Page, email: str) -> None:
    """On a phone the menu (and its Sign out button) is folded away: the message says it."""
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label(PASSWORD_LABEL).fill(FACTORY_PASSWORD)
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()
    expect_message(page, "Successfully signed in")


@pytest.fixture
def second_officer_page(browser: Browser, browser_context_args):
    context = browser.new_context(**browser_context_args)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_officer_offers_new_terms_member_accepts_second_officer_approves(
    page: Page, phone: Page, second_officer_page: Page
):
    loan = loan_in_arrears(10, today=timezone.localdate(), name="Chioma Okafor")
    proposer = make_officer(email="officer-one@allaweeplus.ng")
    checker = make_officer(email="officer-two@allaweeplus.ng")

    # The officer previews, then offers the terms.
    sign_in(page, proposer.email)
    page.goto(f"/backoffice/loans/{loan.reference}/")
    page.get_by_role("link", name="New terms (hardship restructure)").click()
    form = page.get_by_role("form", name="Propose new terms")
    form.get_by_label("Number of new monthly installments").fill("8")
    form.get_by_label("Payment holiday (months with nothing to pay)").fill("1")
    form.get_by_label("Forgive the unpaid interest and charges").check()
    form.get_by_label("Why the member needs new terms").fill(REASON)
    form.get_by_role("button", name="Preview the new schedule").click()
    preview = page.get_by_role("region", name="Preview: what the member will see")
    expect(preview.get_by_test_id("new-apr")).to_contain_text("%")
    assert not Restructure.objects.exists()  # a preview saves nothing
    page.get_by_role("button", name="Offer these terms to the member").click()
    expect_message(page, "New terms offered")
    offer = Restructure.objects.get(loan=loan)
    assert offer.status == RestructureStatus.PROPOSED and offer.new_installments == 8

    # The member, on a phone, reads the new key facts and accepts them.
    sign_in_on_phone(phone, loan.member.user.email)
    phone.goto(f"/loans/{loan.reference}/")
    phone.get_by_role("link", name="Read the new terms").click()
    facts = phone.get_by_role("region", name="New key facts")
    expect(facts.get_by_test_id("new-total")).to_contain_text("₦")
    expect(facts.get_by_role("table", name="The new schedule").get_by_role("row")).to_have_count(9)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the offer page scrolls sideways on a phone ({width}px)"
    phone.get_by_label("I have read the new key facts and accept the new terms.").check()
    phone.get_by_role("button", name="Accept the new terms").click()
    expect_message(phone, "you accepted the new terms")
    offer.refresh_from_db()
    assert offer.status == RestructureStatus.CONSENTED and offer.consent_hash == offer.terms_hash

    # The officer who proposed cannot approve; a second officer does.
    page.reload()
    expect(
        page.get_by_text("You proposed these terms; a second officer must approve them.")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Approve the new terms")).to_have_count(0)
    sign_in(second_officer_page, checker.email)
    second_officer_page.goto(f"/backoffice/loans/{loan.reference}/restructure/")
    second_officer_page.get_by_role("button", name="Approve the new terms").click()
    expect_message(second_officer_page, "Approved: the new schedule is in force")

    # The member sees the new schedule on the loan page.
    phone.goto(f"/loans/{loan.reference}/")
    expect(phone.get_by_test_id("restructured")).to_contain_text("New terms since")
    new_rows = [
        i for i in Installment.objects.filter(loan=loan).order_by("number") if i.outstanding
    ]
    assert len(new_rows) == 8
    first = new_rows[0]
    expect(
        phone.get_by_role("row").filter(has_text=first.due_date.strftime("%d %b %Y"))
    ).to_have_count(1)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
