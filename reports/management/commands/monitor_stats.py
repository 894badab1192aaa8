"""One JSON object with the numbers deploy/monitor.sh judges against its thresholds.

    python manage.py monitor_stats [--minutes 5] [--access-log FILE ...]

Keys are flat and unique (monitor.sh reads them with jq or grep); a number that cannot be
known here is null, never a guess:

- ``pending_tasks``, ``oldest_task_age_seconds``: the Huey queue (see core/queue.py)
- ``failed_tasks``: task failures in the window (per-minute counts in the shared cache)
- ``failed_payments``, ``failed_disbursements``: rows that failed in the window
- ``overdue_installments``: installments with status overdue now
- ``db_connections``, ``db_max_connections``, ``db_connections_pct``: PostgreSQL
  ``pg_stat_activity`` against ``max_connections``
- ``requests``, ``error_rate``, ``p95_ms``: gunicorn access logs in the window
- ``cache_hits``, ``cache_misses``, ``cache_hit_rate``: the site's cache reads since the
  processes started (Prometheus counters in ``PROMETHEUS_MULTIPROC_DIR``)
- ``redis_keyspace_hit_rate``: Redis's own hit rate since it started (``REDIS_URL``)
- ``app_cache``: hits, misses and hit rate of each read-through cache of core/caching.py
  (profile, products, search) since its counters started, shared by all processes (Redis)
- ``app_cache_hit_rate``: the same over all of them
- ``partitions``: per partitioned table (PostgreSQL, core/partitions.py) the months made
  ahead of this one and the rows in its DEFAULT partition (should be 0); null on SQLite
- ``partition_future_months_min``, ``partition_default_rows``: the fewest months ahead of any
  table and the rows in all DEFAULT partitions (alert below 1 and above 0)
"""

import json
import math
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from core.caching import stats as cache_stats
from core.mail import mail_backlog
from core.metrics import recent_task_failures
from core.partitions import partition_health
from core.queue import queue_status
from loans.models import Installment, InstallmentStatus
from payments.models import Disbursement, DisbursementStatus, Payment, PaymentStatus


def access_log_stats(files: list[Path], minutes: int, now: datetime | None = None) -> dict:
    """Requests, 5xx share and p95 latency from lines written by deploy/gunicorn.conf.py:
    ``ISO-UTC-time client status duration_us bytes request_id "request" "agent"``."""
    now = now or datetime.now(UTC)
    cutoff = (now - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S")
    statuses, durations = [], []
    for file in files:
        with file.open(errors="replace") as lines:
            for line in lines:
                fields = line.split(" ", 4)
                if len(fields) < 4 or fields[0] < cutoff:
                    continue
                if not (fields[2].isdigit() and len(fields[2]) == 3 and fields[3].isdigit()):
                    continue
                statuses.append(int(fields[2]))
                durations.append(int(fields[3]))
    if not statuses:
        return {"requests": 0, "error_rate": None, "p95_ms": None}
    durations.sort()
    rank = math.ceil(len(durations) * 0.95)  # nearest rank, as monitor.sh computes it
    return {
        "requests": len(statuses),
        "error_rate": round(sum(status >= 500 for status in statuses) / len(statuses), 4),
        "p95_ms": durations[rank - 1] // 1000,
    }


def _queue() -> dict:
    status = queue_status(HUEY)
    return {
        "pending_tasks": status["pending"],
        "oldest_task_age_seconds": status["oldest_task_age_seconds"],
    }


def _database_connections() -> dict:
    if connection.vendor != "postgresql":
        return {"db_connections": None, "db_max_connections": None, "db_connections_pct": None}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), current_setting('max_connections')::int FROM pg_stat_activity"
        )
        used, limit = cursor.fetchone()
    return {
        "db_connections": used,
        "db_max_connections": limit,
        "db_connections_pct": round(used * 100 / limit, 1),
    }


def _cache_reads() -> dict:
    hits = misses = None
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import CollectorRegistry, multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        hits = registry.get_sample_value("awp_cache_requests_total", {"result": "hit"}) or 0
        misses = registry.get_sample_value("awp_cache_requests_total", {"result": "miss"}) or 0
    rate = round(hits / (hits + misses), 4) if hits is not None and hits + misses else None
    return {"cache_hits": hits, "cache_misses": misses, "cache_hit_rate": rate}


def _redis_hit_rate() -> float | None:
    if not settings.REDIS_URL:
        return None
    from django_redis import get_redis_connection

    info = get_redis_connection("default").info("stats")
    hits, misses = info.get("keyspace_hits", 0), info.get("keyspace_misses", 0)
    return round(hits / (hits + misses), 4) if hits + misses else None


def _app_cache() -> dict:
    areas = cache_stats()
    hits = sum(a["hits"] for a in areas.values())
    misses = sum(a["misses"] for a in areas.values())
    rate = round(hits / (hits + misses), 4) if hits + misses else None
    return {"app_cache": areas, "app_cache_hit_rate": rate}


def _partitions() -> dict:
    health = partition_health()
    tables = [t for t in (health or {}).values() if t is not None]
    return {
        "partitions": health,
        "partition_future_months_min": min((t["future_partitions"] for t in tables), default=None),
        "partition_default_rows": sum(t["default_rows"] for t in tables) if tables else None,
    }


class Command(BaseCommand):
    help = "Print queue, failure, database, latency and cache figures as one JSON object."

    def add_arguments(self, parser):
        parser.add_argument("--minutes", type=int, default=5, help="window for counts (5)")
        parser.add_argument(
            "--access-log",
            action="append",
            type=Path,
            help="gunicorn access log (repeatable; default: MONITOR_ACCESS_LOG, comma separated)",
        )

    def handle(self, *args, minutes, access_log, **options):
        since = timezone.now() - timedelta(minutes=minutes)
        stats: dict = {"window_minutes": minutes, "errors": []}
        try:
            stats.update(_queue())
        except Exception as exc:  # noqa: BLE001 - report what is known, say what is not
            stats.update(pending_tasks=None, oldest_task_age_seconds=None)
            stats["errors"].append(f"queue: {type(exc).__name__}")
        stats["failed_tasks"] = recent_task_failures(minutes)
        stats["failed_payments"] = Payment.objects.filter(
            status=PaymentStatus.FAILED, created_at__gte=since
        ).count()
        stats["failed_disbursements"] = Disbursement.objects.filter(
            status=DisbursementStatus.FAILED, updated_at__gte=since
        ).count()
        stats["overdue_installments"] = Installment.objects.filter(
            status=InstallmentStatus.OVERDUE
        ).count()
        stats.update(_database_connections())
        backlog = mail_backlog()
        stats.update(
            mail_waiting=backlog.waiting,
            mail_oldest_seconds=backlog.oldest_seconds,
            mail_gave_up=backlog.gave_up,
        )

        if not access_log:
            names = os.environ.get("MONITOR_ACCESS_LOG", "")
            access_log = [Path(name) for name in names.replace(",", " ").split() if name]
        readable = [file for file in access_log if file.is_file()]
        stats["errors"] += [
            f"access log not readable: {f}" for f in access_log if f not in readable
        ]
        stats.update(
            access_log_stats(readable, minutes)
            if readable
            else {"requests": None, "error_rate": None, "p95_ms": None}
        )
        stats.update(_cache_reads())
        try:
            stats["redis_keyspace_hit_rate"] = _redis_hit_rate()
        except Exception as exc:  # noqa: BLE001
            stats["redis_keyspace_hit_rate"] = None
            stats["errors"].append(f"redis: {type(exc).__name__}")
        try:
            stats.update(_app_cache())
        except Exception as exc:  # noqa: BLE001
            stats.update(app_cache=None, app_cache_hit_rate=None)
            stats["errors"].append(f"app cache: {type(exc).__name__}")
        try:
            stats.update(_partitions())
        except Exception as exc:  # noqa: BLE001
            stats.update(
                partitions=None, partition_future_months_min=None, partition_default_rows=None
            )
            stats["errors"].append(f"partitions: {type(exc).__name__}")
        self.stdout.write(json.dumps(stats))
