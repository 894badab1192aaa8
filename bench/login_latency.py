"""Login latency with the production password hasher (Argon2), p50/p95 over N logins.

Usage (against the local PostgreSQL; creates and drops its own database):

    uv run python bench/login_latency.py --count 100

Each login is a real POST to allauth's ``/accounts/login/`` through Django's test ``Client``
(CSRF, rate limits, session creation, Argon2 verification), timed in-process. As the
baseline, the same number of bare ``check_password`` calls with the same hasher is timed, so
the ratio shows how much of a login is the hash itself. Target: p95 < 500 ms.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from common import psql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PASSWORD = "allawee-bench-2026"  # noqa: S105


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--database", default="allaweeplus_scale_login")
    args = parser.parse_args()

    psql(f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)")
    psql(f"CREATE DATABASE {args.database}")
    os.environ.update(
        {
            "DEBUG": "true",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{args.database}",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "ALLOWED_HOSTS": "testserver",
            "LOG_LEVEL": "WARNING",
        }
    )
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from allauth.account.models import EmailAddress
    from django.conf import settings
    from django.contrib.auth.hashers import check_password, get_hasher
    from django.core.management import call_command
    from django.test import Client

    from members.models import User

    call_command("migrate", verbosity=0)
    settings.ACCOUNT_RATE_LIMITS = False  # one client logs in many times on purpose
    hasher = get_hasher("default")
    assert hasher.algorithm == "argon2", hasher.algorithm
    users = []
    for n in range(args.count):
        user = User.objects.create_user(email=f"login{n}@members.allaweeplus.test")
        user.set_password(PASSWORD)
        user.save()
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        users.append(user)

    logins = []
    for user in users:
        client = Client()
        started = time.perf_counter()
        response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
        logins.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 302, response.status_code
    encoded = users[0].password
    hashes = []
    for _ in range(args.count):
        started = time.perf_counter()
        assert check_password(PASSWORD, encoded)
        hashes.append((time.perf_counter() - started) * 1000)

    print(f"\n{'what':<32}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    for label, values in (("login POST (Argon2)", logins), ("check_password alone", hashes)):
        print(
            f"{label:<32}{len(values):>6}{statistics.median(values):>9.1f}"
            f"{percentile(values, 0.95):>9.1f}{max(values):>9.1f}"
        )
    p95 = percentile(logins, 0.95)
    share = statistics.median(hashes) / statistics.median(logins)
    print(f"\nlogin p95 {p95:.0f} ms (target < 500 ms); the hash is {share:.0%} of a login")
    from django.db import connections

    connections.close_all()
    psql(f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)")


if __name__ == "__main__":
    main()
