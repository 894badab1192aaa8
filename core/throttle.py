"""Fixed-window counters in the Django cache (Redis in production), shared by every process
and instance. The JSON API's rate limits (``api/ratelimit.py``) and the member lookups that
could tell whether someone is a customer (``members/lookups.py``) count here."""

import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int
    # True for the first refused call of a window only: what an audit row is written for,
    # so a flood of refused calls cannot flood the audit trail too.
    first_refusal: bool = False


def count(key: str, *, ttl: int) -> int | None:
    """Add one to the window's counter and return it; None when the cache cannot count."""
    if settings.REDIS_URL:
        # One round trip: INCR creates the counter, EXPIRE NX gives it the window's lifetime
        # only the first time; MULTI keeps the two together.
        try:
            from django_redis import get_redis_connection

            pipe = get_redis_connection("default").pipeline(transaction=True)
            full_key = cache.make_key(key)
            pipe.incr(full_key)
            pipe.expire(full_key, ttl, nx=True)
            return int(pipe.execute()[0])
        except Exception:  # noqa: BLE001 - Redis down: the caller decides
            logger.debug("rate limit counter unavailable", exc_info=True)
            return None
    # add() creates the counter with the window's lifetime only if missing; incr() is atomic.
    cache.add(key, 0, timeout=ttl)
    try:
        return cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.add(key, 1, timeout=ttl)
        return 1


def hit(scope: str, subject: str, *, limit: int, window: int, fail_open: bool = True) -> Verdict:
    """Count one call of ``subject`` in ``scope`` and say whether it is within ``limit`` per
    ``window`` seconds. With the cache unreachable the call is allowed when ``fail_open``."""
    window = max(1, int(window))
    now = time.time()
    window_start = int(now // window) * window
    retry_after = max(1, math.ceil(window_start + window - now))
    current = count(f"{scope}:{subject}:{window_start}", ttl=window + 1)
    if current is None:
        logger.warning("%s not counted: cache unavailable", scope, extra={"event": "throttle"})
        return Verdict(fail_open, limit, limit if fail_open else 0, retry_after)
    return Verdict(
        current <= limit, limit, max(0, limit - current), retry_after, current == limit + 1
    )
