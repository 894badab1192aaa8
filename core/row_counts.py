"""The size of a back-office list without COUNT(*) (shown above every HtmxTableView).

An unfiltered list shows PostgreSQL's own estimate of its size (the planner's row estimate,
from ``EXPLAIN``); a filtered one counts at most ``COUNT_CAP + 1`` rows and shows "1,000+"
beyond.
"""

import json
import time

from django.db import connections

# "1,000+": enough to tell an officer a filter is too broad, and counting more than that
# would cost more than the page itself.
COUNT_CAP = 1_000
SMALL_LIST = 1_000


# The planner's estimate moves only when ANALYZE runs; asking for it again on every page view
# costs a round trip and a planning of the query. Each process keeps the answer a minute,
# keyed by the exact SQL and parameters (a list narrowed per user is another key).
ESTIMATE_SECONDS = 60
_estimates: dict[tuple, tuple[float, int]] = {}


def estimated_rows(queryset) -> int | None:
    """The planner's estimate of how many rows the query returns (PostgreSQL), no scan."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    key = (queryset.db, sql, tuple(map(repr, params)))
    now = time.monotonic()
    known = _estimates.get(key)
    if known is not None and now - known[0] < ESTIMATE_SECONDS:
        return known[1]
    if len(_estimates) >= 500:  # filtered lists are many; forget them all now and then
        _estimates.clear()
    rows = _explain_rows(connection, sql, params)
    _estimates[key] = (now, rows)
    return rows


def _explain_rows(connection, sql, params) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def capped_count(queryset, cap: int = COUNT_CAP) -> int:
    """Exact up to ``cap``; ``cap + 1`` means "more than cap".

    The list's own ordering is kept: the database then walks the same index the page itself
    uses and stops after ``cap + 1`` entries, instead of picking a scan whose cost depends on
    where the matching rows happen to lie."""
    return queryset.values("pk")[: cap + 1].count()


def row_count_label(queryset, *, filtered: bool, noun: str = "rows") -> str:
    if not filtered:
        estimate = estimated_rows(queryset)
        # A small list is counted exactly (cheap, and "about 12" would look wrong).
        if estimate is not None and estimate >= SMALL_LIST:
            return f"about {estimate:,} {noun}"
    return _exact_label(capped_count(queryset), noun)


def _exact_label(count: int, noun: str) -> str:
    if count > COUNT_CAP:
        return f"{COUNT_CAP:,}+ {noun}"
    return f"{count:,} {noun[:-1] if count == 1 and noun.endswith('s') else noun}"
