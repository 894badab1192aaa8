"""The one clock: Lagos days, the UTC clock and Lagos-time schedules.

Reports are about Lagos days (Africa/Lagos is UTC+1 all year: WAT, no daylight saving), while
timestamps are stored in UTC; the Lagos-day conversions live here. Periodic tasks are planned
in Lagos time too: Huey keeps its clock in UTC (``utc=True``) and its crontab has no time zone
of its own, so ``lagos_crontab`` converts Huey's naive UTC timestamp before matching.
"""

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone
from huey import crontab

LAGOS = ZoneInfo("Africa/Lagos")


def lagos_day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a Lagos day as aware datetimes, for indexed range filters."""
    start = datetime.combine(day, time.min, tzinfo=LAGOS)
    return start, start + timedelta(days=1)


def lagos_today() -> date:
    return timezone.localtime(timezone.now(), LAGOS).date()


def previous_lagos_day() -> date:
    return lagos_today() - timedelta(days=1)


def month_start(day: date, months_back: int = 0) -> date:
    """First day of the month ``months_back`` months before ``day``'s month."""
    index = day.year * 12 + (day.month - 1) - months_back
    return date(index // 12, index % 12 + 1, 1)


def lagos_crontab(**fields: Any) -> Callable[[datetime], bool]:
    """``huey.crontab(**fields)`` matched against the Lagos wall clock."""
    for name in ("hour", "minute"):
        value = fields.get(name)
        if isinstance(value, int):
            limit = 23 if name == "hour" else 59
            if not 0 <= value <= limit:
                raise ValueError(f"{name} must be 0–{limit}")
            fields[name] = str(value)
    matches = crontab(**fields)

    def validate(timestamp: datetime) -> bool:
        local = timestamp.replace(tzinfo=UTC).astimezone(LAGOS).replace(tzinfo=None)
        return matches(local)

    return validate
