"""Lagos days and the UTC clock.

Reports are about Lagos days (Africa/Lagos is UTC+1 all year: WAT, no daylight saving), while
timestamps are stored in UTC; the Lagos-day conversions live here (periodic tasks use
``core.schedules.lagos_crontab``).
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

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
