"""The deploy kit, tested at the shell level: scripts run as subprocesses on this machine.

The PostgreSQL tests (backup, restore, drill, retention) run when DATABASE_URL points at
PostgreSQL, as in `make test-postgres` / CI; they create and drop their own databases.
"""

import grp
import json
import os
import pwd
import re
import runpy
import shutil
import stat
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.deploy.conftest import (
    DEPLOY,
    ROOT,
    SCRIPTS,
    needs_postgres,
    run_script,
    script_env,
)

# --- every script -----------------------------------------------------------------------------


def test_the_kit_has_every_script():
    names = {path.name for path in SCRIPTS}
    assert {
        "backup.sh",
        "backup_drill.sh",
        "deploy.sh",
        "lib.sh",
        "monitor.sh",
        "prod-local.sh",
        "render-nginx.sh",
        "restore.sh",
    } <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_script_passes_bash_syntax_check(script):
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_script_is_strict_and_executable(script):
    text = script.read_text()
    if script.name != "lib.sh":  # sourced, never run
        assert "set -euo pipefail" in text
        assert script.stat().st_mode & stat.S_IXUSR, f"chmod +x {script}"


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_scripts_pass_shellcheck():
    result = subprocess.run(
        ["shellcheck", "-x", *[str(path.relative_to(ROOT)) for path in SCRIPTS]],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "script", ["backup.sh", "restore.sh", "backup_drill.sh", "deploy.sh", "monitor.sh"]
)
def test_script_explains_itself_with_help(script):
    result = run_script(script, "--help")
    assert result.returncode == 0
    assert "deploy/" in result.stdout


# --- environment template ---------------------------------------------------------------------

SETTING_VARIABLE = re.compile(r"\benv(?:_bool|_int|_list)?\(\s*\"([A-Z][A-Z0-9_]*)\"")


def env_example_lines() -> list[str]:
    return (DEPLOY / ".env.example").read_text().splitlines()


def test_env_example_documents_every_variable_the_settings_read():
    settings_variables = set(SETTING_VARIABLE.findall((ROOT / "config/settings.py").read_text()))
    assert len(settings_variables) > 30
    lines = env_example_lines()
    documented = {}
    for number, line in enumerate(lines):
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=", line)
        if match:
            documented[match.group(1)] = number
    missing = sorted(settings_variables - documented.keys())
    assert not missing, f"add to deploy/.env.example: {missing}"
    for name, number in documented.items():
        previous = lines[number - 1]
        assert previous.startswith("# ") and not re.match(r"^#\s*[A-Z0-9_]+=", previous), (
            f"{name} needs a one-line comment above it"
        )


def test_env_example_holds_placeholders_not_secrets():
    values = dict(
        line.split("=", 1) for line in env_example_lines() if re.match(r"^[A-Z][A-Z0-9_]*=", line)
    )
    for name in ("SECRET_KEY", "PII_ENCRYPTION_KEYS", "PII_HMAC_KEY", "EMAIL_HOST_PASSWORD"):
        assert "change-me" in values[name], name
    assert "change-me" in values["PAYSTACK_SECRET_KEY"]
    assert values["DEBUG"] == "false"
    # Per-instance values come from the unit file; in the env file they would win over it.
    assert "GUNICORN_BIND" not in values
    assert "GUNICORN_ACCESS_LOG" not in values


# --- nginx ------------------------------------------------------------------------------------


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def render_nginx(tmp_path: Path, *extra_args: str, **overrides: str):
    env = script_env(
        NGINX_TLS_CERT=str(tmp_path / "cert.pem"),
        NGINX_TLS_KEY=str(tmp_path / "key.pem"),
        NGINX_LOG_DIR=str(tmp_path / "logs"),
        NGINX_TEMP_DIR=str(tmp_path / "tmp"),
        NGINX_PID_FILE=str(tmp_path / "nginx.pid"),
        NGINX_STATIC_ROOT=str(tmp_path / "staticfiles"),
        NGINX_ACME_ROOT=str(tmp_path / "acme"),
        NGINX_USER=f"{pwd.getpwuid(os.getuid()).pw_name} {grp.getgrgid(os.getgid()).gr_name}",
        **overrides,
    )
    output = tmp_path / "nginx.conf"
    result = run_script("render-nginx.sh", "--output", str(output), *extra_args, env=env)
    return result, output


@pytest.mark.skipif(
    shutil.which("nginx") is None or shutil.which("openssl") is None,
    reason="needs nginx and openssl",
)
def test_rendered_nginx_config_passes_nginx_t(tmp_path):
    self_signed_certificate(tmp_path)
    result, output = render_nginx(tmp_path, "--test")
    assert result.returncode == 0, result.stderr
    check = subprocess.run(["nginx", "-t", "-c", str(output)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    assert "test is successful" in check.stderr


def test_rendered_nginx_config_has_the_production_rules(tmp_path):
    result, output = render_nginx(tmp_path, NGINX_HTTPS_LISTEN="127.0.0.1:8443")
    assert result.returncode == 0, result.stderr
    conf = output.read_text()
    assert not re.search(r"@@[A-Z0-9_]+@@", conf)
    assert re.search(r"events\s*\{", conf) and re.search(r"http\s*\{", conf)
    assert "server 127.0.0.1:8101 " in conf and "server 127.0.0.1:8102 " in conf
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in conf
    assert "return 301 https://$host:8443$request_uri;" in conf
    assert 'Strict-Transport-Security "max-age=63072000; includeSubDomains; preload"' in conf
    assert "gzip on;" in conf
    assert "client_max_body_size 6m;" in conf
    for path in ("/accounts/login/", "/admin/login/", "/accounts/password/reset/"):
        block = re.search(rf"location \^~ {re.escape(path)} \{{(.*?)\}}", conf, re.S)
        assert block and "zone=allaweeplus_login" in block.group(1), path
    api = re.search(r"location \^~ /api/ \{(.*?)\}", conf, re.S)
    assert api and "zone=allaweeplus_api" in api.group(1)
    for header in (
        "X-Forwarded-For $proxy_add_x_forwarded_for",
        "X-Forwarded-Proto $scheme",
        "X-Real-IP $remote_addr",
        "X-Request-ID $request_id",
    ):
        assert f"proxy_set_header {header};" in conf
    assert f"alias {tmp_path / 'staticfiles'}/;" in conf
    assert "immutable" in conf


def test_nginx_never_serves_private_documents(tmp_path):
    result, output = render_nginx(tmp_path)
    assert result.returncode == 0, result.stderr
    conf = output.read_text()
    served = re.findall(r"^\s*(?:root|alias)\s+([^;]+);", conf, re.M)
    assert served, "expected the static alias and the maintenance page root"
    for directory in served:
        assert "private" not in directory and not directory.rstrip("/").endswith("var")
    locations = re.findall(r"location\s+[^{]*\{", conf)
    assert not [loc for loc in locations if "documents" in loc or "private" in loc]


def test_render_refuses_private_documents_under_a_served_directory(tmp_path):
    result, _ = render_nginx(tmp_path, PRIVATE_MEDIA_ROOT=str(tmp_path / "staticfiles" / "private"))
    assert result.returncode != 0
    assert "PRIVATE_MEDIA_ROOT" in result.stderr


def test_render_refuses_a_bad_upstream(tmp_path):
    result, _ = render_nginx(tmp_path, NGINX_UPSTREAMS="127.0.0.1")
    assert result.returncode != 0
    assert "not host:port" in result.stderr


# --- gunicorn ---------------------------------------------------------------------------------


def load_gunicorn_config(monkeypatch, **env: str) -> dict:
    for name in ("GUNICORN_WORKERS", "GUNICORN_THREADS", "GUNICORN_BIND", "GUNICORN_ACCESS_LOG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))


def test_gunicorn_defaults_follow_the_cpu_count(monkeypatch):
    config = load_gunicorn_config(monkeypatch)
    assert config["workers"] == (os.cpu_count() or 1) * 2 + 1
    assert config["threads"] == 4
    assert config["worker_class"] == "gthread"
    assert config["preload_app"] is True
    assert (config["max_requests"], config["max_requests_jitter"]) == (2000, 200)
    assert (config["timeout"], config["graceful_timeout"]) == (30, 30)
    assert config["forwarded_allow_ips"] == "127.0.0.1"
    assert "%(D)s" in config["access_log_format"]
    assert "%({x-request-id}i)s" in config["access_log_format"]


def test_gunicorn_reads_its_environment(monkeypatch):
    config = load_gunicorn_config(
        monkeypatch, GUNICORN_WORKERS="3", GUNICORN_THREADS="8", GUNICORN_BIND="127.0.0.1:8102"
    )
    assert (config["workers"], config["threads"], config["bind"]) == (3, 8, "127.0.0.1:8102")
    assert config["proc_name"] == "allaweeplus-web-8102"


def test_gunicorn_refuses_a_nonsense_worker_count(monkeypatch):
    with pytest.raises(SystemExit, match="GUNICORN_WORKERS"):
        load_gunicorn_config(monkeypatch, GUNICORN_WORKERS="many")


def test_gunicorn_access_log_time_is_sortable_utc(monkeypatch):
    config = load_gunicorn_config(monkeypatch)
    logger_class = config["logger_class"]
    stamp = logger_class.now(None)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp)


# --- systemd ----------------------------------------------------------------------------------


def unit(name: str) -> str:
    return (DEPLOY / "systemd" / name).read_text()


def test_web_unit_runs_one_hardened_gunicorn_per_port():
    text = unit("allaweeplus-web@.service")
    assert "EnvironmentFile=/etc/allaweeplus/env" in text
    assert "Environment=GUNICORN_BIND=127.0.0.1:%i" in text
    assert re.search(
        r"ExecStart=\S*uv run --frozen .*gunicorn -c deploy/gunicorn.conf.py config.wsgi", text
    )
    for line in (
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
        "ReadWritePaths=/srv/allaweeplus/shared/private /srv/allaweeplus/shared/var",
    ):
        assert line in text


def test_worker_unit_runs_huey_with_a_graceful_stop():
    text = unit("allaweeplus-worker.service")
    assert "manage.py run_huey" in text
    assert "KillSignal=SIGINT" in text
    assert "ProtectSystem=strict" in text


def test_backup_timer_runs_daily_at_half_past_two_lagos_time():
    assert "OnCalendar=*-*-* 02:30:00 Africa/Lagos" in unit("allaweeplus-backup.timer")
    assert "Persistent=true" in unit("allaweeplus-backup.timer")
    assert "deploy/backup.sh" in unit("allaweeplus-backup.service")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_backup_timer_calendar_is_valid():
    result = subprocess.run(
        ["systemd-analyze", "calendar", "*-*-* 02:30:00 Africa/Lagos"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "UTC" in result.stdout or "Next elapse" in result.stdout


# --- backup, restore, drill (PostgreSQL) ------------------------------------------------------


def backup_env(tmp_path: Path, database_url: str, **extra: str) -> dict[str, str]:
    return script_env(
        DATABASE_URL=database_url,
        BACKUP_DIR=str(tmp_path / "backups"),
        PRIVATE_MEDIA_ROOT=str(tmp_path / "private"),
        **extra,
    )


def test_backup_needs_a_database_url(tmp_path):
    result = run_script("backup.sh", env=script_env(BACKUP_DIR=str(tmp_path)))
    assert result.returncode != 0
    assert "DATABASE_URL is not set" in result.stderr


@needs_postgres
@pytest.mark.postgres
def test_backup_drill_restores_every_row_and_the_trial_balance(loan_book, tmp_path):
    started = time.monotonic()
    result = run_script(
        "backup_drill.sh", env=script_env(DATABASE_URL=loan_book.url, TMPDIR=str(tmp_path))
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert "row counts equal: 4 tables, 610 rows" in result.stderr
    assert "trial balance balanced in the source: 240 postings" in result.stderr
    assert "trial balance and per-account balances equal after restore" in result.stderr
    summary = re.search(r"^drill ok tables=4 rows=610 .*$", result.stdout, re.M)
    assert summary, result.stdout
    print(f"backup drill on {loan_book.name}: {summary.group(0)} (wall {elapsed:.2f}s)")
    # The scratch copy is gone, the source untouched.
    assert not [
        row
        for row in loan_book.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE '%_drill_%'",
        )
        if row[0].startswith(loan_book.name)
    ]
    assert loan_book.execute("SELECT count(*) FROM loans_loan") == [(120,)]


@needs_postgres
@pytest.mark.postgres
def test_backup_drill_fails_when_the_ledger_does_not_balance(loan_book, tmp_path):
    loan_book.execute(
        "INSERT INTO payments_posting (entry_id, account_id, debit_kobo) VALUES (999, 5, 1)"
    )
    result = run_script(
        "backup_drill.sh", env=script_env(DATABASE_URL=loan_book.url, TMPDIR=str(tmp_path))
    )
    assert result.returncode == 1
    assert "TRIAL BALANCE DOES NOT BALANCE" in result.stderr


@needs_postgres
@pytest.mark.postgres
def test_backup_drill_says_when_there_is_no_ledger_yet(scratch_db, tmp_path):
    scratch_db.execute("CREATE TABLE portal_thing (id int); INSERT INTO portal_thing VALUES (1)")
    result = run_script(
        "backup_drill.sh", env=script_env(DATABASE_URL=scratch_db.url, TMPDIR=str(tmp_path))
    )
    assert result.returncode == 0, result.stderr
    assert "ledger check skipped: table payments_posting does not exist" in result.stderr


@needs_postgres
@pytest.mark.postgres
def test_backup_writes_verified_dump_media_archive_and_checksums(loan_book, tmp_path):
    (tmp_path / "private" / "documents").mkdir(parents=True)
    (tmp_path / "private" / "documents" / "call-up.pdf").write_bytes(b"%PDF-1.4 call-up letter")
    result = run_script("backup.sh", env=backup_env(tmp_path, loan_book.url))
    assert result.returncode == 0, result.stderr
    dump = Path(re.search(r"^dump_file=(.+)$", result.stdout, re.M).group(1))
    media = Path(re.search(r"^media_file=(.+)$", result.stdout, re.M).group(1))
    assert re.fullmatch(rf"allaweeplus-db-{loan_book.name}-\d{{8}}T\d{{6}}Z\.dump", dump.name)
    assert media.name.endswith(".tar.gz")
    for file in (dump, media):
        check = subprocess.run(
            ["sha256sum", "-c", f"{file.name}.sha256"], cwd=file.parent, capture_output=True
        )
        assert check.returncode == 0
    listing = subprocess.run(["pg_restore", "--list", str(dump)], capture_output=True, text=True)
    assert "TABLE DATA public loans_loan" in listing.stdout
    archive = subprocess.run(["tar", "-tzf", str(media)], capture_output=True, text=True)
    assert "private/documents/call-up.pdf" in archive.stdout
    assert not list((tmp_path / "backups").glob(".partial-*"))
    # Backups hold personal data: owner-only.
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600


@needs_postgres
@pytest.mark.postgres
def test_restore_refuses_a_corrupted_dump(loan_book, tmp_path):
    result = run_script("backup.sh", env=backup_env(tmp_path, loan_book.url))
    assert result.returncode == 0, result.stderr
    dump = Path(re.search(r"^dump_file=(.+)$", result.stdout, re.M).group(1))
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    target = f"{loan_book.name}_restored"
    restored = run_script(
        "restore.sh", str(dump), loan_book.url.rsplit("/", 1)[0] + f"/{target}", env=script_env()
    )
    assert restored.returncode != 0
    assert "checksum mismatch" in restored.stderr
    assert not loan_book.exists(target)


@needs_postgres
@pytest.mark.postgres
def test_restore_refuses_a_non_empty_database_unless_forced(loan_book, tmp_path):
    result = run_script("backup.sh", env=backup_env(tmp_path, loan_book.url))
    dump = re.search(r"^dump_file=(.+)$", result.stdout, re.M).group(1)
    target_url = loan_book.url.rsplit("/", 1)[0] + f"/{loan_book.name}_copy"
    first = run_script("restore.sh", dump, target_url, env=script_env())
    assert first.returncode == 0, first.stderr
    assert loan_book.execute("SELECT count(*) FROM loans_loan", target_url) == [(120,)]
    again = run_script("restore.sh", dump, target_url, env=script_env())
    assert again.returncode != 0
    assert "is not empty" in again.stderr
    forced = run_script("restore.sh", "--force", dump, target_url, env=script_env())
    assert forced.returncode == 0, forced.stderr
    assert loan_book.execute("SELECT count(*) FROM payments_posting", target_url) == [(240,)]


@needs_postgres
@pytest.mark.postgres
def test_backup_keeps_nothing_when_the_dump_is_broken(loan_book, tmp_path):
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    fake = fake_bin / "pg_dump"
    # A pg_dump that "succeeds" but writes a truncated file, like a disk that filled up.
    fake.write_text(
        "#!/bin/bash\n"
        "for a; do case $a in --file=*) f=${a#--file=} ;; esac; done\n"
        'printf "PGDMP partial" > "$f"\n'
    )
    fake.chmod(0o755)
    env = backup_env(tmp_path, loan_book.url)
    env["PATH"] = f"{fake_bin}:{env['PATH']}"
    result = run_script("backup.sh", env=env)
    assert result.returncode != 0
    assert "nothing kept" in result.stderr
    assert [p.name for p in (tmp_path / "backups").iterdir()] == [".backup.lock"]


@needs_postgres
@pytest.mark.postgres
def test_backup_refuses_to_start_without_enough_free_space(loan_book, tmp_path):
    result = run_script(
        "backup.sh", env=backup_env(tmp_path, loan_book.url, BACKUP_MIN_FREE_MB="999999999")
    )
    assert result.returncode != 0
    assert "not enough free space" in result.stderr
    assert not list((tmp_path / "backups").glob("allaweeplus-*"))


@needs_postgres
@pytest.mark.postgres
def test_retention_deletes_only_backups_older_than_30_days(loan_book, tmp_path):
    backups = tmp_path / "backups"
    backups.mkdir()
    files = {
        "allaweeplus-db-old-20250101T023000Z.dump": "31 days ago",
        "allaweeplus-db-old-20250101T023000Z.dump.sha256": "31 days ago",
        "allaweeplus-media-20250101T023000Z.tar.gz": "45 days ago",
        "allaweeplus-media-20250101T023000Z.tar.gz.sha256": "45 days ago",
        "allaweeplus-db-recent-20250201T023000Z.dump": "29 days ago",
        "allaweeplus-db-recent-20250201T023000Z.dump.sha256": "29 days ago",
        "notes-from-ops.txt": "400 days ago",
        "other-system.dump": "90 days ago",
    }
    for name, age in files.items():
        (backups / name).write_text("x")
        subprocess.run(["touch", "-d", age, str(backups / name)], check=True)
    result = run_script("backup.sh", env=backup_env(tmp_path, loan_book.url))
    assert result.returncode == 0, result.stderr
    remaining = {path.name for path in backups.iterdir()}
    assert "allaweeplus-db-old-20250101T023000Z.dump" not in remaining
    assert "allaweeplus-db-old-20250101T023000Z.dump.sha256" not in remaining
    assert "allaweeplus-media-20250101T023000Z.tar.gz" not in remaining
    assert "allaweeplus-media-20250101T023000Z.tar.gz.sha256" not in remaining
    assert {
        "allaweeplus-db-recent-20250201T023000Z.dump",
        "allaweeplus-db-recent-20250201T023000Z.dump.sha256",
        "notes-from-ops.txt",
        "other-system.dump",
    } <= remaining
    assert any(re.match(rf"allaweeplus-db-{loan_book.name}-", name) for name in remaining)
    assert "retention: 4 old file(s) deleted" in result.stderr


@needs_postgres
@pytest.mark.postgres
def test_offsite_command_gets_every_new_file(loan_book, tmp_path):
    offsite = tmp_path / "offsite"
    offsite.mkdir()
    env = backup_env(tmp_path, loan_book.url, BACKUP_OFFSITE_CMD=f"cp -t {offsite} --")
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "id-card.png").write_bytes(b"\x89PNG")
    result = run_script("backup.sh", env=env)
    assert result.returncode == 0, result.stderr
    copied = sorted(path.name for path in offsite.iterdir())
    assert len(copied) == 4
    assert sum(name.endswith(".sha256") for name in copied) == 2


@needs_postgres
@pytest.mark.postgres
def test_failed_offsite_copy_keeps_the_local_backup_and_fails(loan_book, tmp_path):
    env = backup_env(tmp_path, loan_book.url, BACKUP_OFFSITE_CMD="false")
    result = run_script("backup.sh", env=env)
    assert result.returncode == 1
    assert "off-site copy" in result.stderr
    assert list((tmp_path / "backups").glob("allaweeplus-db-*.dump"))


# --- monitor ----------------------------------------------------------------------------------


def monitor_env(server_url: str, receiver_url: str | None = None, **extra: str):
    settings = {
        "MONITOR_BASE_URL": server_url,
        "MONITOR_MAX_LOAD_PER_CPU": "1000",
        "MONITOR_MAX_DISK_PCT": "100",
        "MONITOR_MAX_MEMORY_PCT": "100",
        "MONITOR_APP_DIR": str(ROOT),
        # The project has manage.py monitor_stats; `true` prints no figures, so these tests
        # judge only what they set up (tests/deploy/test_monitor_stats.py runs the real one).
        "MONITOR_MANAGE_CMD": "true",
    }
    env = script_env(**{**settings, **extra})
    if receiver_url:
        env["MONITOR_WEBHOOK_URL"] = f"{receiver_url}/hooks/alerts"
    return env


def healthy(server):
    server.routes["/healthz"] = (200, {"status": "ok"})
    server.routes["/readyz"] = (
        200,
        {"status": "ok", "checks": {"database": {"ok": True}, "queue": {"ok": True, "pending": 3}}},
    )


def test_monitor_alerts_when_readyz_fails(local_server, alert_receiver):
    healthy(local_server)
    local_server.routes["/readyz"] = (
        503,
        {
            "status": "unavailable",
            "checks": {"cache": {"ok": False, "error": "ConnectionError"}, "queue": {"ok": True}},
        },
    )
    result = run_script("monitor.sh", env=monitor_env(local_server.url, alert_receiver.url))
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(r"^ALERT readyz .*HTTP 503", result.stdout, re.M)
    assert re.search(r"^OK\s+healthz", result.stdout, re.M)
    assert len(alert_receiver.posts) == 1
    post = alert_receiver.posts[0]
    assert post["path"] == "/hooks/alerts"
    assert post["headers"]["Content-Type"] == "application/json"
    payload = json.loads(post["body"])
    assert payload["status"] == "alert"
    assert payload["service"] == "allaweeplus"
    assert any(item.startswith("readyz: ") and "503" in item for item in payload["alerts"])
    assert "readyz" in payload["text"]


def test_monitor_is_quiet_when_everything_is_healthy(local_server, alert_receiver):
    healthy(local_server)
    result = run_script("monitor.sh", env=monitor_env(local_server.url, alert_receiver.url))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ALERT" not in result.stdout
    assert re.search(r"^OK\s+queue\s+3 tasks waiting", result.stdout, re.M)
    assert alert_receiver.posts == []


def test_monitor_alerts_when_nothing_answers(alert_receiver):
    result = run_script("monitor.sh", env=monitor_env("http://127.0.0.1:9", alert_receiver.url))
    assert result.returncode == 1
    assert re.search(r"^ALERT healthz .*did not answer", result.stdout, re.M)
    assert len(alert_receiver.posts) == 1


def test_monitor_alerts_on_a_deep_queue(local_server, alert_receiver):
    healthy(local_server)
    local_server.routes["/readyz"] = (
        200,
        {"status": "ok", "checks": {"queue": {"ok": True, "pending": 5000}}},
    )
    result = run_script("monitor.sh", env=monitor_env(local_server.url, alert_receiver.url))
    assert result.returncode == 1
    assert re.search(r"^ALERT queue\s+5000 tasks waiting", result.stdout, re.M)


def access_log_line(when: datetime, status: int, micros: int) -> str:
    stamp = when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return f'{stamp} 10.0.0.7 {status} {micros} 512 abc123 "GET /loans/ HTTP/1.1" "Mozilla/5.0"\n'


def test_monitor_alerts_on_error_rate_and_slow_p95(local_server, alert_receiver, tmp_path):
    healthy(local_server)
    now = datetime.now(UTC)
    log = tmp_path / "access-8101.log"
    lines = [access_log_line(now - timedelta(hours=2), 500, 9_000_000) for _ in range(50)]
    lines += [access_log_line(now - timedelta(seconds=30), 200, 40_000) for _ in range(80)]
    lines += [access_log_line(now - timedelta(seconds=20), 502, 900_000) for _ in range(20)]
    log.write_text("".join(lines))
    result = run_script(
        "monitor.sh",
        env=monitor_env(local_server.url, alert_receiver.url, MONITOR_ACCESS_LOG=str(log)),
    )
    assert result.returncode == 1, result.stdout + result.stderr
    # The two-hour-old failures are outside the 5-minute window.
    assert re.search(r"^ALERT error-rate\s+20 of 100 requests failed", result.stdout, re.M)
    assert re.search(r"^ALERT latency\s+p95 900 ms over 100 requests", result.stdout, re.M)
    payload = json.loads(alert_receiver.posts[0]["body"])
    assert {item.split(":")[0] for item in payload["alerts"]} == {"error-rate", "latency"}


def test_monitor_reads_a_healthy_access_log(local_server, tmp_path):
    healthy(local_server)
    now = datetime.now(UTC)
    log = tmp_path / "access.log"
    log.write_text("".join(access_log_line(now, 200, 20_000 + i) for i in range(40)))
    result = run_script(
        "monitor.sh", env=monitor_env(local_server.url, MONITOR_ACCESS_LOG=str(log))
    )
    assert result.returncode == 0, result.stdout
    assert re.search(r"^OK\s+error-rate\s+0 of 40 requests", result.stdout, re.M)
    assert re.search(r"^OK\s+latency\s+p95 20 ms", result.stdout, re.M)


def test_monitor_alerts_when_the_worker_is_gone(local_server, alert_receiver, tmp_path):
    healthy(local_server)
    dead = subprocess.Popen(["true"])
    dead.wait()
    (tmp_path / "worker.pid").write_text(f"{dead.pid}\n")
    (tmp_path / "web.pid").write_text(f"{os.getpid()}\n")
    result = run_script(
        "monitor.sh",
        env=monitor_env(
            local_server.url,
            alert_receiver.url,
            MONITOR_PIDFILES=f"{tmp_path / 'worker.pid'} {tmp_path / 'web.pid'}",
        ),
    )
    assert result.returncode == 1
    assert re.search(r"^ALERT process\s+worker is not running", result.stdout, re.M)
    assert re.search(r"^OK\s+process\s+web is running", result.stdout, re.M)


def test_monitor_skips_app_stats_until_the_command_exists(local_server, tmp_path):
    healthy(local_server)
    result = run_script(
        "monitor.sh", env=monitor_env(local_server.url, MONITOR_APP_DIR=str(tmp_path))
    )
    assert re.search(r"^SKIP\s+app-stats\s+skipped", result.stdout, re.M)


def test_monitor_reads_failed_tasks_and_payments_from_monitor_stats(local_server, tmp_path):
    healthy(local_server)
    commands = tmp_path / "payments" / "management" / "commands"
    commands.mkdir(parents=True)
    (commands / "monitor_stats.py").write_text("# stand-in\n")
    fake_manage = tmp_path / "fake-manage"
    fake_manage.write_text(
        "#!/bin/bash\n"
        '[[ $1 == monitor_stats ]] && echo \'{"failed_tasks": 9, "failed_payments": 2}\'\n'
    )
    fake_manage.chmod(0o755)
    result = run_script(
        "monitor.sh",
        env=monitor_env(
            local_server.url, MONITOR_APP_DIR=str(tmp_path), MONITOR_MANAGE_CMD=str(fake_manage)
        ),
    )
    assert result.returncode == 1
    assert re.search(r"^ALERT failed-tasks\s+9 tasks failed", result.stdout, re.M)
    assert re.search(r"^OK\s+failed-payments\s+2 payments failed", result.stdout, re.M)


def test_monitor_alerts_on_a_stale_backup(local_server, tmp_path):
    healthy(local_server)
    backups = tmp_path / "backups"
    backups.mkdir()
    old = backups / "allaweeplus-db-x-20250101T023000Z.dump"
    old.write_text("x")
    subprocess.run(["touch", "-d", "40 hours ago", str(old)], check=True)
    result = run_script("monitor.sh", env=monitor_env(local_server.url, BACKUP_DIR=str(backups)))
    assert result.returncode == 1
    assert re.search(r"^ALERT backup\s+newest backup .* is (39|40) h old", result.stdout, re.M)


def test_monitor_repeats_an_alert_only_after_the_interval_then_reports_recovery(
    local_server, alert_receiver, tmp_path
):
    healthy(local_server)
    local_server.routes["/readyz"] = (503, {"status": "unavailable", "checks": {}})
    env = monitor_env(
        local_server.url, alert_receiver.url, MONITOR_STATE_FILE=str(tmp_path / "state")
    )
    assert run_script("monitor.sh", env=env).returncode == 1
    assert run_script("monitor.sh", env=env).returncode == 1
    assert len(alert_receiver.posts) == 1, "the same alert is not repeated within the hour"
    healthy(local_server)
    assert run_script("monitor.sh", env=env).returncode == 0
    assert len(alert_receiver.posts) == 2
    assert json.loads(alert_receiver.posts[1]["body"])["status"] == "recovered"


def test_monitor_rejects_a_bad_threshold(local_server):
    result = run_script(
        "monitor.sh", env=monitor_env(local_server.url, MONITOR_MAX_ERROR_RATE="lots")
    )
    assert result.returncode == 2
    assert "MONITOR_MAX_ERROR_RATE" in result.stderr


# --- deploy.sh --------------------------------------------------------------------------------

GIT_ENV = {
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Deploy Test",
    "GIT_AUTHOR_EMAIL": "deploy-test@example.invalid",
    "GIT_COMMITTER_NAME": "Deploy Test",
    "GIT_COMMITTER_EMAIL": "deploy-test@example.invalid",
}


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=repo, env=script_env(**GIT_ENV), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def release_repo(tmp_path):
    """A throwaway repository with two releases: v1 is healthy, v2 is not."""
    if shutil.which("git") is None:
        pytest.skip("needs git")
    repo = tmp_path / "source"
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch=main")
    (repo / "manage.py").write_text("# stand-in\n")
    (repo / "healthy").write_text("yes\n")
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "v1")
    git(repo, "tag", "v1")
    (repo / "healthy").unlink()
    (repo / "manage.py").write_text("# stand-in, release 2\n")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "v2")
    git(repo, "tag", "v2")
    return repo


@pytest.fixture
def deploy_setup(tmp_path, release_repo, local_server):
    """deploy.sh with stand-ins for uv and systemctl, and a health endpoint that is green
    exactly when the release `current` points to has a `healthy` file."""
    root = tmp_path / "srv"
    calls = tmp_path / "calls.log"
    fake_uv = tmp_path / "uv"
    fake_uv.write_text(f'#!/bin/bash\necho "uv $* [$(basename "$PWD")]" >> {calls}\n')
    fake_uv.chmod(0o755)
    env_file = tmp_path / "env"
    env_file.write_text("ALLOWED_HOSTS=allaweeplus.test\nDATABASE_URL=postgres://u@h/db\n")

    def health():
        if (root / "current" / "healthy").exists():
            return 200, {"status": "ok"}
        return 503, {"status": "unavailable"}

    local_server.routes["/healthz"] = health
    local_server.routes["/readyz"] = health
    env = script_env(
        DEPLOY_ROOT=str(root),
        DEPLOY_REPO_URL=str(release_repo),
        DEPLOY_ENV_FILE=str(env_file),
        DEPLOY_RESTART_CMD=f"echo restart {{port}} >> {calls}",
        DEPLOY_WORKER_RESTART_CMD=f"echo restart worker >> {calls}",
        DEPLOY_HEALTH_URL=local_server.url,
        DEPLOY_HEALTH_TIMEOUT="3",
        DEPLOY_BACKUP_BEFORE_MIGRATE="false",
        UV_BIN=str(fake_uv),
        **GIT_ENV,
    )
    return {"root": root, "calls": calls, "env": env, "repo": release_repo}


def calls(setup) -> list[str]:
    path = setup["calls"]
    return path.read_text().splitlines() if path.exists() else []


def test_deploy_dry_run_changes_nothing(deploy_setup):
    result = run_script("deploy.sh", "--dry-run", "v1", env=deploy_setup["env"])
    assert result.returncode == 0, result.stderr
    assert "[dry-run] would run: git clone" in result.stdout
    assert "manage.py migrate --noinput" in result.stdout
    assert "check --deploy --fail-level WARNING" in result.stdout
    assert not deploy_setup["root"].exists()
    assert calls(deploy_setup) == []


def test_deploy_switches_release_and_restarts_instances_one_at_a_time(deploy_setup):
    result = run_script("deploy.sh", "v1", env=deploy_setup["env"])
    assert result.returncode == 0, result.stderr
    root = deploy_setup["root"]
    v1 = git(deploy_setup["repo"], "rev-parse", "v1")
    assert os.readlink(root / "current") == f"releases/{v1}"
    assert (root / "releases" / v1 / "REVISION").read_text().split()[0] == v1
    assert os.readlink(root / "releases" / v1 / "staticfiles") == "../../shared/staticfiles"
    log = calls(deploy_setup)
    manage = [line for line in log if line.startswith("uv run")]
    assert [line.split("manage.py ")[1].split(" [")[0] for line in manage] == [
        "check --deploy --fail-level WARNING",
        "migrate --noinput",
        "collectstatic --noinput --verbosity 0",
    ]
    assert log[0].startswith("uv sync --frozen")
    restarts = [line for line in log if line.startswith("restart")]
    assert restarts == ["restart 8101", "restart 8102", "restart worker"]
    assert f"{v1} v1 OK" in (root / "deploys.log").read_text()


def test_deploying_the_same_ref_again_changes_nothing(deploy_setup):
    assert run_script("deploy.sh", "v1", env=deploy_setup["env"]).returncode == 0
    before = calls(deploy_setup)
    again = run_script("deploy.sh", "v1", env=deploy_setup["env"])
    assert again.returncode == 0, again.stderr
    assert "already deployed" in again.stderr
    assert calls(deploy_setup) == before


def test_deploy_rolls_back_when_the_new_release_is_unhealthy(deploy_setup):
    assert run_script("deploy.sh", "v1", env=deploy_setup["env"]).returncode == 0
    root = deploy_setup["root"]
    v1 = git(deploy_setup["repo"], "rev-parse", "v1")
    deploy_setup["calls"].write_text("")
    result = run_script("deploy.sh", "v2", env=deploy_setup["env"])
    assert result.returncode == 1
    assert "rolled back" in result.stderr
    assert os.readlink(root / "current") == f"releases/{v1}"
    restarts = [line for line in calls(deploy_setup) if line.startswith("restart")]
    # 8101 got v2, failed its health check, and was restarted on v1; 8102 was never touched.
    assert restarts == ["restart 8101", "restart 8101", "restart worker"]
    assert "ROLLED BACK" in (root / "deploys.log").read_text()


def test_deploy_refuses_an_unknown_ref(deploy_setup):
    result = run_script("deploy.sh", "no-such-tag", env=deploy_setup["env"])
    assert result.returncode != 0
    assert "was not found" in result.stderr
    assert not (deploy_setup["root"] / "current").exists()


def test_lib_parses_database_urls_into_libpq_variables():
    script = (
        f". {DEPLOY / 'lib.sh'}; "
        'pg_env_from_url "postgres://app%40ng:p%3Ass%2Fw0rd@db.internal:6432/allaweeplus'
        '?sslmode=require"; printf "%s|%s|%s|%s|%s|%s\\n" "$PGUSER" "$PGPASSWORD" '
        '"$PGHOST" "$PGPORT" "$PGDATABASE" "$PGSSLMODE"'
    )
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    assert result.stdout.strip() == "app@ng|p:ss/w0rd|db.internal|6432|allaweeplus|require"


def test_lib_loads_systemd_env_files_without_running_them(tmp_path):
    env_file = tmp_path / "env"
    marker = tmp_path / "ran"
    env_file.write_text(
        "# comment\n"
        'DEFAULT_FROM_EMAIL="AllaweePlus <no-reply@allaweeplus.ng>"\n'
        f"EVIL=$(touch {marker})\n"
        "SECRET_KEY=abc=def\n"
    )
    script = (
        f". {DEPLOY / 'lib.sh'}; load_env_file {env_file}; "
        'printf "%s|%s\\n" "$DEFAULT_FROM_EMAIL" "$SECRET_KEY"'
    )
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    assert result.stdout.strip() == "AllaweePlus <no-reply@allaweeplus.ng>|abc=def"
    assert not marker.exists()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_units_pass_systemd_analyze_verify(tmp_path):
    # The programs they start exist only on a server; everything else is checked as written.
    for path in (DEPLOY / "systemd").iterdir():
        text = re.sub(r"^ExecStart=\S+", "ExecStart=/bin/true", path.read_text(), flags=re.M)
        (tmp_path / path.name).write_text(text)
    (tmp_path / "allaweeplus-web@8101.service").write_text(
        (tmp_path / "allaweeplus-web@.service").read_text()
    )
    units = [
        "allaweeplus-web@8101.service",
        "allaweeplus-worker.service",
        "allaweeplus-backup.service",
        "allaweeplus-backup.timer",
        "allaweeplus-monitor.service",
        "allaweeplus-monitor.timer",
    ]
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *[f"./{name}" for name in units]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "Unknown" not in result.stderr and "ignoring" not in result.stderr, result.stderr


def test_deploy_stops_before_touching_anything_when_check_deploy_fails(deploy_setup, tmp_path):
    failing_uv = tmp_path / "uv-check-fails"
    failing_uv.write_text(
        f'#!/bin/bash\necho "uv $*" >> {deploy_setup["calls"]}\n'
        '[[ " $* " == *" check --deploy "* ]] && { echo W004 >&2; exit 1; }\n'
        "exit 0\n"
    )
    failing_uv.chmod(0o755)
    env = {**deploy_setup["env"], "UV_BIN": str(failing_uv)}
    result = run_script("deploy.sh", "v1", env=env)
    assert result.returncode == 1
    assert "check --deploy found problems" in result.stderr
    assert not (deploy_setup["root"] / "current").exists()
    assert not [line for line in calls(deploy_setup) if "migrate" in line or "restart" in line]


def test_make_run_on_another_port_links_e_mails_to_that_port():
    """`make run PORT=…` must put the same address in e-mailed links as the server it starts."""
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        ["make", "-n", "run", "PORT=8123"], cwd=root, capture_output=True, text=True, check=True
    )
    starts = [
        line for line in result.stdout.splitlines() if "runserver" in line or "run_huey" in line
    ]
    assert len(starts) == 2
    assert all("SITE_URL=http://127.0.0.1:8123" in line for line in starts)
