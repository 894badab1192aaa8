"""Cache backends that count hits and misses for the Prometheus metrics.

Only ``get`` is counted: it is what pages, sessions (cached_db) and rate limits read through.
A Redis outage (django-redis ignores the error and returns the default) counts as a miss,
which is what the site experiences.
"""

from django.core.cache.backends.locmem import LocMemCache
from django_redis.cache import RedisCache

from core.metrics import record_cache_read

_MISSING = object()


class _CountingGetMixin:
    def get(self, key, default=None, version=None, **kwargs):
        value = super().get(key, _MISSING, version=version, **kwargs)
        record_cache_read(hit=value is not _MISSING)
        return default if value is _MISSING else value


class CountingRedisCache(_CountingGetMixin, RedisCache):
    pass


class CountingLocMemCache(_CountingGetMixin, LocMemCache):
    pass
