"""Staff see members through permissions; members see only themselves."""

import logging

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.crypto import pii_cipher
from core.models import AuditEvent
from members.models import KycStatus
from notifications.models import Message
from tests.factories import MemberFactory, UserFactory, on_commit

pytestmark = pytest.mark.django_db


def test_member_list_filters_through_htmx_and_returns_only_the_table(client, officer):
    MemberFactory(full_name="Zainab Lawal", kyc_status=KycStatus.SUBMITTED, deployment_state="KN")
    MemberFactory(full_name="Chinedu Okeke", kyc_status=KycStatus.VERIFIED)
    client.force_login(officer)
    url = reverse("members:staff_list")
    response = client.get(url, {"q": "Zain"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and 'id="table-container"' in body
    assert "Zainab Lawal" in body and "Chinedu Okeke" not in body
    assert "HX-Request" in response["Vary"]

    response = client.get(url, {"kyc_status": "verified"}, headers={"HX-Request": "true"})
    assert "Chinedu Okeke" in response.content.decode()
    assert "Zainab Lawal" not in response.content.decode()

    full = client.get(url).content.decode()
    assert "<html" in full and "Zainab Lawal" in full and "Chinedu Okeke" in full


def test_member_list_pages_without_counting_and_keeps_order(client, officer):
    for i in range(30):
        MemberFactory(full_name=f"Member Number{i:02d}")
    client.force_login(officer)
    url = reverse("members:staff_list")
    first = client.get(url, headers={"HX-Request": "true"}).content.decode()
    second = client.get(url, {"page": 2}, headers={"HX-Request": "true"}).content.decode()
    assert "Number29" in first and "Number29" not in second
    assert "Number00" in second and "Number00" not in first
    assert "Next" in first


def test_search_by_phone_state_code_and_bvn_last4(client, officer):
    target = MemberFactory(
        full_name="Target Person", phone="+2348091112222", state_code="KD/24B/5555"
    )
    MemberFactory(full_name="Other Person")
    client.force_login(officer)
    url = reverse("members:staff_list")
    for term in ("08091112222", "kd/24b/5555", target.bvn_last4, target.user.email):
        body = client.get(url, {"q": term}, headers={"HX-Request": "true"}).content.decode()
        assert "Target Person" in body and "Other Person" not in body, term


def test_member_list_query_count_is_flat_as_rows_grow(client, officer):
    client.force_login(officer)
    url = reverse("members:staff_list")
    MemberFactory()
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(20):
        MemberFactory()
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)


@pytest.mark.parametrize("name", ["members:staff_list", "audit_list", "backoffice"])
def test_members_get_403_and_anonymous_are_sent_to_login_on_staff_pages(client, member, name):
    url = reverse(name)
    assert client.get(url).status_code == 302
    client.force_login(member.user)
    assert client.get(url).status_code == 403


def test_member_cannot_open_another_members_file_or_document(client, member):
    other = MemberFactory()
    from members.models import MemberDocument

    doc = MemberDocument.objects.create(
        member=other,
        kind="id_card",
        file="documents/x",
        original_name="id.png",
        content_type="image/png",
        size=1,
        sha256="0" * 64,
    )
    client.force_login(member.user)
    assert client.get(reverse("members:staff_detail", args=[other.pk])).status_code == 403
    assert client.get(reverse("members:document", args=[doc.pk])).status_code == 404
    assert client.post(reverse("members:verify_kyc", args=[other.pk])).status_code == 403


def test_finance_cannot_review_kyc(client, finance):
    target = MemberFactory(kyc_status=KycStatus.SUBMITTED)
    client.force_login(finance)
    assert client.post(reverse("members:verify_kyc", args=[target.pk])).status_code == 403
    target.refresh_from_db()
    assert target.kyc_status == KycStatus.SUBMITTED


def test_officer_verifies_and_rejects_with_reason_and_audit(client, officer):
    one = MemberFactory(kyc_status=KycStatus.SUBMITTED)
    two = MemberFactory(kyc_status=KycStatus.SUBMITTED)
    client.force_login(officer)
    client.post(reverse("members:verify_kyc", args=[one.pk]))
    client.post(
        reverse("members:reject_kyc", args=[two.pk]), {"reason": "ID card photo is blurred"}
    )
    one.refresh_from_db()
    two.refresh_from_db()
    assert one.kyc_status == KycStatus.VERIFIED and one.kyc_reviewed_by == officer
    assert two.kyc_status == KycStatus.REJECTED
    assert two.kyc_rejection_reason == "ID card photo is blurred"
    assert AuditEvent.objects.filter(action="member.kyc_verified", object_id=str(one.pk)).exists()
    # Reviewing again is a wrong-state action: clear message, nothing changes.
    response = client.post(reverse("members:verify_kyc", args=[two.pk]), follow=True)
    assert "cannot become verified" in response.content.decode()
    two.refresh_from_db()
    assert two.kyc_status == KycStatus.REJECTED


def test_reject_without_reason_is_refused(client, officer):
    target = MemberFactory(kyc_status=KycStatus.SUBMITTED)
    client.force_login(officer)
    response = client.post(
        reverse("members:reject_kyc", args=[target.pk]), {"reason": ""}, follow=True
    )
    assert "reason" in response.content.decode()
    target.refresh_from_db()
    assert target.kyc_status == KycStatus.SUBMITTED


def test_staff_pages_show_only_masked_bvn(client, officer, caplog):
    target = MemberFactory()
    bvn = pii_cipher().decrypt(target.bvn_encrypted)
    client.force_login(officer)
    caplog.set_level(logging.DEBUG)
    for url in (reverse("members:staff_list"), reverse("members:staff_detail", args=[target.pk])):
        body = client.get(url).content.decode()
        assert bvn not in body
        assert target.bvn_last4 in body
    assert "Reveal BVN" not in client.get(target.get_absolute_url()).content.decode()
    assert bvn not in caplog.text


def test_reveal_bvn_needs_permission_and_recent_login_and_is_audited(
    client, officer, administrator
):
    target = MemberFactory()
    bvn = pii_cipher().decrypt(target.bvn_encrypted)
    url = reverse("members:reveal_bvn", args=[target.pk])

    client.force_login(officer)
    assert client.post(url).status_code == 403

    client.force_login(administrator)
    # force_login does not count as a recent authentication: allauth asks for the password.
    response = client.post(url)
    assert response.status_code == 302 and "reauthenticate" in response["Location"]
    assert bvn not in response.content.decode()

    client.post(reverse("account_reauthenticate"), {"password": "correct-horse-battery"})
    response = client.post(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert bvn in response.content.decode()
    assert response["Cache-Control"] == "private, no-store"
    event = AuditEvent.objects.get(action="member.bvn_revealed")
    assert event.actor == administrator and event.object_id == str(target.pk)
    assert bvn not in str(event.changes)


def test_staff_without_mfa_are_sent_to_set_it_up_when_required(client, officer, settings):
    settings.MFA_REQUIRED_FOR_STAFF = True
    client.force_login(officer)
    response = client.get(reverse("members:staff_list"))
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")
    # The MFA set-up pages stay reachable (allauth first asks for the password again).
    response = client.get(reverse("mfa_activate_totp"), follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0].startswith(reverse("account_reauthenticate"))
    client.post(reverse("account_reauthenticate"), {"password": "correct-horse-battery"})
    assert client.get(reverse("mfa_activate_totp")).status_code == 200


def test_members_are_not_forced_into_mfa(client, member, settings):
    settings.MFA_REQUIRED_FOR_STAFF = True
    client.force_login(member.user)
    assert client.get(reverse("members:dashboard")).status_code == 200


def test_staff_idle_session_times_out(client, officer, settings):
    settings.STAFF_IDLE_TIMEOUT_SECONDS = 60
    client.force_login(officer)
    assert client.get(reverse("members:staff_list")).status_code == 200
    session = client.session
    session["staff_last_seen"] -= 120
    session.save()
    response = client.get(reverse("members:staff_list"))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]
    assert "_auth_user_id" not in client.session


def test_staff_cannot_use_member_portal(client, officer):
    client.force_login(officer)
    assert client.get(reverse("members:profile")).status_code == 403


def test_user_without_staff_flag_but_with_perms_still_gets_403(client):
    from django.contrib.auth.models import Group

    user = UserFactory()
    user.groups.add(Group.objects.get(name="Loan officers"))
    client.force_login(user)
    assert client.get(reverse("members:staff_list")).status_code == 403


def test_the_member_is_told_of_each_kyc_decision_by_email_and_sms(client, officer):
    target = MemberFactory(kyc_status=KycStatus.SUBMITTED)
    client.force_login(officer)
    with on_commit(execute=True):
        client.post(
            reverse("members:reject_kyc", args=[target.pk]), {"reason": "ID card photo is blurred"}
        )
    rejected = Message.objects.get(member=target, kind="kyc_rejected", channel="email")
    assert "ID card photo is blurred" in rejected.body
    assert Message.objects.filter(member=target, kind="kyc_rejected", channel="sms").exists()

    # The member corrects the profile and submits again; the second review is its own message.
    target.refresh_from_db()
    target.kyc_status = KycStatus.SUBMITTED
    target.save(update_fields=["kyc_status"])
    with on_commit(execute=True):
        client.post(reverse("members:verify_kyc", args=[target.pk]))
    verified = Message.objects.get(member=target, kind="kyc_verified", channel="email")
    assert "your profile is verified" in verified.body
    assert Message.objects.filter(member=target, kind="kyc_rejected").count() == 2
