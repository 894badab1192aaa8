"""What the benchmark scripts share: psql against the local server, and the environment a
benchmark runs Django with against one of its databases."""

import os
import subprocess
import sys
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
    from portal.crypto import derive_dev_keys

    fernet, hmac_key = derive_dev_keys(DEV_SECRET)
    env = {
        "PII_ENCRYPTION_KEYS": fernet,
        "PII_HMAC_KEY": hmac_key,
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        "DATABASE_STATEMENT_TIMEOUT_MS": "0",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
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
