"""The production stack on loopback (deploy/prod-local.sh): nginx with TLS in front of two
gunicorn instances and the Huey worker, on the local PostgreSQL and Redis.

Slow and machine-wide (it stops and restarts the local Redis), so it runs only with
RUN_PROD_LOCAL=true, e.g. `RUN_PROD_LOCAL=true uv run pytest tests/deploy/test_prod_local.py
-p no:xdist`.
"""

import http.client
import json
import os
import shutil
import ssl
import subprocess
import time

import pytest

from tests.deploy.conftest import DEPLOY, script_env

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        os.environ.get("RUN_PROD_LOCAL") != "true", reason="set RUN_PROD_LOCAL=true to run"
    ),
    pytest.mark.skipif(
        not all(shutil.which(tool) for tool in ("nginx", "openssl", "redis-server", "psql")),
        reason="needs nginx, openssl, redis-server and psql",
    ),
]

HTTPS_PORT = 8443
HTTP_PORT = 8080


def prod_local(command: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(DEPLOY / "prod-local.sh"), command],
        env=script_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def https_get(path: str, headers: dict | None = None) -> tuple[int, dict[str, str], bytes]:
    # The certificate is self-signed for this test stack; nothing leaves 127.0.0.1.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    connection = http.client.HTTPSConnection("127.0.0.1", HTTPS_PORT, context=context, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def wait_for_readyz(status: int, seconds: float = 30) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        code, _, body = https_get("/readyz")
        if code == status or time.monotonic() > deadline:
            assert code == status, body
            return json.loads(body)
        time.sleep(0.5)


def redis_ping() -> bool:
    result = subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", "6379", "ping"], capture_output=True, text=True
    )
    return result.stdout.strip() == "PONG"


def start_redis() -> None:
    if redis_ping():
        return
    subprocess.run(
        [
            "redis-server",
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            "6379",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        check=True,
        capture_output=True,
    )
    for _ in range(60):
        if redis_ping():
            return
        time.sleep(0.25)
    raise AssertionError("Redis did not come back on 127.0.0.1:6379")


@pytest.fixture(scope="module")
def stack():
    started = time.monotonic()
    result = prod_local("start")
    assert result.returncode == 0, result.stdout + result.stderr
    print(f"prod-local start: {time.monotonic() - started:.1f}s")
    try:
        yield
    finally:
        stopped = prod_local("stop", timeout=120)
        assert stopped.returncode == 0, stopped.stderr


def test_https_response_through_nginx_carries_the_security_headers(stack):
    status, headers, _ = https_get("/")
    assert status == 200
    assert headers["strict-transport-security"] == "max-age=63072000; includeSubDomains; preload"
    assert "'nonce-" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert headers["cross-origin-opener-policy"] == "same-origin"
    assert len(headers["x-request-id"]) == 32
    assert headers["server"] == "nginx"  # no version


def test_plain_http_redirects_to_https(stack):
    connection = http.client.HTTPConnection("127.0.0.1", HTTP_PORT, timeout=10)
    try:
        connection.request("GET", "/accounts/login/?next=/loans/")
        response = connection.getresponse()
        assert response.status == 301
        assert (
            response.getheader("Location")
            == f"https://127.0.0.1:{HTTPS_PORT}/accounts/login/?next=/loans/"
        )
    finally:
        connection.close()


def test_static_files_come_from_nginx_with_long_caching(stack):
    manifest = json.loads((DEPLOY.parent / "staticfiles" / "staticfiles.json").read_text())["paths"]
    hashed = next(name for name in manifest.values() if name.endswith(".css"))
    status, headers, _ = https_get(f"/static/{hashed}")
    assert status == 200
    assert "immutable" in headers["cache-control"]
    assert headers["strict-transport-security"].startswith("max-age=63072000")


def test_readyz_is_green_and_turns_red_without_redis_while_pages_still_load(stack):
    ready = wait_for_readyz(200)
    assert all(check["ok"] for check in ready["checks"].values())
    try:
        subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "-p", "6379", "shutdown", "nosave"],
            capture_output=True,
        )
        unready = wait_for_readyz(503, seconds=15)
        assert unready["checks"]["cache"]["ok"] is False
        assert unready["checks"]["database"]["ok"] is True
        status, _, body = https_get("/")
        assert status == 200, body[:500]
        status, _, _ = https_get("/accounts/login/")
        assert status == 200
    finally:
        start_redis()
    recovered = wait_for_readyz(200, seconds=30)
    assert recovered["checks"]["cache"]["ok"] is True


def metrics_token() -> str:
    env_file = DEPLOY.parent / "var" / "prod-local" / "env"
    for line in env_file.read_text().splitlines():
        if line.startswith("METRICS_TOKEN="):
            return line.split("=", 1)[1]
    raise AssertionError("prod-local wrote no METRICS_TOKEN")


def requests_counted(text: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("awp_http_requests_total{")
    )


def test_metrics_need_the_token_and_add_up_both_instances(stack):
    assert https_get("/metrics")[0] == 404
    assert https_get("/metrics", {"Authorization": "Bearer wrong"})[0] == 403
    auth = {"Authorization": f"Bearer {metrics_token()}"}
    status, headers, body = https_get("/metrics", auth)
    assert status == 200 and headers["content-type"].startswith("text/plain")
    before = requests_counted(body.decode())
    for _ in range(20):  # nginx spreads these over both gunicorn instances
        assert https_get("/healthz")[0] == 200
    _, _, body = https_get("/metrics", auth)
    text = body.decode()
    # Whichever worker of whichever instance answers, it reports every process's counts.
    assert requests_counted(text) >= before + 21
    assert "awp_http_request_duration_seconds_bucket" in text
    assert "awp_overdue_installments" in text
    ready = wait_for_readyz(200)
    assert ready["checks"]["queue"]["pending"] == 0
    assert "oldest_task_age_seconds" in ready["checks"]["queue"]
