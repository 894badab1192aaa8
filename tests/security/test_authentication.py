"""Guessing passwords, reset e-mails and MFA codes is throttled (portal, Django admin, API);
the session key changes at sign-in; staff need MFA in production settings."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret, hotp_value
from django.core import mail
from django.urls import reverse

from core.mail import send_due_mail
from tests.factories import MemberFactory, make_officer
from tests.security.world import PASSWORD

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def throttled(response) -> bool:
    """allauth answers a throttled sign-in with the form and this error (or a 429 page)."""
    return response.status_code == 429 or (
        response.status_code == 200
        and "Too many failed login attempts" in response.content.decode()
    )


def _login(client, email, password, path=None):
    return client.post(path or reverse("account_login"), {"login": email, "password": password})


def test_password_guessing_on_one_account_is_stopped_even_with_the_right_password(client):
    member = MemberFactory()
    email = member.user.email
    answers = [throttled(_login(client, email, f"wrong-guess-{i}")) for i in range(5)]
    assert answers == [False] * 5  # the form again, "invalid login"
    assert throttled(_login(client, email, "wrong-guess-6"))
    # The real password no longer gets in until the window passes.
    assert throttled(_login(client, email, PASSWORD))
    assert "_auth_user_id" not in client.session


def test_password_spraying_from_one_address_is_stopped(client):
    members = [MemberFactory() for _ in range(11)]
    answers = [throttled(_login(client, m.user.email, "Password123!")) for m in members]
    assert answers == [False] * 10 + [True]


def test_the_django_admin_has_no_password_form_of_its_own(client):
    officer = make_officer()
    response = client.post(
        reverse("admin:login"), {"username": officer.email, "password": PASSWORD}
    )
    # Anonymous visitors are sent to the throttled allauth sign-in; the POST logs nobody in.
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert "_auth_user_id" not in client.session
    for i in range(5):
        _login(client, officer.email, f"nope-{i}", f"{reverse('account_login')}?next=/admin/")
    assert throttled(_login(client, officer.email, PASSWORD))
    assert "_auth_user_id" not in client.session


def test_password_reset_mails_to_one_address_are_limited(client):
    member = MemberFactory()
    answers = [
        client.post(reverse("account_reset_password"), {"email": member.user.email}).status_code
        for _ in range(4)
    ]
    assert answers[:3] == [302, 302, 302] and answers[3] == 429
    assert send_due_mail() == 3 and len(mail.outbox) == 3


def test_wrong_mfa_codes_are_throttled(client):
    officer = make_officer()
    secret = generate_totp_secret()
    TOTP.activate(officer, secret)
    response = _login(client, officer.email, PASSWORD)
    assert response.status_code == 302 and response["Location"] == reverse("mfa_authenticate")
    url = reverse("mfa_authenticate")
    answers = [throttled(client.post(url, {"code": f"{i:06d}"})) for i in range(6)]
    assert answers[:4] == [False] * 4 and answers[-1], answers
    assert "_auth_user_id" not in client.session
    # Brute force stays blocked even for the right code until the window passes.
    from allauth.mfa.totp.internal.auth import yield_hotp_counters_from_time

    counter = next(iter(yield_hotp_counters_from_time()))
    right = f"{hotp_value(secret, counter):06d}"
    response = client.post(url, {"code": right})
    assert throttled(response) or response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_api_token_guessing_is_held_to_the_anonymous_limit(client, settings):
    settings.API_RATE_LIMIT_ANON = 5
    answers = [
        client.get("/api/v1/me", headers={"Authorization": f"Bearer awp_guess{i}"}).status_code
        for i in range(7)
    ]
    assert answers[:5] == [401] * 5 and set(answers[5:]) == {429}


def test_signing_in_gives_a_new_session_key(client):
    member = MemberFactory()
    session = client.session
    session["before_login"] = True
    session.save()
    before = session.session_key
    assert _login(client, member.user.email, PASSWORD).status_code == 302
    after = client.cookies["sessionid"].value
    assert after != before
    from django.contrib.sessions.models import Session

    assert not Session.objects.filter(session_key=before).exists()


def test_production_settings_require_mfa_for_staff():
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DEBUG", "SECRET", "PII", "ALLOWED", "DATABASE", "REDIS", "MFA"))
    }
    env.update(
        DEBUG="false",
        SECRET_KEY="s" * 60,
        ALLOWED_HOSTS="allaweeplus.example",
        PII_ENCRYPTION_KEYS="ZmVybmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY=",
        PII_HMAC_KEY="hmac",
        PAYMENTS_PROVIDER="paystack",
    )
    code = (
        "import config.settings as s; "
        "print(s.MFA_REQUIRED_FOR_STAFF, s.SESSION_COOKIE_SECURE, s.STAFF_IDLE_TIMEOUT_SECONDS)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "1800"]
