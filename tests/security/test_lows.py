"""The low findings of the second outside review, each written as the attack.

Lockout aimed at staff, a forged X-Real-IP, the demo seeder in production and development
routes routed in production. (Cache keys: test_cache_isolation.py; Cache-Control:
test_cache_headers.py; lifetimes and limits: test_lifetimes.py.)"""

import time

import pytest
import time_machine
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret, hotp_value
from django.core import mail
from django.urls import reverse

from core.mail import send_due_mail
from core.models import AuditEvent
from members import lockout
from tests.factories import MemberFactory, make_finance
from tests.security.test_authentication import throttled
from tests.security.world import PASSWORD

pytestmark = pytest.mark.django_db


def _login(client, email, password, ip):
    return client.post(
        reverse("account_login"), {"login": email, "password": password}, REMOTE_ADDR=ip
    )


def _totp_code(secret):
    from allauth.mfa.totp.internal.auth import yield_hotp_counters_from_time

    return f"{hotp_value(secret, next(iter(yield_hotp_counters_from_time()))):06d}"


# --- Lockout that cannot be aimed at someone ---------------------------------------------


def test_fifty_failures_from_other_addresses_do_not_lock_the_staff_owner_out(client, settings):
    settings.MFA_REQUIRED_FOR_STAFF = True
    finance = make_finance()
    secret = generate_totp_secret()
    TOTP.activate(finance, secret)
    owner = client
    # The owner's own browser signed in before (password + TOTP): it is a known device.
    assert _login(owner, finance.email, PASSWORD, "10.9.9.9")["Location"] == reverse(
        "mfa_authenticate"
    )
    assert owner.post(reverse("mfa_authenticate"), {"code": _totp_code(secret)}).status_code == 302
    assert owner.session["_auth_user_id"] == str(finance.pk)
    owner.post(reverse("account_logout"))
    mail.outbox.clear()

    from django.test import Client

    attacker = Client()
    for i in range(50):
        _login(attacker, finance.email, f"guess-{i}", f"203.0.113.{i % 5 + 1}")
    # The attacker is held back, even with the right password from a browser never used.
    assert throttled(_login(attacker, finance.email, PASSWORD, "203.0.113.77"))
    assert "_auth_user_id" not in attacker.session

    # The owner, from their usual browser, still gets in: password, then TOTP (a later code:
    # allauth refuses a code used once).
    with time_machine.travel(time.time() + 61):
        response = _login(owner, finance.email, PASSWORD, "10.9.9.9")
        assert response.status_code == 302
        assert response["Location"] == reverse("mfa_authenticate")
        response = owner.post(reverse("mfa_authenticate"), {"code": _totp_code(secret)})
        assert response.status_code == 302
    assert owner.session["_auth_user_id"] == str(finance.pk)

    # Told once, not fifty times.
    send_due_mail()
    notices = [m for m in mail.outbox if "tried to sign in" in m.subject]
    assert len(notices) == 1 and notices[0].to == [finance.email]


def test_the_attackers_address_waits_longer_after_each_attempt(client, settings):
    member = MemberFactory()
    ip = "198.51.100.4"
    with time_machine.travel("2026-06-01 10:00:00Z", tick=False) as traveller:
        waits = []
        for i in range(14):
            _login(client, f"someone{i}@example.ng", "nope", ip)
            waits.append(lockout.ip_retry_after(ip))
        assert waits[:10] == [0] * 10
        assert waits[10:] == [2, 4, 8, 16], waits  # doubles with every further attempt
        assert throttled(_login(client, member.user.email, PASSWORD, ip))
        assert lockout.ip_retry_after(ip) == 32
        # Capped: an hour at most.
        for _ in range(20):
            _login(client, member.user.email, "nope", ip)
        assert lockout.ip_retry_after(ip) == settings.LOGIN_IP_MAX_DELAY_SECONDS
        # Another address is not affected.
        assert _login(client, member.user.email, PASSWORD, "198.51.100.5").status_code == 302
        client.post(reverse("account_logout"))
        # After the wait (and the window) the address is heard again.
        traveller.shift(2 * 3600 + 5)
        assert lockout.ip_retry_after(ip) == 0
        assert _login(client, member.user.email, PASSWORD, ip).status_code == 302


def test_the_owner_is_notified_at_most_once_per_window(settings):
    from django.test import Client

    member = MemberFactory()
    email = member.user.email
    with time_machine.travel("2026-06-01 10:00:00Z", tick=False) as traveller:
        for i in range(30):
            _login(Client(), email, f"x{i}", f"192.0.2.{i + 1}")
        send_due_mail()
        assert len([m for m in mail.outbox if m.to == [email]]) == 1
        assert "5 times" in mail.outbox[0].body
        traveller.shift(settings.LOGIN_NOTICE_WINDOW_SECONDS + 61)
        for i in range(5):
            _login(Client(), email, f"y{i}", f"192.0.2.{i + 100}")
        send_due_mail()
        assert len([m for m in mail.outbox if m.to == [email]]) == 2
    # Nobody is told about an address that is no account (and the answer is the same).
    mail.outbox.clear()
    for i in range(6):
        _login(Client(), "nobody@example.ng", "x", f"192.0.2.{i + 200}")
    assert send_due_mail() == 0 and mail.outbox == []


def test_a_password_reset_empties_the_accounts_counter(client):
    member = MemberFactory()
    email = member.user.email
    from django.test import Client

    for i in range(6):
        _login(Client(), email, f"x{i}", f"192.0.2.{i + 1}")
    # A new browser of the owner is held back like the attacker...
    assert throttled(_login(client, email, PASSWORD, "10.1.1.1"))
    # ...until the owner proves the mailbox: the reset clears the account's counters.
    client.post(reverse("account_reset_password"), {"email": email}, REMOTE_ADDR="10.1.1.1")
    send_due_mail()
    body = mail.outbox[-1].body
    url = next(line for line in body.splitlines() if "/accounts/password/reset/key/" in line)
    path = url[url.index("/accounts/") :].strip()
    response = client.get(path, REMOTE_ADDR="10.1.1.1")
    new = "a-brand-new-passphrase-2026"
    response = client.post(
        response["Location"], {"password1": new, "password2": new}, REMOTE_ADDR="10.1.1.1"
    )
    assert response.status_code == 302
    assert _login(client, email, new, "10.1.1.1").status_code == 302
    assert client.session["_auth_user_id"] == str(member.user.pk)


def test_a_forged_known_device_cookie_gives_no_bucket_of_its_own(client):
    member = MemberFactory()
    email = member.user.email
    client.cookies[lockout.DEVICE_COOKIE] = f'["{lockout.account_tag(email)}"]'
    for i in range(5):
        _login(client, email, f"x{i}", f"192.0.2.{i + 1}")
    assert throttled(_login(client, email, PASSWORD, "192.0.2.50"))


# --- X-Real-IP only from a trusted proxy ----------------------------------------------------


def test_a_forged_x_real_ip_from_an_untrusted_peer_changes_nothing(client, settings):
    settings.TRUSTED_CLIENT_IP_HEADER = "X-Real-IP"
    settings.TRUSTED_PROXIES = ["127.0.0.1", "::1", "10.20.0.0/16"]
    settings.API_RATE_LIMIT_ANON = 3
    from core.audit import client_ip

    # The API limiter: rotating the header from one outside address gains nothing.
    answers = [
        client.get("/api/v1/ping", REMOTE_ADDR="203.0.113.9", HTTP_X_REAL_IP=f"1.1.1.{i}")
        for i in range(4)
    ]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    # allauth's login limits: the same (10 failures per minute per address).
    member = MemberFactory()
    for i in range(10):
        _forged = {"HTTP_X_REAL_IP": f"2.2.2.{i}"}
        client.post(
            reverse("account_login"),
            {"login": f"n{i}@example.ng", "password": "x"},
            REMOTE_ADDR="203.0.113.10",
            **_forged,
        )
    response = client.post(
        reverse("account_login"),
        {"login": member.user.email, "password": "x"},
        REMOTE_ADDR="203.0.113.10",
        HTTP_X_REAL_IP="2.2.2.99",
    )
    assert throttled(response)
    # The audit log records the peer, not the header.
    from django.test import RequestFactory

    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.11", HTTP_X_REAL_IP="9.9.9.9")
    assert client_ip(request) == "203.0.113.11"
    from core import audit
    from core.logging import set_request_context

    # The audit trail reads the address of the request being served (RequestIdMiddleware).
    set_request_context("forged-ip-test", request=request)
    try:
        audit.record(actor=None, action="test.forged_ip")
    finally:
        set_request_context(None)
    assert str(AuditEvent.objects.get(action="test.forged_ip").ip) == "203.0.113.11"
    # From nginx (a trusted proxy, also by CIDR) the header is the client.
    for peer in ("127.0.0.1", "10.20.3.4"):
        request = RequestFactory().get("/", REMOTE_ADDR=peer, HTTP_X_REAL_IP="9.9.9.9")
        assert client_ip(request) == "9.9.9.9"
    from members.adapters import AccountAdapter

    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.12", HTTP_X_REAL_IP="9.9.9.9")
    assert AccountAdapter().get_client_ip(request) == "203.0.113.12"


# --- The demo seeder and development routes in production -----------------------------------


def test_seed_demo_refuses_to_run_with_debug_false(settings):
    from django.core.management import CommandError, call_command

    from members.models import User

    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG=true"):
        call_command("seed_demo")
    assert not User.objects.filter(is_superuser=True).exists()
    assert not User.objects.filter(email__endswith="@allaweeplus.test").exists()


def _production(code: str, **extra):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DEBUG", "SECRET", "PII", "ALLOWED", "DATABASE", "REDIS", "SIMULATED"))
        and k not in {"ALLOW_SIMULATED_PROVIDER", "PAYMENTS_PROVIDER", "SMS_PROVIDER"}
    }
    env.update(
        DEBUG="false",
        SECRET_KEY="s" * 60,
        ALLOWED_HOSTS="allaweeplus.example",
        PII_ENCRYPTION_KEYS="ZmVybmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY=",
        PII_HMAC_KEY="hmac",
        DJANGO_SETTINGS_MODULE="config.settings",
        **extra,
    )
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + code],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
    )


ROUTES_OF = """
from django.urls import Resolver404, resolve
for path in ("/webhooks/simulated", "/payments/simulated/checkout/CHK123/"):
    try:
        resolve(path)
        print("routed", path)
    except Resolver404:
        print("404", path)
"""


def test_development_routes_are_not_routed_in_production():
    result = _production(ROUTES_OF, PAYMENTS_PROVIDER="paystack")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "404",
        "/webhooks/simulated",
        "404",
        "/payments/simulated/checkout/CHK123/",
    ]


def test_the_loopback_demo_needs_a_simulated_provider_secret_of_its_own():
    demo = {"PAYMENTS_PROVIDER": "simulated", "ALLOW_SIMULATED_PROVIDER": "true"}
    result = _production(ROUTES_OF, **demo)
    assert result.returncode != 0 and "SIMULATED_PROVIDER_SECRET is required" in result.stderr
    result = _production(
        ROUTES_OF + "from django.conf import settings\n"
        "print(settings.SIMULATED_PROVIDER_SECRET != settings.SECRET_KEY)",
        SIMULATED_PROVIDER_SECRET="demo-webhook-secret",
        **demo,
    )
    assert result.returncode == 0, result.stderr
    assert "routed /webhooks/simulated" in result.stdout and result.stdout.split()[-1] == "True"


def test_development_never_signs_simulated_webhooks_with_the_secret_key(settings):
    assert settings.SIMULATED_PROVIDER_SECRET
    assert settings.SIMULATED_PROVIDER_SECRET != settings.SECRET_KEY
