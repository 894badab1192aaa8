"""Helpers for the shell-level deploy tests: scripts run as subprocesses, never Django's db."""

import json
import os
import shutil
import subprocess
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SCRIPTS = sorted(DEPLOY.glob("*.sh"))


def script_env(**extra: str) -> dict[str, str]:
    """A small, explicit environment: nothing of the test run's Django settings leaks in."""
    env = {
        key: os.environ[key]
        for key in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")
        if key in os.environ
    }
    env.update(extra)
    return env


def run_script(name: str, *args: str, env: dict[str, str] | None = None, timeout: int = 120):
    return subprocess.run(
        ["bash", str(DEPLOY / name), *args],
        env=env if env is not None else script_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# --- PostgreSQL ------------------------------------------------------------------------------


def postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith("postgres") else None


needs_postgres = pytest.mark.skipif(
    postgres_url() is None or shutil.which("pg_dump") is None or shutil.which("psql") is None,
    reason="needs DATABASE_URL=postgres://... and the PostgreSQL client tools",
)


def url_with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


class ScratchDatabase:
    """A throwaway database on the server of DATABASE_URL, dropped with its drill copies."""

    def __init__(self, server_url: str):
        self.server_url = server_url
        self.name = f"awp_deploytest_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.url = url_with_database(server_url, self.name)

    def _admin(self):
        import psycopg

        return psycopg.connect(url_with_database(self.server_url, "postgres"), autocommit=True)

    def create(self) -> None:
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')

    def execute(self, sql: str, database_url: str | None = None) -> list[tuple]:
        import psycopg

        with psycopg.connect(database_url or self.url, autocommit=True) as conn:
            cursor = conn.execute(sql)
            return cursor.fetchall() if cursor.description else []

    def exists(self, name: str) -> bool:
        with self._admin() as conn:
            row = conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [name])
            return row.fetchone()[0] == 1

    def drop_all(self) -> None:
        with self._admin() as conn:
            names = conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", [f"{self.name}%"]
            ).fetchall()
            for (name,) in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def scratch_db():
    url = postgres_url()
    if url is None:
        pytest.skip("needs DATABASE_URL=postgres://...")
    database = ScratchDatabase(url)
    database.create()
    try:
        yield database
    finally:
        database.drop_all()


@pytest.fixture
def loan_book(scratch_db):
    """A small database shaped like the product: a few tables and a balanced ledger."""
    scratch_db.execute(
        """
        CREATE TABLE members_member (id bigserial PRIMARY KEY, state_code text UNIQUE NOT NULL);
        INSERT INTO members_member (state_code)
            SELECT 'LA/24A/' || lpad(g::text, 4, '0') FROM generate_series(1, 250) g;
        CREATE TABLE loans_loan (
            id bigserial PRIMARY KEY,
            member_id bigint NOT NULL REFERENCES members_member (id),
            principal_kobo bigint NOT NULL CHECK (principal_kobo > 0)
        );
        INSERT INTO loans_loan (member_id, principal_kobo)
            SELECT g, 5000000 + g FROM generate_series(1, 120) g;
        CREATE TABLE payments_posting (
            id bigserial PRIMARY KEY,
            entry_id bigint NOT NULL,
            account_id bigint NOT NULL,
            debit_kobo bigint NOT NULL DEFAULT 0,
            credit_kobo bigint NOT NULL DEFAULT 0
        );
        INSERT INTO payments_posting (entry_id, account_id, debit_kobo, credit_kobo)
            SELECT g, 1000 + g, 5000000 + g, 0 FROM generate_series(1, 120) g
            UNION ALL
            SELECT g, 1, 0, 5000000 + g FROM generate_series(1, 120) g;
        CREATE TABLE portal_emptytable (id bigserial PRIMARY KEY);
        """
    )
    return scratch_db


# --- HTTP servers on loopback ---------------------------------------------------------------


class LocalServer:
    """A tiny HTTP server: GET answers from ``routes`` (path -> (status, body)), POST bodies
    are recorded in ``posts``."""

    def __init__(self):
        self.routes: dict[str, tuple[int, dict | str] | Callable[[], tuple[int, dict | str]]] = {}
        self.posts: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server API
                route = server.routes.get(self.path.split("?")[0], (404, {"error": "none"}))
                status, body = route() if callable(route) else route
                payload = (json.dumps(body) if isinstance(body, dict) else body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                server.posts.append(
                    {"path": self.path, "headers": dict(self.headers), "body": raw.decode()}
                )
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def local_server():
    with LocalServer() as server:
        yield server


@pytest.fixture
def alert_receiver():
    with LocalServer() as server:
        yield server
