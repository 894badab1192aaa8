import time

import django_filters
import django_tables2 as tables
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from core.filters import IdFilter
from core.mail import mail_backlog
from core.models import AuditEvent
from core.permissions import StaffPermissionRequiredMixin
from core.queue import queue_status
from core.tables import HtmxTableView


@never_cache
def healthz(request):
    """The process is alive. No dependencies are touched."""
    return JsonResponse({"status": "ok"})


def _check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache():
    key = "readyz:probe"
    cache.set(key, "1", 10)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return the probe value")


def _check_mail():
    """Account mail waiting for the worker (reported; a backlog alone is not unready)."""
    backlog = mail_backlog()
    return {
        "waiting": backlog.waiting,
        "oldest_seconds": backlog.oldest_seconds,
        "gave_up": backlog.gave_up,
    }


def _check_queue():
    from huey.contrib.djhuey import HUEY

    return queue_status(HUEY)


@never_cache
def readyz(request):
    """Database, cache and queue reachable; 503 if any is not. The queue check also reports
    its depth and how long the next task has waited (deploy/monitor.sh alerts on both); the
    mail check, the account mail waiting for the worker."""
    checks, ready = {}, True
    for name, check in (
        ("database", _check_database),
        ("cache", _check_cache),
        ("queue", _check_queue),
        ("mail", _check_mail),
    ):
        started = time.perf_counter()
        try:
            detail = check() or {}
            checks[name] = {"ok": True, **detail}
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            ready = False
            checks[name] = {"ok": False, "error": type(exc).__name__}
        checks[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)
    if settings.REDIS_URL and checks["cache"]["ok"]:
        # django-redis ignores Redis errors for pages; readiness must not.
        try:
            from django_redis import get_redis_connection

            get_redis_connection("default").ping()
        except Exception as exc:  # noqa: BLE001
            ready = False
            checks["cache"] = {"ok": False, "error": type(exc).__name__}
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )


class AuditFilter(django_filters.FilterSet):
    action = django_filters.CharFilter(lookup_expr="istartswith", label="Action starts with")
    object_type = django_filters.CharFilter(label="Object type")
    object_id = django_filters.CharFilter(label="Object id")
    actor = IdFilter(field_name="actor_id", label="Actor id")

    class Meta:
        model = AuditEvent
        fields = ["action", "object_type", "object_id", "actor"]


class AuditTable(tables.Table):
    class Meta:
        model = AuditEvent
        fields = (
            "created_at",
            "actor",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "ip",
            "changes",
        )
        order_by = ("-created_at",)


class AuditListView(StaffPermissionRequiredMixin, HtmxTableView):
    permission_required = ("portal.view_auditevent",)
    table_class = AuditTable
    filterset_class = AuditFilter
    page_title = "Audit log"
    row_noun = "events"

    def get_queryset(self):
        return AuditEvent.objects.select_related("actor")
