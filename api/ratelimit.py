"""API rate limits: fixed windows counted in the Django cache (Redis in production), so
every gunicorn process and instance shares one count.

Anonymous callers are counted per client IP, signed-in callers (session or token) per user.
Limits and window come from settings (``API_RATE_LIMIT_ANON``, ``API_RATE_LIMIT_AUTH``,
``API_RATE_LIMIT_WINDOW_SECONDS``) so tests can use small values.
"""

import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from api.auth import rate_limit_identity
from portal.audit import client_ip

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int


def _count(key: str, *, ttl: int) -> int | None:
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
        except Exception:  # noqa: BLE001 - Redis down: the caller fails open
            logger.debug("rate limit counter unavailable", exc_info=True)
            return None
    # add() creates the counter with the window's lifetime only if missing; incr() is atomic.
    cache.add(key, 0, timeout=ttl)
    try:
        return cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.add(key, 1, timeout=ttl)
        return 1


def check_rate_limit(request) -> Verdict:
    window = max(1, int(settings.API_RATE_LIMIT_WINDOW_SECONDS))
    user_key = rate_limit_identity(request)
    if user_key is not None:
        limit, subject = int(settings.API_RATE_LIMIT_AUTH), f"u:{user_key}"
    else:
        limit, subject = int(settings.API_RATE_LIMIT_ANON), f"ip:{client_ip(request)}"
    now = time.time()
    window_start = int(now // window) * window
    key = f"api-rl:{subject}:{window_start}"
    count = _count(key, ttl=window + 1)
    retry_after = max(1, math.ceil(window_start + window - now))
    if count is None:
        # The cache is unreachable (django-redis ignores the error and answers None): the API
        # keeps serving without a limit rather than failing every call until Redis is back.
        logger.warning("rate limit not counted: cache unavailable", extra={"event": "api.rl"})
        return Verdict(True, limit, limit, retry_after)
    return Verdict(count <= limit, limit, max(0, limit - count), retry_after)
