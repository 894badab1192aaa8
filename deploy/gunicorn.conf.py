"""Gunicorn settings for one AllaweePlus web instance (one systemd ``allaweeplus-web@PORT``).

Everything tunable comes from the environment, so the unit file and ``deploy/prod-local.sh``
share this file:

- ``GUNICORN_BIND``: address to listen on (the unit sets ``127.0.0.1:%i``).
- ``GUNICORN_WORKERS``: processes; default 2 x CPU cores + 1.
- ``GUNICORN_THREADS``: threads per process (gthread worker); default 4.
- ``GUNICORN_ACCESS_LOG``: file for the access log, ``-`` (default) for stdout/journald.
  ``deploy/monitor.sh`` reads the error rate and p95 latency from this file.
- ``GUNICORN_PIDFILE``: optional pid file of the arbiter (prod-local uses it).
- ``PROMETHEUS_MULTIPROC_DIR``: shared metrics directory (see core/metrics.py); the
  ``child_exit`` hook below tidies up after each worker.

Database connections: every thread may hold one connection from its process's psycopg pool,
so the settings' ``DATABASE_POOL_MAX`` must be at least ``GUNICORN_THREADS`` (or threads
wait up to ``DATABASE_POOL_TIMEOUT`` seconds for a connection and then fail). PostgreSQL
then sees up to instances x workers x DATABASE_POOL_MAX connections from the web tier, plus
the Huey worker's; keep that under ``max_connections`` (100 by default) or put PgBouncer in
between (``PGBOUNCER=true``, ``DATABASE_POOL=false``).
"""

import multiprocessing
import os
from datetime import UTC, datetime

from gunicorn.glogging import Logger


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {value!r}") from None
    if number < 1:
        raise SystemExit(f"{name} must be at least 1, not {number}")
    return number


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8101")
workers = _int_env("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1)
threads = _int_env("GUNICORN_THREADS", 4)
worker_class = "gthread"

# The app is imported once in the arbiter and forked: faster start and shared memory pages.
# Connections are opened lazily, after the fork (see pre_fork below).
preload_app = True

# Recycle workers now and then so slow leaks never grow; the jitter keeps them from all
# restarting in the same second.
max_requests = 2000
max_requests_jitter = 200

timeout = 30
graceful_timeout = 30
# Longer than nginx's upstream keepalive_timeout (60 s): the client side closes first.
keepalive = 75

# Trust X-Forwarded-Proto only from nginx on the same machine.
forwarded_allow_ips = "127.0.0.1"

# Heartbeat files in memory, not on a (possibly slow or read-only) disk.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108

# Two instances on one machine must not fight over the default control socket path.
control_socket_disable = True

proc_name = "allaweeplus-web-" + bind.rsplit(":", 1)[-1]
pidfile = os.environ.get("GUNICORN_PIDFILE") or None

accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# Fixed fields first, free text last, so monitor.sh can read them with awk:
# time, client (from nginx), status, duration in microseconds, bytes, request id, request.
# The query string is left out: it can carry personal data (search by e-mail or phone).
access_log_format = (
    '%(t)s %({x-real-ip}i)s %(s)s %(D)s %(B)s %({x-request-id}i)s "%(m)s %(U)s %(H)s" "%(a)s"'
)


class UtcIsoTimeLogger(Logger):
    """Access log timestamps in UTC ISO 8601 (sortable, comparable as strings)."""

    def now(self):
        return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


logger_class = UtcIsoTimeLogger


def when_ready(server):
    pool_max = _int_env("DATABASE_POOL_MAX", 10)
    if pool_max < threads:
        server.log.warning(
            "DATABASE_POOL_MAX=%s is lower than GUNICORN_THREADS=%s: threads will queue for "
            "database connections. Raise DATABASE_POOL_MAX to at least %s.",
            pool_max,
            threads,
            threads,
        )


def pre_fork(server, worker):
    """Never hand a database connection or pool opened in the arbiter to a forked worker."""
    try:
        from django.db import connections
    except ImportError:  # pragma: no cover - Django is always there in this project
        return
    for connection in connections.all(initialized_only=True):
        connection.close()
        close_pool = getattr(connection, "close_pool", None)
        if close_pool is not None:
            close_pool()


def child_exit(server, worker):
    """Prometheus multiprocess mode: drop a dead worker's live gauges (its counters stay and
    keep counting in the totals, as counters must)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
