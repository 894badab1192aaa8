"""Sign-in throttling that nobody can aim at someone else's account.

allauth's per-account limit ("5 failed logins per 5 minutes per e-mail") also refuses the
right password, so anyone who knows a staff e-mail could keep that person out of the back
office by failing five times every five minutes. Here the account-level limit counts only
failures from browsers that have never signed in to that account: a browser that has (it
carries a signed "known device" cookie naming the account) has a bucket of its own, which
an attacker cannot fill without first signing in. The attacker's address is held back
instead, with a delay that doubles on each further attempt. The owner hears about it (one
e-mail per window), and a password reset empties the account's counters.

The wrong-MFA-code limit (allauth's ``mfa-auth-user-<id>`` key) is reachable only after the
right password, so it cannot be aimed by someone who does not already hold the password.
"""

import time

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.utils.crypto import salted_hmac

DEVICE_COOKIE = "awp_known_device"
DEVICE_COOKIE_MAX_AGE = 180 * 24 * 60 * 60
_DEVICE_SALT = "members.lockout.known-device"
_MAX_ACCOUNTS_PER_DEVICE = 10


def account_tag(login: str) -> str:
    """A keyed hash of the sign-in e-mail: the cookie never shows whose account it names."""
    value = (login or "").strip().lower()
    return salted_hmac(_DEVICE_SALT, value, algorithm="sha256").hexdigest()[:24]


def _device_tags(request) -> list[str]:
    raw = request.COOKIES.get(DEVICE_COOKIE)
    if not raw:
        return []
    try:
        tags = signing.loads(raw, salt=_DEVICE_SALT, max_age=DEVICE_COOKIE_MAX_AGE)
    except signing.BadSignature:
        return []
    return [tag for tag in tags if isinstance(tag, str)] if isinstance(tags, list) else []


def is_known_device(request, login: str) -> bool:
    return account_tag(login) in _device_tags(request)


def remember_device(request, response, login: str) -> None:
    """After a complete sign-in (password and, where required, TOTP)."""
    tag = account_tag(login)
    tags = [tag] + [t for t in _device_tags(request) if t != tag]
    response.set_cookie(
        DEVICE_COOKIE,
        signing.dumps(tags[:_MAX_ACCOUNTS_PER_DEVICE], salt=_DEVICE_SALT),
        max_age=DEVICE_COOKIE_MAX_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


# --- The attacker's address: a delay that doubles ------------------------------------------


def _ip_key(ip: str) -> str:
    return f"login-ip-failures:{ip}"


def ip_retry_after(ip: str | None) -> int:
    """Seconds this address must still wait before its next sign-in attempt is heard."""
    if not ip:
        return 0
    entry = cache.get(_ip_key(ip))
    if not entry:
        return 0
    return max(0, int(entry["until"] - time.time() + 0.999))


def note_ip_failure(ip: str | None) -> int:
    """Count a failed (or refused) attempt of this address; returns the delay now imposed.

    The first LOGIN_IP_FREE_FAILURES within LOGIN_IP_WINDOW_SECONDS cost nothing (typos);
    each one after that doubles the wait, up to LOGIN_IP_MAX_DELAY_SECONDS. Attempts made
    while waiting count too, so hammering only makes the wait longer."""
    if not ip:
        return 0
    now = time.time()
    entry = cache.get(_ip_key(ip))
    if not entry or now - entry["first"] > settings.LOGIN_IP_WINDOW_SECONDS:
        entry = {"first": now, "count": 0, "until": 0}
    entry["count"] += 1
    over = entry["count"] - settings.LOGIN_IP_FREE_FAILURES
    delay = 0
    if over > 0:
        delay = min(2 ** min(over, 32), settings.LOGIN_IP_MAX_DELAY_SECONDS)
        entry["until"] = now + delay
    ttl = max(settings.LOGIN_IP_WINDOW_SECONDS, delay) + 60
    cache.set(_ip_key(ip), entry, ttl)
    return delay


def clear_ip(ip: str | None) -> None:
    if ip:
        cache.delete(_ip_key(ip))


# --- The owner's notice --------------------------------------------------------------------


def note_account_failure(login: str) -> int | None:
    """Count a failed or refused attempt on this account from an unknown browser.

    Returns the count when the owner should be told now (the first time it reaches
    LOGIN_NOTICE_AFTER_FAILURES within LOGIN_NOTICE_WINDOW_SECONDS), else None."""
    tag = account_tag(login)
    now = time.time()
    window = settings.LOGIN_NOTICE_WINDOW_SECONDS
    key = f"login-account-failures:{tag}"
    entry = cache.get(key)
    if not entry or now - entry["first"] > window:
        entry = {"first": now, "count": 0, "notified": False}
    entry["count"] += 1
    due = not entry["notified"] and entry["count"] >= settings.LOGIN_NOTICE_AFTER_FAILURES
    if due:
        entry["notified"] = True
    cache.set(key, entry, window + 60)
    return entry["count"] if due else None


def clear_account(login: str) -> None:
    cache.delete(f"login-account-failures:{account_tag(login)}")
