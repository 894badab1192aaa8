"""Issue 15, M4: a signed-in member probing whether a BVN, phone number, state code or bank
account belongs to one of our customers. Written as the review's attacks."""

import pytest
from django.urls import reverse

from core.crypto import pii_cipher
from core.models import AuditEvent
from members.lookups import NEUTRAL_MESSAGES
from members.models import KycStatus, Member
from tests.factories import MemberFactory
from tests.members.test_onboarding import signed_in_member, valid_profile

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer():
    """Someone who is already our customer; the attacker knows their details."""
    member = MemberFactory(bvn="22333444555", phone="+2348035550199")
    return member


def test_sixty_validate_probes_are_throttled_after_the_limit_and_the_throttle_is_audited(
    client, customer, settings
):
    settings.PROFILE_VALIDATE_LIMIT = 20
    signed_in_member(client)
    url = reverse("members:profile_validate")
    statuses = [
        client.post(url, {"bvn": f"22{n:09d}"}, headers={"hx-request": "true"}).status_code
        for n in range(60)
    ]
    assert statuses[:20] == [200] * 20
    assert statuses[20:] == [429] * 40
    refused = client.post(url, {"bvn": "22333444555"})
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Try again in" in refused.text
    # One audit row for the window, not one per refused probe (no audit flooding).
    throttled = AuditEvent.objects.filter(action="member.identity_lookup_throttled")
    assert throttled.count() == 1
    assert throttled.get().changes["scope"] == "profile-validate"


def test_inline_validation_does_not_tell_a_customers_bvn_from_a_stranger_s(client, customer):
    signed_in_member(client)
    url = reverse("members:profile_validate")
    known = client.post(url, {"bvn": "22333444555", "phone": "0803 555 0199"})
    unknown = client.post(url, {"bvn": "22777888999", "phone": "0803 555 0177"})
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text
    assert "registered" not in known.text and "could not accept" not in known.text


def test_a_locked_profile_gets_no_lookup_at_all(client, customer):
    member = MemberFactory(kyc_status=KycStatus.SUBMITTED)
    client.force_login(member.user)
    response = client.post(reverse("members:profile_validate"), {"bvn": "22333444555"})
    assert response.status_code == 409 and response.content == b""
    response = client.post(
        reverse("members:profile"), valid_profile(bvn="22333444555", phone="0803 555 0199")
    )
    assert response.status_code == 302  # "locked", before any form is read
    assert not AuditEvent.objects.filter(action__startswith="member.identity").exists()


def test_a_customers_details_get_the_neutral_message_and_a_staff_flag_without_the_bvn(
    client, customer
):
    user = signed_in_member(client)
    response = client.post(
        reverse("members:profile"),
        valid_profile(bvn="22333444555", phone="0803 555 0199"),
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["bvn"] == [NEUTRAL_MESSAGES["bvn"]]
    assert errors["phone"] == [NEUTRAL_MESSAGES["phone"]]
    assert "We could not accept this BVN. If you believe this is a mistake, contact support." in (
        response.text
    )
    assert "another member" not in response.text and "already registered" not in response.text
    flag = AuditEvent.objects.get(action="member.identity_duplicate")
    me = Member.objects.get(user=user)
    assert flag.object_id == str(me.pk) and flag.actor_id == user.pk
    assert flag.changes == {"fields": ["bvn", "phone"], "other_member_ids": [customer.pk]}
    row = str(flag.changes) + flag.object_repr
    assert "22333444555" not in row and customer.bvn_hash not in row
    assert pii_cipher().decrypt(customer.bvn_encrypted) == "22333444555"  # untouched


def test_profile_save_probes_are_limited_per_member_with_a_429(client, customer, settings):
    settings.IDENTITY_LOOKUP_LIMIT = 5
    signed_in_member(client)
    url = reverse("members:profile")
    statuses = []
    for n in range(8):
        # Each try changes the BVN: each is a lookup; all hit an unknown BVN but one.
        bvn = "22333444555" if n == 6 else f"2244455{n:04d}"
        response = client.post(url, valid_profile(bvn=bvn, phone=f"0803 555 02{n:02d}"))
        statuses.append(response.status_code)
    # Saves 1-5 are looked up (the first saves the profile, later ones change it);
    # from the 6th, nothing is looked up: the customer's BVN in the 7th reveals nothing.
    assert statuses[:5] == [302] * 5
    assert statuses[5:] == [429] * 3
    assert "Try again in" in response.text
    assert not AuditEvent.objects.filter(action="member.identity_duplicate").exists()
    assert AuditEvent.objects.filter(action="member.identity_lookup_throttled").count() == 1


def test_saving_a_profile_without_changing_identity_details_looks_nothing_up(client, settings):
    settings.IDENTITY_LOOKUP_LIMIT = 1
    signed_in_member(client)
    url = reverse("members:profile")
    assert client.post(url, valid_profile()).status_code == 302
    for name in ("Chiamaka Obi-Eze", "Chiamaka Obi", "Chiamaka N. Obi"):
        # The BVN field is left empty once one is on file: "keep it".
        assert client.post(url, valid_profile(full_name=name, bvn="")).status_code == 302


# --- M7: document uploads ----------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64


def _upload(client, kind="id_card", body=PNG, name="card.png"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        reverse("members:upload_document"),
        {"kind": kind, "file": SimpleUploadedFile(name, body, content_type="image/png")},
        follow=True,
    ).text


def test_eleven_uploads_from_a_fresh_sign_up_meet_the_hourly_quota_at_the_eleventh(client):
    user = signed_in_member(client)
    kinds = ["id_card", "call_up_letter"]
    pages = [_upload(client, kind=kinds[n % 2]) for n in range(11)]
    assert all("Document uploaded." in page for page in pages[:10])
    assert "10 documents in the last hour" in pages[10]
    assert "Document uploaded." not in pages[10]
    uploaded = AuditEvent.objects.filter(action="member.document_uploaded", actor_id=user.pk)
    assert uploaded.count() == 10


def test_an_oversized_upload_is_refused_by_django_before_it_is_read(client, settings):
    user = signed_in_member(client)
    settings.DOCUMENT_MAX_BYTES = 5 * 1024 * 1024
    page = _upload(client, body=PNG + b"\x00" * (6 * 1024 * 1024))
    assert "larger than 5 MB" in page
    assert not Member.objects.get(user=user).documents.exists()


def test_a_file_over_the_cap_is_stopped_while_the_body_is_read(client, settings, monkeypatch):
    from django.core.files.uploadhandler import MemoryFileUploadHandler

    settings.DOCUMENT_MAX_BYTES = 100_000  # Content-Length passes the first check
    received = []
    original = MemoryFileUploadHandler.receive_data_chunk

    def counting(self, raw_data, start):
        received.append(start + len(raw_data))
        return original(self, raw_data, start)

    monkeypatch.setattr(MemoryFileUploadHandler, "receive_data_chunk", counting)
    user = signed_in_member(client)
    page = _upload(client, body=PNG + b"\x00" * 400_000)
    assert "larger than" in page
    # The handlers that keep the file never got past the cap.
    assert max(received, default=0) <= 100_000
    assert not Member.objects.get(user=user).documents.exists()


def test_a_replaced_document_is_gone_from_storage_and_the_table(
    client, django_capture_on_commit_callbacks
):
    user = signed_in_member(client)
    _upload(client, kind="id_card")
    first = Member.objects.get(user=user).documents.get()
    storage, name = first.file.storage, first.file.name
    assert storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        page = _upload(client, kind="id_card", body=PNG + b"\x01" * 32)
    assert "Document uploaded." in page
    documents = Member.objects.get(user=user).documents.all()
    assert [d.kind for d in documents] == ["id_card"] and documents[0].pk != first.pk
    assert not storage.exists(name)
    event = AuditEvent.objects.filter(action="member.document_uploaded").order_by("-id")[0]
    assert event.changes["replaced_document_ids"] == [first.pk]


def test_the_total_size_quota_refuses_what_would_pass_it(client, settings):
    settings.DOCUMENT_MAX_TOTAL_BYTES = 1024
    user = signed_in_member(client)
    assert "Document uploaded." in _upload(client, kind="id_card", body=PNG + b"\x00" * 600)
    page = _upload(client, kind="call_up_letter", body=PNG + b"\x00" * 600)
    assert "larger than" in page or "more than" in page
    assert Member.objects.get(user=user).documents.count() == 1


def test_the_upload_view_still_checks_csrf_after_its_limits():
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    user = signed_in_member(client)
    response = _upload_raw(client)
    assert response.status_code == 403
    assert not Member.objects.get(user=user).documents.exists()


def _upload_raw(client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        reverse("members:upload_document"),
        {"kind": "id_card", "file": SimpleUploadedFile("c.png", PNG, content_type="image/png")},
    )
