"""Read-through caching of the few things read far more often than they change.

| what | key | fresh for | invalidated by |
|---|---|---|---|
| a member's own profile (dashboard) | ``profile:<user id>`` | 10 min | any save of that member |
| active loan products | ``products`` | 30 min | any save/delete of a product |
| back-office searches | ``search:<view>:<gen>:<hash>`` | 3 min | a save of that model (new gen) |

What is cached is decided by the app that owns it (``loans.selectors.cached_active_products``,
``members.selectors.own_profile``), which also connects the invalidation. Keys are per object
or per query, never per URL: a page is never cached whole, so what one
user may see can never be served to another (see tests/core/test_caching.py). Pages behind
a login are sent with ``Cache-Control: private``.

**Stampedes.** A value is stored with a soft expiry and kept a minute longer. The first
reader after the soft expiry takes a short lock (``cache.add``) and rebuilds it; everyone
else keeps getting the previous value meanwhile, so a popular key that expires costs one
rebuild, not one per concurrent request. A cold key is rebuilt by the lock holder while the
others wait up to half a second for it before building it themselves.

**Counting.** ``count`` is the one cache-hit counter of the application's caches: each read
counts a hit or a miss per area (these areas, and "api" for the API's response cache) in a
Redis hash in production, shared by every process (a process-local counter otherwise), and in
the Prometheus counter ``awp_app_cache_requests_total{area,result}``; ``manage.py
monitor_stats`` prints them as ``app_cache``. (The cache backend itself counts every raw read
as ``awp_cache_requests_total``: core.cache.)
"""

import hashlib
import logging
import time
from collections import Counter

from django.conf import settings
from django.core.cache import cache

from core.metrics import record_cache_read

log = logging.getLogger(__name__)

TTL = {"profile": 10 * 60, "products": 30 * 60, "search": 3 * 60}
GRACE_SECONDS = 60
LOCK_SECONDS = 10
WAIT_SECONDS = 0.5

_local_stats: Counter = Counter()


def _stats_key() -> str:
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    return f"{prefix}:cachestats" if prefix else "cachestats"


def _redis():
    if not settings.REDIS_URL:
        return None
    try:
        from django_redis import get_redis_connection

        return get_redis_connection("default")
    except Exception:  # noqa: BLE001 - counting must never break a page
        return None


def count(area: str, *, hit: bool) -> None:
    record_cache_read(hit=hit, area=area)
    field = f"{area}:{'hit' if hit else 'miss'}"
    client = _redis()
    if client is None:
        _local_stats[field] += 1
        return
    try:
        client.hincrby(_stats_key(), field, 1)
    except Exception:  # noqa: BLE001
        log.debug("cache stats not counted", exc_info=True)


def stats() -> dict:
    """``{area: {"hits": n, "misses": n, "hit_rate": r}}`` since the counters started."""
    client = _redis()
    raw = dict(_local_stats)
    if client is not None:
        raw = {k.decode(): int(v) for k, v in client.hgetall(_stats_key()).items()}
    areas: dict = {}
    for field, value in raw.items():
        area, kind = field.rsplit(":", 1)
        areas.setdefault(area, {"hits": 0, "misses": 0})[{"hit": "hits"}.get(kind, "misses")] = (
            value
        )
    for figures in areas.values():
        total = figures["hits"] + figures["misses"]
        figures["hit_rate"] = round(figures["hits"] / total, 4) if total else None
    return areas


def reset_stats(area: str | None = None) -> None:
    """Start the counters again: every area's, or only ``area``'s."""
    client = _redis()
    if area is None:
        _local_stats.clear()
        if client is not None:
            client.delete(_stats_key())
        return
    fields = [f"{area}:hit", f"{area}:miss"]
    for field in fields:
        _local_stats.pop(field, None)
    if client is not None:
        client.hdel(_stats_key(), *fields)


def cached(area: str, key: str, build, *, ttl: int | None = None):
    """The value under ``area:key``, built by ``build()`` when missing or stale."""
    ttl = TTL[area] if ttl is None else ttl
    full_key = f"{area}:{key}"
    envelope = cache.get(full_key)
    now = time.time()
    if envelope is not None:
        value, fresh_until = envelope
        if now < fresh_until:
            count(area, hit=True)
            return value
        # Stale: one reader rebuilds, the others serve the previous value meanwhile.
        if not cache.add(f"lock:{full_key}", 1, LOCK_SECONDS):
            count(area, hit=True)
            return value
        count(area, hit=False)
        return _rebuild(full_key, build, ttl)
    count(area, hit=False)
    if cache.add(f"lock:{full_key}", 1, LOCK_SECONDS):
        return _rebuild(full_key, build, ttl)
    deadline = now + WAIT_SECONDS
    while time.time() < deadline:
        time.sleep(0.02)
        envelope = cache.get(full_key)
        if envelope is not None:
            return envelope[0]
    return build()


def _rebuild(full_key: str, build, ttl: int):
    try:
        value = build()
        cache.set(full_key, (value, time.time() + ttl), ttl + GRACE_SECONDS)
        return value
    finally:
        cache.delete(f"lock:{full_key}")


def forget(area: str, key: str) -> None:
    cache.delete(f"{area}:{key}")


# --- Generations: invalidate every cached search over a model at once -----------------------


def generation(name: str) -> int:
    key = f"gen:{name}"
    value = cache.get(key)
    if value is None:
        # Store generation 0 on first use. Left missing, the key was a cache miss on every
        # back-office search until the next save of the model (the load test found 2 misses
        # per search, a tenth of all Redis misses).
        cache.add(key, 0, None)
        return 0
    return value


def bump_generation(name: str) -> None:
    key = f"gen:{name}"
    if not cache.add(key, 1, None):
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, None)


def query_key(*parts) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
