"""Response cache for anonymous product and quote reads.

Only anonymous requests are served from or stored in this cache: a signed-in caller (session
or token) may see more (staff see inactive products, members get their own eligibility), so
their answers are always computed. Keys carry the products' generation (core.caching,
bumped by loans.selectors with the cached active products on any product change), plus the
Lagos date for quotes (due dates move with "today"). Hits and misses are
counted by the one cache-hit counter (``core.caching.count``, area "api"), shared across
processes and fed to the metrics like every other area.
"""

import hashlib
import json

from django.core.cache import cache
from django.http import HttpResponse

from core import caching
from loans.selectors import PRODUCTS_GENERATION

PRODUCTS_TTL_SECONDS = 30 * 60
AREA = "api"


def response_key(request, *parts: str) -> str:
    query = sorted(request.GET.lists())
    raw = json.dumps([request.path, query, parts], separators=(",", ":"))
    digest = hashlib.sha256(raw.encode()).hexdigest()[:32]
    return f"api-cache:v{caching.generation(PRODUCTS_GENERATION)}:{digest}"


def get_cached(key: str) -> HttpResponse | None:
    body = cache.get(key)
    if body is None:
        caching.count(AREA, hit=False)
        return None
    caching.count(AREA, hit=True)
    response = HttpResponse(body, content_type="application/json")
    response["X-Cache"] = "hit"
    return response


def store(key: str, response: HttpResponse, ttl: int = PRODUCTS_TTL_SECONDS) -> HttpResponse:
    if response.status_code == 200:
        cache.set(key, response.content, timeout=ttl)
    response["X-Cache"] = "miss"
    return response


def hit_rate() -> dict:
    return caching.stats().get(AREA, {"hits": 0, "misses": 0, "hit_rate": None})


def reset_counters() -> None:
    caching.reset_stats(AREA)
