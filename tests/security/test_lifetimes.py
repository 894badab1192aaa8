"""Every lifetime and limit written in docs/SECURITY.md and the README's security paragraph,
held at its documented (default) value with the clock moved by time-machine: each test
fails if the code stops enforcing the number. (Numbers already held elsewhere are listed in
docs/SECURITY.md next to their tests.)"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.factories import MemberFactory, make_admin, make_officer
from tests.security.test_authentication import throttled
from tests.security.world import PASSWORD

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def _login(client, email, password=PASSWORD, ip="10.3.3.3"):
    return client.post(
        reverse("account_login"), {"login": email, "password": password}, REMOTE_ADDR=ip
    )


# --- V3 sessions ------------------------------------------------------------------------------


def test_the_documented_session_numbers_are_the_defaults():
    assert settings.SESSION_ABSOLUTE_AGE_SECONDS == 8 * 3600
    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    assert settings.STAFF_IDLE_TIMEOUT_SECONDS == 30 * 60
    assert settings.REAUTHENTICATION_MAX_AGE_SECONDS == 15 * 60
    # allauth reads its own setting: the documented one must reach it.
    from allauth.account import app_settings

    assert app_settings.REAUTHENTICATION_TIMEOUT == 15 * 60


def test_an_active_staff_session_ends_eight_hours_after_sign_in():
    officer = make_officer()
    client = Client()
    with time_machine.travel(T0, tick=False) as traveller:
        client.force_login(officer)
        url = reverse("loans:queue")
        # Busy all day: a page every 20 minutes (never idle), each refreshing the session.
        for _ in range(23):
            traveller.shift(timedelta(minutes=20))
            assert client.get(url).status_code == 200
        traveller.move_to(T0 + timedelta(hours=7, minutes=59))
        assert client.get(url).status_code == 200
        traveller.move_to(T0 + timedelta(hours=8, minutes=1))
        response = client.get(url)
        assert response.status_code == 302 and reverse("account_login") in response["Location"]
        assert not _signed_in(client)


def test_an_active_member_session_ends_eight_hours_after_sign_in():
    member = MemberFactory()
    client = Client()
    url = reverse("members:dashboard")
    with time_machine.travel(T0, tick=False) as traveller:
        client.force_login(member.user)
        traveller.move_to(T0 + timedelta(hours=7, minutes=50))
        # Any session write (a flash message, a form step) renews Django's own expiry.
        session = client.session
        session["touched"] = True
        session.save()
        assert client.get(url).status_code == 200
        traveller.move_to(T0 + timedelta(hours=8, minutes=1))
        response = client.get(url)
        assert response.status_code == 302 and reverse("account_login") in response["Location"]
        assert not _signed_in(client)


def test_staff_are_signed_out_after_thirty_idle_minutes():
    officer = make_officer()
    client = Client()
    url = reverse("loans:queue")
    with time_machine.travel(T0, tick=False) as traveller:
        client.force_login(officer)
        traveller.shift(timedelta(minutes=29))
        assert client.get(url).status_code == 200
        traveller.shift(timedelta(minutes=31))
        response = client.get(url)
        assert response.status_code == 302 and reverse("account_login") in response["Location"]


def test_a_password_re_entry_covers_sensitive_actions_for_fifteen_minutes():
    admin = make_admin()
    target = MemberFactory()
    url = reverse("members:reveal_bvn", args=[target.pk])
    client = Client()
    with time_machine.travel(T0, tick=False) as traveller:
        client.force_login(admin)
        client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
        traveller.shift(timedelta(minutes=14))
        assert client.post(url).status_code == 200
        traveller.shift(timedelta(minutes=2))  # 16 minutes after the password
        response = client.post(url)
        assert response.status_code == 302 and "reauthenticate" in response["Location"]


# --- V2 sign-in limits ------------------------------------------------------------------------


def test_five_failures_hold_an_unknown_browser_for_five_minutes():
    member = MemberFactory()
    client = Client()
    with time_machine.travel(T0, tick=False) as traveller:
        for i in range(5):
            assert not throttled(_login(client, member.user.email, f"x{i}"))
        assert throttled(_login(client, member.user.email, PASSWORD))
        traveller.shift(timedelta(seconds=299))
        assert throttled(_login(client, member.user.email, PASSWORD))
        traveller.shift(timedelta(seconds=2))
        assert _login(client, member.user.email, PASSWORD).status_code == 302


def test_ten_failed_sign_ins_per_minute_per_address():
    members = [MemberFactory() for _ in range(11)]
    client = Client()
    with time_machine.travel(T0, tick=False) as traveller:
        answers = [
            throttled(_login(client, m.user.email, "Wrong-123", "10.4.4.4")) for m in members
        ]
        assert answers == [False] * 10 + [True]
        traveller.shift(timedelta(seconds=61))
        assert _login(client, members[0].user.email, PASSWORD, "10.4.4.4").status_code == 302


def test_thirty_sign_ins_per_minute_per_address():
    member = MemberFactory()
    client = Client()
    with time_machine.travel(T0, tick=False) as traveller:
        for _ in range(30):
            assert _login(client, member.user.email, PASSWORD, "10.5.5.5").status_code == 302
            client.post(reverse("account_logout"))
        assert throttled(_login(client, member.user.email, PASSWORD, "10.5.5.5"))
        traveller.shift(timedelta(seconds=61))
        assert _login(client, member.user.email, PASSWORD, "10.5.5.5").status_code == 302


def test_password_resets_three_per_minute_per_address_and_twenty_per_ip():
    member = MemberFactory()
    client = Client()
    url = reverse("account_reset_password")
    with time_machine.travel(T0, tick=False) as traveller:
        codes = [
            client.post(url, {"email": member.user.email}, REMOTE_ADDR="10.6.6.6").status_code
            for _ in range(4)
        ]
        assert codes == [302, 302, 302, 429]
        traveller.shift(timedelta(seconds=61))
        assert client.post(url, {"email": member.user.email}, REMOTE_ADDR="10.6.6.6").status_code
        codes = [
            client.post(url, {"email": f"p{i}@example.ng"}, REMOTE_ADDR="10.7.7.7").status_code
            for i in range(21)
        ]
        assert codes == [302] * 20 + [429]


# --- V13 the JSON API ---------------------------------------------------------------------------


def test_api_limits_are_the_documented_numbers_per_hour():
    assert settings.API_RATE_LIMIT_ANON == 100
    assert settings.API_RATE_LIMIT_AUTH == 10_000
    assert settings.API_RATE_LIMIT_WINDOW_SECONDS == 3600
    assert settings.API_MAX_BODY_BYTES == 64 * 1024
    client = Client()
    with time_machine.travel(T0, tick=False) as traveller:
        codes = [client.get("/api/v1/ping", REMOTE_ADDR="10.8.8.8").status_code for _ in range(101)]
        assert codes == [200] * 100 + [429]
        traveller.shift(timedelta(hours=1, seconds=1))
        assert client.get("/api/v1/ping", REMOTE_ADDR="10.8.8.8").status_code == 200


def test_body_and_file_limits_are_the_documented_numbers():
    from payments.reconciliation import parsing as reconciliation

    assert settings.DOCUMENT_MAX_BYTES == 5 * 1024 * 1024
    assert reconciliation.MAX_FILE_BYTES == 5 * 1024 * 1024
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 6 * 1024 * 1024
    assert settings.DATA_UPLOAD_MAX_NUMBER_FIELDS == 1000


def test_token_requests_get_no_session_from_the_age_check():
    from tests.api.conftest import token_for

    member = MemberFactory()
    response = Client().get(
        "/api/v1/me", headers={"Authorization": f"Bearer {token_for(member.user)}"}
    )
    assert response.status_code == 200
    assert settings.SESSION_COOKIE_NAME not in response.cookies


def test_an_expired_session_on_a_public_address_is_answered_as_anyone():
    # A provider's webhook or the home page that carries an old cookie is not sent to sign in.
    member = MemberFactory()
    client = Client()
    with time_machine.travel(T0, tick=False) as traveller:
        client.force_login(member.user)
        assert client.get(reverse("home")).status_code == 302  # signed in: to the dashboard
        traveller.move_to(T0 + timedelta(hours=8, minutes=1))
        assert client.get(reverse("home")).status_code == 200
        assert not _signed_in(client)
        response = client.post("/webhooks/simulated", data=b"{}", content_type="application/json")
        assert response.status_code == 401
