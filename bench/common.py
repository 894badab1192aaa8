"""What the benchmark scripts share: psql against the local server, and the environment a
benchmark runs Django with against one of its databases."""

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The SECRET_KEY development mode derives PII keys from, so databases seeded by seed_scale in
# development mode stay readable to the benchmarks.
DEV_SECRET = "django-insecure-local-development-only-never-in-production"


def psql(sql: str, database: str = "postgres", capture: bool = False):
    """Run one statement with psql as ``postgres`` on 127.0.0.1 (tuples only, unaligned)."""
    return subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qAt", "-c", sql, database],
        check=True,
        capture_output=capture,
        text=True,
    )


def database_exists(name: str) -> bool:
    found = psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'", capture=True)
    return found.stdout.strip() == "1"


def django_environment(database: str) -> dict:
    """os.environ plus production-like settings (DEBUG off) on PostgreSQL ``database``,
    without Redis, for in-process benchmarks and the commands that seed for them."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from core.crypto import derive_dev_keys

    fernet, hmac_key = derive_dev_keys(DEV_SECRET)
    env = {
        "PII_ENCRYPTION_KEYS": fernet,
        "PII_HMAC_KEY": hmac_key,
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        "DATABASE_STATEMENT_TIMEOUT_MS": "0",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "TESTING": "true",  # static files without a collectstatic manifest
        "SECRET_KEY": "bench-" + "x" * 60,
        "ALLOWED_HOSTS": "testserver",
        "SECURE_SSL_REDIRECT": "false",
        "MFA_REQUIRED_FOR_STAFF": "false",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    return env


def timed(client, url, params=None, headers=None, repeat=15):
    """Server time of ``repeat`` GETs through Django's test client after two warm-ups:
    median and p95 ms, and the queries of one more request."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    headers = headers or {}
    for _ in range(2):  # warm caches (templates, plans, shared buffers)
        response = client.get(url, params or {}, headers=headers)
        assert response.status_code == 200, (url, params, response.status_code)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(url, params or {}, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {}, headers=headers)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return {"median": statistics.median(times), "p95": p95, "queries": len(ctx), "body": response}
