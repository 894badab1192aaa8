"""The loan book's health for Prometheus, and the ``/metrics`` view.

Gauges that describe the data (overdue installments, failed payments and payouts, the queue)
are read at scrape time from the database and the queue, cached for ``METRICS_DB_CACHE_SECONDS``
so frequent scrapes cost one query set per interval, whatever the number of workers. The
process counters (requests, latency, tasks, cache reads) are ``core.metrics``'.
"""

import hmac
import logging
import os

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.views.decorators.cache import never_cache
from huey.contrib.djhuey import HUEY
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from core.queue import queue_status
from loans.models import Installment, InstallmentStatus
from payments.models import Disbursement, DisbursementStatus, Payment, PaymentStatus

logger = logging.getLogger("reports.metrics")


def loan_book_gauges() -> dict[str, float]:
    """The numbers behind the data gauges, cached briefly (scrapes come from many workers)."""
    key = "awp:metrics:loan-book"
    values = cache.get(key)
    if values is not None:
        return values
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
