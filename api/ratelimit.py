"""API rate limits: fixed windows counted in the Django cache (Redis in production), so
every gunicorn process and instance shares one count.

Anonymous callers are counted per client IP, signed-in callers (session or token) per user.
Limits and window come from settings (``API_RATE_LIMIT_ANON``, ``API_RATE_LIMIT_AUTH``,
``API_RATE_LIMIT_WINDOW_SECONDS``) so tests can use small values.
"""

import logging
import math
import time

from django.conf import settings

from api.auth import rate_limit_identity
from core import throttle
from core.audit import client_ip
from core.throttle import Verdict

logger = logging.getLogger(__name__)


def _count(key: str, *, ttl: int) -> int | None:
    """One counter for the whole site (``core.throttle``)."""
    return throttle.count(key, ttl=ttl)


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
