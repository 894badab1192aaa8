"""Settings safety, health endpoints, the audit trail and logs."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from core import audit
from core.logging import JsonFormatter
from core.models import AuditEvent

ROOT = Path(__file__).resolve().parents[2]


def run_settings(**env):
    """Import the real settings in a fresh interpreter with only the given variables."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DEBUG", "SECRET", "PII", "ALLOWED", "DATABASE", "REDIS"))
    }
    base.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import config.settings as s; print(s.PASSWORD_HASHERS[0])"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = run_settings(DEBUG="false", ALLOWED_HOSTS="allaweeplus.ng")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_a_weak_secret_key():
    result = run_settings(DEBUG="false", ALLOWED_HOSTS="x.ng", SECRET_KEY="short")
    assert result.returncode != 0 and "too weak" in result.stderr


def test_production_refuses_missing_allowed_hosts_and_pii_keys():
    strong = "k" * 60
    result = run_settings(DEBUG="false", SECRET_KEY=strong)
    assert result.returncode != 0 and "ALLOWED_HOSTS" in result.stderr
    result = run_settings(DEBUG="false", SECRET_KEY=strong, ALLOWED_HOSTS="x.ng")
    assert result.returncode != 0 and "PII_ENCRYPTION_KEYS" in result.stderr


def test_secret_key_can_come_from_a_file(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("f" * 60)
    result = run_settings(
        DEBUG="false",
        SECRET_KEY_FILE=str(secret),
        ALLOWED_HOSTS="x.ng",
        PII_ENCRYPTION_KEYS="ZmVybmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY=",
        PII_HMAC_KEY="hmac",
    )
    assert result.returncode == 0, result.stderr


def test_argon2_is_the_production_password_hasher():
    result = run_settings(DEBUG="true")
    assert result.stdout.strip() == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_healthz_is_alive(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_each_dependency(client):
    body = client.get("/readyz").json()
    assert body["status"] == "ok"
    assert {"database", "cache", "queue"} <= set(body["checks"])
    assert all(check["ok"] for check in body["checks"].values())


@pytest.mark.django_db
def test_readyz_is_503_when_the_database_is_down(client, monkeypatch):
    from core import views

    def broken():
        raise ConnectionError("down")

    monkeypatch.setattr(views, "_check_database", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == {
        "ok": False,
        "error": "ConnectionError",
        "ms": response.json()["checks"]["database"]["ms"],
    }


@pytest.mark.django_db
def test_audit_events_cannot_be_edited_or_deleted(member):
    event = audit.record(actor=None, action="test.action", obj=member, changes={"a": [1, 2]})
    event.action = "rewritten"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "test.action"


@pytest.mark.django_db(transaction=True)
def test_database_refuses_audit_updates_on_postgresql(member):
    from django.db import DatabaseError, connection

    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger exists on PostgreSQL only")
    event = audit.record(actor=None, action="test.action", obj=member)
    with pytest.raises(DatabaseError, match="append-only"):
        AuditEvent.objects.filter(pk=event.pk).update(action="rewritten")


@pytest.mark.django_db
def test_audit_list_is_searchable_by_permitted_staff(client, officer, member):
    audit.record(actor=officer, action="member.kyc_verified", obj=member)
    client.force_login(officer)
    body = client.get(reverse("audit_list"), {"action": "member.kyc"}).content.decode()
    assert "member.kyc_verified" in body


def test_json_log_lines_redact_anything_shaped_like_a_bvn():
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "lookup 22198765432 failed", None, None
    )
    line = json.loads(JsonFormatter().format(record))
    assert "22198765432" not in line["message"] and "[redacted]" in line["message"]


def test_security_headers_on_every_page(client):
    response = client.get("/")
    assert "nonce-" in response["Content-Security-Policy"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "camera=()" in response["Permissions-Policy"]
    assert response["X-Request-ID"]
