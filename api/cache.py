"""Response cache for anonymous product and quote reads.

Only anonymous requests are served from or stored in this cache: a signed-in caller (session
or token) may see more (staff see inactive products, members get their own eligibility), so
their answers are always computed. Keys carry a product version that any product change
bumps, plus the Lagos date for quotes (due dates move with "today"). Hits and misses are
counted in the cache itself so the hit rate can be measured across processes.
"""

import hashlib
import json

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpResponse

from loans.models import LoanProduct

PRODUCTS_TTL_SECONDS = 30 * 60
VERSION_KEY = "api-cache:products-version"
HITS_KEY = "api-cache:hits"
MISSES_KEY = "api-cache:misses"


def _version() -> int:
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, 1, timeout=None)
        version = cache.get(VERSION_KEY) or 1
    return int(version)


def bump_products_version() -> None:
    cache.add(VERSION_KEY, 1, timeout=None)
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.set(VERSION_KEY, 2, timeout=None)


@receiver(post_save, sender=LoanProduct)
@receiver(post_delete, sender=LoanProduct)
def _product_changed(sender, **kwargs):
    bump_products_version()


def response_key(request, *parts: str) -> str:
    query = sorted(request.GET.lists())
    raw = json.dumps([request.path, query, parts], separators=(",", ":"))
    digest = hashlib.sha256(raw.encode()).hexdigest()[:32]
    return f"api-cache:v{_version()}:{digest}"


def _count(key: str) -> None:
    cache.add(key, 0, timeout=None)
    try:
        cache.incr(key)
    except ValueError:
        pass


def get_cached(key: str) -> HttpResponse | None:
    body = cache.get(key)
    if body is None:
        _count(MISSES_KEY)
        return None
    _count(HITS_KEY)
    response = HttpResponse(body, content_type="application/json")
    response["X-Cache"] = "hit"
    return response


def store(key: str, response: HttpResponse, ttl: int = PRODUCTS_TTL_SECONDS) -> HttpResponse:
    if response.status_code == 200:
        cache.set(key, response.content, timeout=ttl)
    response["X-Cache"] = "miss"
    return response


def hit_rate() -> dict:
    hits = int(cache.get(HITS_KEY) or 0)
    misses = int(cache.get(MISSES_KEY) or 0)
    total = hits + misses
    return {"hits": hits, "misses": misses, "hit_rate": hits / total if total else None}


def reset_counters() -> None:
    cache.delete_many([HITS_KEY, MISSES_KEY])
