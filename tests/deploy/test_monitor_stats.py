"""manage.py monitor_stats, alone and as deploy/monitor.sh runs it."""

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from core import metrics
from payments.models import Payment, PaymentStatus
from reports.management.commands.monitor_stats import access_log_stats
from tests.deploy.conftest import ROOT, run_script, script_env
from tests.deploy.test_deploy import access_log_line, healthy, monitor_env
from tests.factories import active_loan, on_commit


def stats(*args) -> dict:
    out = StringIO()
    call_command("monitor_stats", *args, stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db(transaction=True)
def test_monitor_stats_counts_failed_payments_in_the_window_only():
    with on_commit(execute=True):
        loan = active_loan()
    for n, age in enumerate((timedelta(minutes=1), timedelta(minutes=2), timedelta(hours=3))):
        payment = Payment.objects.create(
            reference=f"PAY-F-{n}",
            provider="simulated",
            channel="checkout",
            loan=loan,
            member=loan.member,
            amount=1_000_00,
            status=PaymentStatus.FAILED,
        )
        Payment.objects.filter(pk=payment.pk).update(created_at=timezone.now() - age)
    result = stats("--minutes", "5")
    assert result["failed_payments"] == 2
    assert result["failed_disbursements"] == 0
    assert result["pending_tasks"] == 0 and result["errors"] == []
    assert stats("--minutes", "600")["failed_payments"] == 3


@pytest.mark.django_db
def test_monitor_stats_counts_recent_task_failures():
    class FailedTask:
        name = "send_disbursement_task"

    before = stats()["failed_tasks"]
    metrics.record_task_event("error", FailedTask())
    metrics.record_task_event("error", FailedTask())
    metrics.record_task_event("retrying", FailedTask())
    assert stats()["failed_tasks"] == before + 2


@pytest.mark.django_db
def test_monitor_stats_reads_error_rate_and_p95_from_access_logs(tmp_path):
    now = datetime.now(UTC)
    log = tmp_path / "access.log"
    lines = [access_log_line(now - timedelta(hours=1), 500, 5_000_000) for _ in range(10)]
    lines += [access_log_line(now - timedelta(seconds=10), 200, 30_000) for _ in range(18)]
    lines += [access_log_line(now - timedelta(seconds=5), 503, 700_000) for _ in range(2)]
    lines.append("garbage line\n")
    log.write_text("".join(lines))
    result = stats("--access-log", str(log), "--access-log", str(tmp_path / "missing.log"))
    assert result["requests"] == 20
    assert result["error_rate"] == 0.1
    assert result["p95_ms"] == 700
    assert result["errors"] == [f"access log not readable: {tmp_path / 'missing.log'}"]


def test_access_log_p95_is_the_nearest_rank():
    now = datetime.now(UTC)
    path_lines = [access_log_line(now, 200, ms * 1000) for ms in range(1, 101)]
    from pathlib import Path
    from tempfile import NamedTemporaryFile

    with NamedTemporaryFile("w", suffix=".log", delete=False) as file:
        file.writelines(path_lines)
    try:
        assert access_log_stats([Path(file.name)], 5) == {
            "requests": 100,
            "error_rate": 0.0,
            "p95_ms": 95,
        }
    finally:
        Path(file.name).unlink()


@pytest.mark.postgres
@pytest.mark.django_db
def test_monitor_stats_compares_database_connections_with_the_limit():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    result = stats()
    assert result["db_connections"] >= 1
    assert result["db_max_connections"] >= result["db_connections"]
    expected = round(result["db_connections"] * 100 / result["db_max_connections"], 1)
    assert result["db_connections_pct"] == expected


# --- monitor.sh with the real command ----------------------------------------------------------


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory):
    """A migrated SQLite file the monitor's own manage.py process can open."""
    database = tmp_path_factory.mktemp("monitor-db") / "db.sqlite3"
    env = script_env(
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=f"sqlite:///{database}",
        HUEY_SQLITE_PATH=str(database.parent / "huey.sqlite3"),
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=300
    )
    return env


def test_monitor_alerts_on_a_stopped_worker_and_raised_error_rate_with_real_stats(
    local_server, alert_receiver, migrated_sqlite, tmp_path
):
    healthy(local_server)
    dead = subprocess.Popen(["true"])
    dead.wait()
    (tmp_path / "worker.pid").write_text(f"{dead.pid}\n")
    now = datetime.now(UTC)
    log = tmp_path / "access-8101.log"
    lines = [access_log_line(now - timedelta(seconds=30), 200, 40_000) for _ in range(60)]
    lines += [access_log_line(now - timedelta(seconds=10), 500, 90_000) for _ in range(15)]
    log.write_text("".join(lines))
    env = monitor_env(
        local_server.url,
        alert_receiver.url,
        MONITOR_PIDFILES=str(tmp_path / "worker.pid"),
        MONITOR_ACCESS_LOG=str(log),
        MONITOR_MANAGE_CMD=f"{sys.executable} manage.py",
        **{k: migrated_sqlite[k] for k in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")},
        HUEY_SQLITE_PATH=migrated_sqlite["HUEY_SQLITE_PATH"],
    )
    result = run_script("monitor.sh", env=env, timeout=180)
    assert result.returncode == 1, result.stdout + result.stderr
    # The figures from manage.py monitor_stats itself, not a stand-in.
    assert re.search(r"^OK\s+failed-tasks\s+0 tasks failed", result.stdout, re.M)
    assert re.search(r"^OK\s+failed-payouts\s+0 payouts failed", result.stdout, re.M)
    assert re.search(r"^ALERT process\s+worker is not running", result.stdout, re.M)
    assert re.search(r"^ALERT error-rate\s+15 of 75 requests failed", result.stdout, re.M)
    assert len(alert_receiver.posts) == 1
    payload = json.loads(alert_receiver.posts[0]["body"])
    assert payload["status"] == "alert"
    assert {item.split(":")[0] for item in payload["alerts"]} == {"process", "error-rate"}


def monitor_with_stats(local_server, tmp_path, stats: str, **env):
    """monitor.sh against a healthy server, with ``manage.py monitor_stats`` answering
    ``stats`` (a stand-in command in an app tree of its own)."""
    healthy(local_server)
    commands = tmp_path / "portal" / "management" / "commands"
    commands.mkdir(parents=True)
    (commands / "monitor_stats.py").write_text("# stand-in\n")
    fake_manage = tmp_path / "fake-manage"
    fake_manage.write_text(f"#!/bin/bash\necho '{stats}'\n")
    fake_manage.chmod(0o755)
    return run_script(
        "monitor.sh",
        env=monitor_env(
            local_server.url,
            MONITOR_APP_DIR=str(tmp_path),
            MONITOR_MANAGE_CMD=str(fake_manage),
            **env,
        ),
    )


def test_monitor_alerts_on_failed_payouts_and_a_low_cache_hit_rate(local_server, tmp_path):
    result = monitor_with_stats(
        local_server,
        tmp_path,
        '{"failed_tasks": 0, "failed_payments": 0, "failed_disbursements": 4,'
        ' "cache_hit_rate": 0.42, "db_connections_pct": 93.5}',
        MONITOR_MIN_CACHE_HIT_RATE="0.8",
    )
    assert result.returncode == 1
    assert re.search(r"^ALERT failed-payouts\s+4 payouts failed .*limit 3", result.stdout, re.M)
    assert re.search(r"^ALERT cache\s+hit rate 0.42 below 0.8", result.stdout, re.M)
    assert re.search(r"^ALERT db-connections\s+93.5% of max_connections", result.stdout, re.M)


def test_monitor_alerts_when_next_months_partition_is_missing(local_server, tmp_path):
    result = monitor_with_stats(
        local_server,
        tmp_path,
        '{"failed_tasks": 0, "partition_future_months_min": 0, "partition_default_rows": 0}',
    )
    assert result.returncode == 1
    assert re.search(r"^ALERT partitions\s+no partition made for next month", result.stdout, re.M)


def test_monitor_alerts_on_rows_in_a_default_partition(local_server, tmp_path):
    result = monitor_with_stats(
        local_server,
        tmp_path,
        '{"failed_tasks": 0, "partition_future_months_min": 3, "partition_default_rows": 12}',
    )
    assert result.returncode == 1
    assert re.search(r"^ALERT partitions\s+12 rows in DEFAULT partitions", result.stdout, re.M)


def test_monitor_is_quiet_about_healthy_partitions_and_sqlite(local_server, tmp_path):
    result = monitor_with_stats(
        local_server,
        tmp_path,
        '{"failed_tasks": 0, "partition_future_months_min": 3, "partition_default_rows": 0}',
    )
    assert re.search(r"^OK\s+partitions\s+3 months ahead", result.stdout, re.M), result.stdout
    sqlite = monitor_with_stats(
        local_server,
        tmp_path / "sqlite",
        '{"failed_tasks": 0, "partition_future_months_min": null, "partition_default_rows": null}',
    )
    assert "partitions" not in sqlite.stdout


def test_monitor_alerts_when_account_mail_waits_or_is_given_up(local_server, tmp_path):
    waiting = monitor_with_stats(
        local_server,
        tmp_path / "waiting",
        '{"failed_tasks": 0, "mail_waiting": 4, "mail_oldest_seconds": 1800, "mail_gave_up": 0}',
    )
    assert waiting.returncode == 1
    assert re.search(
        r"^ALERT mail\s+account mail has waited 1800s \(limit 900s\)", waiting.stdout, re.M
    )
    gave_up = monitor_with_stats(
        local_server,
        tmp_path / "gave-up",
        '{"failed_tasks": 0, "mail_waiting": 0, "mail_oldest_seconds": null, "mail_gave_up": 2}',
    )
    assert re.search(r"^ALERT mail\s+2 account e-mails were given up", gave_up.stdout, re.M)
    flowing = monitor_with_stats(
        local_server,
        tmp_path / "flowing",
        '{"failed_tasks": 0, "mail_waiting": 1, "mail_oldest_seconds": 30, "mail_gave_up": 0}',
    )
    assert re.search(r"^OK\s+mail\s+account mail is going out", flowing.stdout, re.M)
