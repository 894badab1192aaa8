"""Cache backends that count hits and misses for the Prometheus metrics.

Only ``get`` is counted: it is what pages, sessions (cached_db) and rate limits read through.
A Redis outage (django-redis ignores the error and returns the default) counts as a miss,
which is what the site experiences.
"""

from typing import TYPE_CHECKING, Any

from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django_redis.cache import RedisCache

from core.metrics import record_cache_read

_MISSING = object()

# The mixin sits before a cache backend: to the type checker it is one.
if TYPE_CHECKING:
    _Backend = BaseCache
else:
    _Backend = object


class _CountingGetMixin(_Backend):
    def get(self, key: Any, default: Any = None, version: int | None = None, **kwargs: Any) -> Any:
        value = super().get(key, _MISSING, version=version, **kwargs)
        record_cache_read(hit=value is not _MISSING)
        return default if value is _MISSING else value


class CountingRedisCache(_CountingGetMixin, RedisCache):
    pass


class CountingLocMemCache(_CountingGetMixin, LocMemCache):
    pass
