"""A corps member signs up and completes KYC in the browser; a loan officer verifies it.

The browser is driven by what a person sees: labels, roles and accessible names.
"""

import re
import struct
import zlib
from datetime import date

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone
from playwright.sync_api import Page, expect

from members.models import KycStatus, Member
from members.service_year import ServiceBatch
from members.validators import make_valid_nuban
from tests.factories import MemberFactory, UserFactory, make_officer

PASSWORD = "tall-mango-river-42"
FACTORY_PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory
BVN = "22123456789"
NUBAN = make_valid_nuban("058", "012345678")
SCREENSHOT = "/tmp/e2e-profile.png"
# allauth's labels end in a colon ("Password:", "Password (again):").
PASSWORD_LABEL = re.compile(r"^Password:?$")
PASSWORD_AGAIN_LABEL = re.compile(r"^Password \(again\):?$")

pytestmark = pytest.mark.django_db(transaction=True)


def serving_batch_a_year(today: date) -> int:
    """The year of the latest batch A in the NYSC calendar that started before today, so the
    member is serving whenever the suite runs (while the calendar is kept up to date)."""
    return (
        ServiceBatch.objects.filter(batch="A", stream=1, orientation_start__lte=today)
        .order_by("-year")
        .values_list("year", flat=True)
        .first()
    )


def tiny_png(path):
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)  # 1×1, 8-bit greyscale
    pixels = zlib.compress(b"\x00\xff")  # filter byte + one white pixel
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )
    return path


def tiny_pdf(path):
    path.write_bytes(
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )
    return path


def expect_message(page: Page, text: str) -> None:
    """A success message from ``django.contrib.messages`` (``role="status"`` in base.html)."""
    expect(page.get_by_role("status").filter(has_text=text)).to_be_visible()


def sign_in(page: Page, email: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label(PASSWORD_LABEL).fill(password)
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def fill_profile(page: Page, *, phone: str, account_number: str, batch_year: int) -> None:
    page.get_by_label("Full name").fill("Chiamaka Obi")
    page.get_by_label("Date of birth").fill("2000-05-17")
    page.get_by_label("Phone").fill(phone)
    page.get_by_label("BVN").fill(BVN)
    # Lower case on purpose: the profile stores the normalised LA/26A/4321 form.
    page.get_by_label("NYSC state code").fill(f"la/{batch_year % 100:02d}a/4321")
    page.get_by_label("Deployment state").select_option(label="Lagos")
    page.get_by_label("Place of primary assignment (PPA)").fill("Lagos State Ministry of Health")
    page.get_by_label("Service start").fill(f"{batch_year}-03-01")
    page.get_by_label("Monthly allowance (₦)").fill("77000")
    page.get_by_label("Other monthly income (₦)").fill("5,000")
    page.get_by_role("combobox", name="Bank", exact=True).select_option(label="Guaranty Trust Bank")
    page.get_by_label("Account number (NUBAN)").fill(account_number)


def upload(page: Page, kind: str, path) -> None:
    page.get_by_label("Document", exact=True).select_option(label=kind)
    page.get_by_label("File", exact=True).set_input_files(path)
    page.get_by_role("button", name="Upload").click()
    expect_message(page, "Document uploaded.")
    documents = page.get_by_role("region", name="Documents").get_by_role("listitem")
    expect(documents.filter(has_text=kind)).to_be_visible()


def test_new_member_signs_up_completes_kyc_and_submits_it_for_review(page: Page, tmp_path):
    email = "chiamaka@example.ng"
    batch_year = serving_batch_a_year(timezone.localdate())

    page.goto("/accounts/signup/")
    page.get_by_label("Email").fill(email)
    page.get_by_label(PASSWORD_LABEL).fill(PASSWORD)
    page.get_by_label(PASSWORD_AGAIN_LABEL).fill(PASSWORD)
    page.get_by_role("button", name=re.compile("sign up", re.I)).click()
    expect(page.get_by_role("heading", name="Confirm your e-mail address")).to_be_visible()

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [email]
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    page.goto(link.group(0))
    page.get_by_role("button", name="Confirm").click()

    # ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION: the same browser is signed in and lands on the
    # dashboard.
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_role("heading", name="Welcome")).to_be_visible()

    page.get_by_role("link", name="My profile").click()
    expect(page.get_by_role("heading", name="My profile")).to_be_visible()
    fill_profile(page, phone="0803 555 0101", account_number=NUBAN, batch_year=batch_year)
    page.get_by_role("button", name="Save profile").click()

    expect_message(page, "Your profile is saved.")
    expect(page.get_by_label("NYSC state code")).to_have_value(f"LA/{batch_year % 100:02d}A/4321")
    expect(page.get_by_label("Phone")).to_have_value("+2348035550101")
    # The BVN is never sent back to the browser, only its last four digits.
    expect(page.get_by_label("BVN")).to_have_value("")
    expect(page.get_by_text("On file:")).to_contain_text("6789")
    expect(page.locator("body")).not_to_contain_text(BVN)
    page.screenshot(path=SCREENSHOT, full_page=True)

    upload(page, "NYSC call-up letter", tiny_pdf(tmp_path / "call-up.pdf"))
    upload(page, "NYSC ID card", tiny_png(tmp_path / "id-card.png"))
    expect(page.get_by_text("Still needed")).to_have_count(0)
    page.get_by_role("button", name="Submit for verification").click()

    expect_message(page, "sent for verification")
    expect(page.get_by_role("region", name="Your profile")).to_contain_text("Under review")

    member = Member.objects.get(user__email=email)
    assert member.kyc_status == KycStatus.SUBMITTED
    assert member.documents.count() == 2
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM members_member WHERE id = %s", [member.pk])
        row = cursor.fetchone()
    assert row is not None
    assert BVN not in " ".join(str(value) for value in row)


def test_invalid_phone_and_account_number_are_explained_and_nothing_is_saved(page: Page):
    user = UserFactory(email="tunde@example.ng")
    wrong_check_digit = NUBAN[:9] + str((int(NUBAN[9]) + 1) % 10)

    sign_in(page, user.email, FACTORY_PASSWORD)
    page.get_by_role("link", name="My profile").click()
    fill_profile(
        page,
        phone="0803 555 010",
        account_number=wrong_check_digit,
        batch_year=serving_batch_a_year(timezone.localdate()),
    )
    page.get_by_role("button", name="Save profile").click()

    expect(page.get_by_text("A Nigerian mobile number has 11 digits")).to_be_visible()
    expect(page.get_by_text("This account number does not belong to the bank")).to_be_visible()
    expect(page.get_by_label("Phone")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Account number (NUBAN)")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("Your profile is saved")).to_have_count(0)
    # What the member typed is kept, so only the two fields need correcting.
    expect(page.get_by_label("Full name")).to_have_value("Chiamaka Obi")
    expect(page.get_by_label("Phone")).to_have_value("0803 555 010")

    member = Member.objects.get(user=user)
    assert member.phone is None
    assert member.account_number == ""
    assert member.full_name == ""
    assert member.bvn_hash is None
    assert member.kyc_status == KycStatus.INCOMPLETE


def test_saved_dates_are_shown_again_when_the_profile_is_reopened(page: Page):
    user = UserFactory(email="amaka@example.ng")
    batch_year = serving_batch_a_year(timezone.localdate())

    sign_in(page, user.email, FACTORY_PASSWORD)
    page.get_by_role("link", name="My profile").click()
    fill_profile(page, phone="0803 555 0101", account_number=NUBAN, batch_year=batch_year)
    page.get_by_role("button", name="Save profile").click()
    expect_message(page, "Your profile is saved.")

    # Otherwise saving the profile again fails on an empty date of birth, and an empty
    # service start is silently re-estimated from the batch.
    expect(page.get_by_label("Date of birth")).to_have_value("2000-05-17", timeout=1_000)
    # The batch's calendar date (a code without its stream: stream 1, passing out first).
    start = ServiceBatch.objects.get(year=batch_year, batch="A", stream=1).orientation_start
    expect(page.get_by_label("Service start")).to_have_value(start.isoformat())


def test_loan_officer_finds_a_member_by_search_and_verifies_kyc(page: Page):
    officer = make_officer(email="officer@allaweeplus.ng")
    ngozi = MemberFactory(full_name="Ngozi Adeyemi", kyc_status=KycStatus.SUBMITTED)
    MemberFactory(full_name="Tunde Bakare", kyc_status=KycStatus.SUBMITTED)

    sign_in(page, officer.email, FACTORY_PASSWORD)
    main_menu = page.get_by_role("navigation", name="Main")
    main_menu.get_by_role("link", name="Members", exact=True).click()
    expect(page.get_by_role("heading", name="Members")).to_be_visible()
    table = page.get_by_role("table")
    expect(table.get_by_role("link", name="Tunde Bakare")).to_be_visible()

    # A full page load would drop this flag; HTMX swaps only the table.
    page.evaluate("window.e2eSamePage = true")

    # Sorting swaps the table in place, without nesting a second page inside it.
    table.get_by_role("link", name="Name", exact=True).click()
    expect(page).to_have_url(re.compile(r"[?&]sort=full_name"))
    expect(page.get_by_role("heading", name="Members")).to_have_count(1)
    expect(page.get_by_role("navigation", name="Main")).to_have_count(1)

    page.get_by_role("searchbox", name="Search").fill("Ngozi")
    expect(table.get_by_role("link", name="Tunde Bakare")).to_have_count(0)
    expect(table.get_by_role("link", name="Ngozi Adeyemi")).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]q=Ngozi"))
    assert page.evaluate("window.e2eSamePage") is True

    table.get_by_role("link", name="Ngozi Adeyemi").click()
    expect(page.get_by_role("heading", name="Ngozi Adeyemi")).to_be_visible()
    page.get_by_role("button", name="Verify KYC").click()

    expect_message(page, "Ngozi Adeyemi is verified.")
    expect(page.get_by_role("heading", name="Ngozi Adeyemi")).to_contain_text("Verified")
    expect(page.get_by_role("button", name="Verify KYC")).to_have_count(0)

    ngozi.refresh_from_db()
    assert ngozi.kyc_status == KycStatus.VERIFIED
    assert ngozi.kyc_reviewed_by == officer
