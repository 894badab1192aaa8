"""A person signs up, verifies the e-mail, signs in and completes the KYC profile."""

import re

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from core.mail import send_due_mail
from core.models import AuditEvent
from members.models import KycStatus, Member, User
from members.validators import make_valid_nuban

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
BVN = "22198765432"


def valid_profile(**overrides):
    data = {
        "full_name": "Chiamaka Obi",
        "date_of_birth": "2000-05-17",
        "phone": "0803 555 0101",
        "bvn": BVN,
        "state_code": "nysc/la/25a/4321",
        "deployment_state": "",
        "ppa_name": "Lagos State Ministry of Health",
        "service_start": "",
        "monthly_allowance": "77,000",
        "other_income": "",
        "bank_code": "058",
        "account_number": make_valid_nuban("058", "012345678"),
    }
    data.update(overrides)
    return data


def signed_in_member(client, email="new@example.ng"):
    user = User.objects.create_user(email=email, password="a-long-pass-phrase-1")
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    client.force_login(user)
    return user


def test_sign_up_verify_email_sign_in_and_complete_kyc(client):
    response = client.post(
        reverse("account_signup"),
        {
            "email": "ada@example.ng",
            "password1": "tall-mango-river-42",
            "password2": "tall-mango-river-42",
        },
    )
    assert response.status_code == 302
    # Mandatory verification: not signed in yet, the dashboard sends us to log in.
    assert client.get(reverse("members:dashboard")).status_code == 302

    # The page did not wait for the mail server: the worker sends the confirmation.
    assert mail.outbox == []
    assert send_due_mail() == 1
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^\s]+/accounts/confirm-email/[^\s]+/", mail.outbox[0].body).group(
        0
    )
    path = link.split("://", 1)[1].split("/", 1)[1]
    client.post("/" + path)

    client.logout()
    response = client.post(
        reverse("account_login"), {"login": "ada@example.ng", "password": "tall-mango-river-42"}
    )
    assert response.status_code == 302
    assert client.get(reverse("members:dashboard")).status_code == 200

    response = client.post(reverse("members:profile"), valid_profile())
    assert response.status_code == 302, response.context["form"].errors
    member = Member.objects.get(user__email="ada@example.ng")
    assert member.phone == "+2348035550101"
    assert member.state_code == "LA/25A/4321"
    assert member.deployment_state == "LA"
    assert member.batch == "A"
    assert member.monthly_allowance == 77_000_00
    assert member.passing_out.year == member.service_start.year + 1
    assert member.bvn_last4 == "5432"

    for kind, content, name in (("call_up_letter", PDF, "call-up.pdf"), ("id_card", PNG, "id.png")):
        client.post(
            reverse("members:upload_document"),
            {"kind": kind, "file": SimpleUploadedFile(name, content)},
        )
    assert member.documents.count() == 2

    response = client.post(reverse("members:submit_kyc"))
    member.refresh_from_db()
    assert member.kyc_status == KycStatus.SUBMITTED
    actions = set(
        AuditEvent.objects.filter(object_id=str(member.pk)).values_list("action", flat=True)
    )
    assert {"member.profile_updated", "member.document_uploaded", "member.kyc_submitted"} <= actions


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("bvn", "2219876543", "11"),
        ("bvn", "2219876543A", "digits"),
        ("phone", "01 234 5678", "mobile"),
        ("phone", "+44 7700 900123", "Nigerian"),
        ("state_code", "XX/25A/1234", "state"),
        ("state_code", "LA/25D/1234", "batch"),
        ("account_number", "0123456789", "check"),
        ("account_number", "12345", "10"),
        ("date_of_birth", "2015-01-01", "between"),
        ("monthly_allowance", "-5", "at least"),
        ("monthly_allowance", "77000.123", "naira"),
    ],
)
def test_bad_profile_input_gets_a_clear_message_and_nothing_is_saved(client, field, value, message):
    user = signed_in_member(client)
    response = client.post(reverse("members:profile"), valid_profile(**{field: value}))
    assert response.status_code == 200
    errors = " ".join(str(e) for e in response.context["form"].errors.get(field, []))
    assert message.lower() in errors.lower(), response.context["form"].errors
    member = Member.objects.get(user=user)
    assert member.full_name == "" and member.bvn_hash is None


@pytest.mark.parametrize("field", ["bvn", "phone", "state_code", "account_number"])
def test_duplicate_identity_of_another_member_is_refused(client, member, field):
    from core.crypto import pii_cipher

    taken = {
        "bvn": pii_cipher().decrypt(member.bvn_encrypted),
        "phone": "0" + member.phone[4:],
        "state_code": member.state_code.lower(),
        "account_number": member.account_number,
    }
    user = signed_in_member(client)
    response = client.post(reverse("members:profile"), valid_profile(**{field: taken[field]}))
    assert response.status_code == 200
    errors = str(response.context["form"].errors[field])
    # Neutral (issue 15, M4): refused, without saying someone else holds it.
    assert "could not accept" in errors and "contact support" in errors
    assert "registered" not in errors and "another member" not in errors
    assert Member.objects.get(user=user).full_name == ""


def test_disguised_and_oversized_uploads_are_refused(client, settings):
    user = signed_in_member(client)
    client.post(reverse("members:profile"), valid_profile())
    script = SimpleUploadedFile(
        "letter.pdf", b"#!/bin/sh\necho pwned\n", content_type="application/pdf"
    )
    response = client.post(
        reverse("members:upload_document"), {"kind": "call_up_letter", "file": script}, follow=True
    )
    assert "content is checked" in response.content.decode()

    settings.DOCUMENT_MAX_BYTES = 1024
    big = SimpleUploadedFile("big.png", PNG + b"\x00" * 2048)
    response = client.post(
        reverse("members:upload_document"), {"kind": "id_card", "file": big}, follow=True
    )
    assert "larger than 1.0" in response.content.decode()  # the configured cap
    assert not Member.objects.get(user=user).documents.exists()


def test_submit_without_documents_is_refused_with_the_missing_ones_named(client):
    user = signed_in_member(client)
    client.post(reverse("members:profile"), valid_profile())
    response = client.post(reverse("members:submit_kyc"), follow=True)
    assert "NYSC call-up letter and NYSC ID card" in response.content.decode()
    assert Member.objects.get(user=user).kyc_status == KycStatus.INCOMPLETE


def test_profile_is_locked_while_under_review(client):
    user = signed_in_member(client)
    Member.objects.create(user=user, kyc_status=KycStatus.SUBMITTED, full_name="Locked Name")
    client.post(reverse("members:profile"), valid_profile(full_name="Changed Name"))
    assert Member.objects.get(user=user).full_name == "Locked Name"


def test_htmx_inline_validation_returns_only_error_fragments(client):
    signed_in_member(client)
    response = client.post(
        reverse("members:profile_validate"),
        {"phone": "12345", "full_name": "Ada Obi"},
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    phone_errors = body.split('id="errors-phone"', 1)[1].split('id="errors-', 1)[0]
    assert "invalid-feedback" in phone_errors
    assert 'id="errors-full_name"' in body
    assert "<html" not in body


def test_bvn_is_never_stored_or_shown_in_clear(client):
    signed_in_member(client)
    client.post(reverse("members:profile"), valid_profile())
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM members_member")
        rows = cursor.fetchall()
        cursor.execute("SELECT * FROM portal_auditevent")
        rows += cursor.fetchall()
    assert rows and BVN not in repr(rows)
    page = client.get(reverse("members:profile")).content.decode()
    assert BVN not in page
    assert "•••••••5432" in page or "5432" in page
