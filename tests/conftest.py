import shutil

import pytest
from django.conf import settings


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    # django-redis: delete only this worker's prefixed keys (clear() would FLUSHDB for all).
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()
    from core import row_counts

    row_counts._estimates.clear()  # the per-process memo of PostgreSQL's row estimates
    yield


@pytest.fixture
def redis_down(settings):
    """The production cache configuration pointed at a port where nothing listens."""
    dead = "redis://127.0.0.1:9/0"
    settings.REDIS_URL = dead
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "BACKEND": "core.cache.CountingRedisCache",
            "LOCATION": dead,
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 1,
                "SOCKET_TIMEOUT": 1,
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    return dead


@pytest.fixture(scope="session", autouse=True)
def _private_media():
    yield
    shutil.rmtree(settings.PRIVATE_MEDIA_ROOT, ignore_errors=True)


@pytest.fixture
def member(db):
    from tests.factories import MemberFactory

    return MemberFactory()


@pytest.fixture
def officer(db):
    from tests.factories import make_officer

    return make_officer()


@pytest.fixture
def finance(db):
    from tests.factories import make_finance

    return make_finance()


@pytest.fixture
def administrator(db):
    from tests.factories import make_admin

    return make_admin()


@pytest.fixture(autouse=True)
def _migrated_reference_data(request):
    """Role groups and the chart of accounts come from data migrations. A transactional test
    flushes every table afterwards, so restore them (cheaply, only when missing) before any
    test that touches the database."""
    marker = request.node.get_closest_marker("django_db")
    uses_db = marker is not None or {"db", "transactional_db", "live_server"} & set(
        request.fixturenames
    )
    if uses_db:
        if marker is not None and marker.kwargs.get("transaction"):
            request.getfixturevalue("transactional_db")
        else:
            request.getfixturevalue("db")
        from django.apps import apps
        from django.contrib.auth.models import Group

        from ledger.chart import CHART, ensure_chart
        from ledger.models import Account
        from members.roles import ROLES, sync_role_permissions
        from members.service_year import ensure_shipped_calendar

        if Group.objects.filter(name__in=ROLES).count() != len(ROLES):
            sync_role_permissions(apps)
        if Account.objects.count() != len(CHART):
            ensure_chart()
        ensure_shipped_calendar()
    yield
