"""Faults from the deploy issue: bad configuration refuses to start, a missing database or
Redis degrades instead of crashing, and readiness says what is wrong."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_STRONG_KEY = "k" * 60


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("DEBUG", "SECRET", "PII", "ALLOWED", "DATABASE", "REDIS", "DJANGO", "TESTING")
        )
    }
    base.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=base, capture_output=True, text=True
    )


def import_settings(**env) -> subprocess.CompletedProcess:
    return run_python("import config.settings", **env)


@pytest.mark.parametrize("hosts", ["allaweeplus.ng", "localhost,allaweeplus.ng", "*", "8.8.8.8"])
def test_debug_refuses_to_start_with_a_public_host(hosts):
    result = import_settings(DEBUG="true", ALLOWED_HOSTS=hosts)
    assert result.returncode != 0
    assert "DEBUG=True with a public host" in result.stderr


@pytest.mark.parametrize(
    "hosts", ["localhost,127.0.0.1,[::1]", "192.168.1.20", "awp.localhost", "allaweeplus.test"]
)
def test_debug_is_allowed_on_loopback_and_private_hosts(hosts):
    result = import_settings(DEBUG="true", ALLOWED_HOSTS=hosts)
    assert result.returncode == 0, result.stderr


PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": _STRONG_KEY,
    "ALLOWED_HOSTS": "testserver",
    "PII_ENCRYPTION_KEYS": "ZmVybmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY=",
    "PII_HMAC_KEY": "hmac-key-for-tests",
    "PAYMENTS_PROVIDER": "manual",
    "TESTING": "true",
    "DJANGO_SETTINGS_MODULE": "config.settings",
}

_PROBE = """
import json
from config.wsgi import application  # what gunicorn imports at start
from django.test import Client
client = Client()
health = client.get("/healthz")
ready = client.get("/readyz")
print(json.dumps({"healthz": health.status_code, "readyz": ready.status_code,
                  "checks": ready.json()["checks"]}))
"""


def test_the_app_starts_with_the_database_down_and_readyz_says_so(tmp_path):
    result = run_python(
        _PROBE,
        **PRODUCTION,
        DATABASE_URL="postgres://allaweeplus@127.0.0.1:9/allaweeplus",
        DATABASE_POOL_TIMEOUT="1",
        HUEY_SQLITE_PATH=str(tmp_path / "huey.sqlite3"),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["healthz"] == 200, "the process is alive: systemd must not restart-loop it"
    assert probe["readyz"] == 503, "nginx and deploy.sh must not send traffic to it"
    assert probe["checks"]["database"]["ok"] is False
    assert probe["checks"]["cache"]["ok"] is True


@pytest.mark.django_db
def test_redis_down_turns_readyz_red_but_pages_and_sessions_keep_working(
    client, member, redis_down
):
    from django.core.cache import cache

    assert cache.get("anything", "default") == "default"  # a miss, not an exception
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["cache"]["ok"] is False
    assert ready.json()["checks"]["database"]["ok"] is True
    assert client.get("/").status_code == 200
    assert client.get("/accounts/login/").status_code == 200
    # Sessions are written through to the database: signing in and staying signed in work.
    client.force_login(member.user)
    response = client.get("/", follow=True)
    assert response.status_code == 200
    assert response.context["user"] == member.user
