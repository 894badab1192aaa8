"""Periodic tasks are planned in Lagos time; Huey runs its clock in UTC (``utc=True``).

West Africa Time is UTC+1 all year (Nigeria keeps no daylight saving), so a Lagos hour is
one fixed shift from UTC.
"""

from huey import crontab

LAGOS_UTC_OFFSET_HOURS = 1


def lagos_crontab(*, hour: int, minute: int = 0, **kwargs):
    """A daily crontab at ``hour:minute`` Africa/Lagos."""
    if not 0 <= hour <= 23 or not 0 <= minute <= 59:
        raise ValueError("hour 0–23 and minute 0–59")
    return crontab(minute=str(minute), hour=str((hour - LAGOS_UTC_OFFSET_HOURS) % 24), **kwargs)
