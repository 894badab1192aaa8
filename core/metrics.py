"""Prometheus counters of every process: requests, latency, task outcomes, cache hits.

Several processes serve the site (gunicorn workers of two instances, the Huey consumer), so
counters use prometheus_client's multiprocess mode when ``PROMETHEUS_MULTIPROC_DIR`` is set:
each process writes its counters to memory-mapped files in that directory and ``/metrics``
adds up the files of every process on the machine (web and worker alike). The directory must
be shared by those processes, empty when they first start (a tmpfs such as /run is cleared at
boot) and never emptied while they run. Without the variable (development, tests) the counters
live in the process.

The gauges that describe the loan book and the ``/metrics`` view are in ``reports.metrics``.
"""

import logging
import time

from django.core.cache import cache
from prometheus_client import Counter, Histogram

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
APP_CACHE_REQUESTS = Counter(
    "awp_app_cache_requests_total",
    "Reads of the application's caches (core.caching areas, the API response cache) by result.",
    ["area", "result"],
)

_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
# Task failures per minute, in the shared cache, so `monitor_stats` (another process) can
# count the failures of the last few minutes; counters since start cannot say that.
_FAILURE_BUCKET = "awp:task-failures:{minute}"
_FAILURE_BUCKET_TTL = 26 * 60 * 60


def record_cache_read(hit: bool, area: str | None = None) -> None:
    """A raw read of the cache backend (no ``area``), or a read of one of the application's
    caches (``area``: core.caching.count)."""
    result = "hit" if hit else "miss"
    if area is None:
        CACHE_REQUESTS.labels(result=result).inc()
    else:
        APP_CACHE_REQUESTS.labels(area=area, result=result).inc()


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
