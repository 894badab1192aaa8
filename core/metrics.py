"""Prometheus metrics: requests, latency, task outcomes, cache hits, and the loan book's health.

Several processes serve the site (gunicorn workers of two instances, the Huey consumer), so
counters use prometheus_client's multiprocess mode when ``PROMETHEUS_MULTIPROC_DIR`` is set:
each process writes its counters to memory-mapped files in that directory and ``/metrics``
adds up the files of every process on the machine (web and worker alike). The directory must
be shared by those processes, empty when they first start (a tmpfs such as /run is cleared at
boot) and never emptied while they run. Without the variable (development, tests) the counters
live in the process.

Gauges that describe the data (overdue installments, failed payments and payouts, the queue)
are read at scrape time from the database and the queue, cached for ``METRICS_DB_CACHE_SECONDS``
so frequent scrapes cost one query set per interval, whatever the number of workers.
"""

import hmac
import logging
import os
import time

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.views.decorators.cache import never_cache
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger("core.metrics")

HTTP_REQUESTS = Counter(
    "awp_http_requests_total", "HTTP responses by method and status class.", ["method", "status"]
)
HTTP_LATENCY = Histogram(
    "awp_http_request_duration_seconds",
    "Time from the first middleware to the response, by method.",
    ["method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10),
)
TASK_EVENTS = Counter(
    "awp_tasks_total",
    "Huey task events by task and outcome (enqueued, executing, complete, error, retrying, ...).",
    ["task", "outcome"],
)
CACHE_REQUESTS = Counter("awp_cache_requests_total", "Cache reads by result.", ["result"])

_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
# Task failures per minute, in the shared cache, so `monitor_stats` (another process) can
# count the failures of the last few minutes; counters since start cannot say that.
_FAILURE_BUCKET = "awp:task-failures:{minute}"
_FAILURE_BUCKET_TTL = 26 * 60 * 60


def record_cache_read(hit: bool) -> None:
    CACHE_REQUESTS.labels(result="hit" if hit else "miss").inc()


class MetricsMiddleware:
    """Counts every response by method and status class and times it. Labels never hold a
    path or a user: unbounded label values would blow up the series count (and leak data)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        method = request.method if request.method in _METHODS else "OTHER"
        HTTP_LATENCY.labels(method=method).observe(time.perf_counter() - started)
        HTTP_REQUESTS.labels(method=method, status=f"{response.status_code // 100}xx").inc()
        return response


def record_task_event(signal, task, *args, **kwargs) -> None:
    TASK_EVENTS.labels(task=task.name, outcome=signal).inc()
    if signal == "error":
        key = _FAILURE_BUCKET.format(minute=int(time.time() // 60))
        try:
            cache.add(key, 0, _FAILURE_BUCKET_TTL)
            cache.incr(key)
        except Exception:  # noqa: BLE001 - a cache outage must not hide the task's own error
            logger.warning("could not count a task failure in the cache")


def recent_task_failures(minutes: int, now: float | None = None) -> int:
    """Task failures in the last ``minutes`` whole minutes (including the current one)."""
    current = int((now if now is not None else time.time()) // 60)
    keys = [_FAILURE_BUCKET.format(minute=m) for m in range(current - minutes + 1, current + 1)]
    return sum(int(value) for value in cache.get_many(keys).values())


def connect_huey(huey) -> None:
    if getattr(huey, "_awp_metrics", False):
        return
    huey._awp_metrics = True
    huey.signal()(record_task_event)  # every signal


def loan_book_gauges() -> dict[str, float]:
    """The numbers behind the data gauges, cached briefly (scrapes come from many workers)."""
    key = "awp:metrics:loan-book"
    values = cache.get(key)
    if values is not None:
        return values
    from huey.contrib.djhuey import HUEY

    from core.queue import queue_status
    from loans.models import Installment, InstallmentStatus
    from payments.models import Disbursement, DisbursementStatus, Payment, PaymentStatus

    values = {
        "overdue_installments": Installment.objects.filter(
            status=InstallmentStatus.OVERDUE
        ).count(),
        "failed_payments": Payment.objects.filter(status=PaymentStatus.FAILED).count(),
        "failed_disbursements": Disbursement.objects.filter(
            status=DisbursementStatus.FAILED
        ).count(),
    }
    try:
        queue = queue_status(HUEY)
        values["queue_pending"] = queue["pending"]
        if queue["oldest_task_age_seconds"] is not None:
            values["queue_oldest_task_age_seconds"] = queue["oldest_task_age_seconds"]
    except Exception:  # noqa: BLE001 - the queue being down is readyz's news, not a 500 here
        logger.warning("queue unreachable while collecting metrics")
    cache.set(key, values, settings.METRICS_DB_CACHE_SECONDS)
    return values


_GAUGE_HELP = {
    "overdue_installments": "Installments with status overdue.",
    "failed_payments": "Payments with status failed.",
    "failed_disbursements": "Payouts with status failed.",
    "queue_pending": "Tasks waiting in the Huey queue.",
    "queue_oldest_task_age_seconds": "Seconds the next task to run has waited.",
}


class LoanBookCollector:
    def collect(self):
        for name, value in loan_book_gauges().items():
            yield GaugeMetricFamily(f"awp_{name}", _GAUGE_HELP[name], value=value)


def render_metrics() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        process_registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(process_registry)
    else:
        process_registry = REGISTRY
    data_registry = CollectorRegistry(auto_describe=False)
    data_registry.register(LoanBookCollector())
    return generate_latest(process_registry) + generate_latest(data_registry)


def _bearer_token_ok(request) -> bool:
    expected = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if not expected or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header.removeprefix("Bearer ").encode(), expected.encode())


@never_cache
def metrics_view(request):
    """Prometheus text format for a scraper with ``Authorization: Bearer $METRICS_TOKEN`` or a
    staff member allowed to read the audit log; 403 for a wrong token or another staff member,
    404 for anyone else (nothing to discover)."""
    if not _bearer_token_ok(request):
        if request.headers.get("Authorization", "").startswith("Bearer "):
            return HttpResponse("Wrong token.", status=403, content_type="text/plain")
        user = request.user
        if not (user.is_authenticated and user.is_staff):
            raise Http404
        if not user.has_perm("portal.view_auditevent"):
            return HttpResponse("Not allowed.", status=403, content_type="text/plain")
    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE_LATEST)
