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
    yield


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
