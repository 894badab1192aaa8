"""Periodic tasks are planned in Lagos time; Huey keeps its clock in UTC (``utc=True``) and its
crontab has no time zone of its own. ``lagos_crontab`` reads a crontab in Africa/Lagos time by
converting Huey's naive UTC timestamp before matching — the one place that conversion lives.
"""

from datetime import UTC
from zoneinfo import ZoneInfo

from huey import crontab

LAGOS = ZoneInfo("Africa/Lagos")


def lagos_crontab(**fields):
    """``huey.crontab(**fields)`` matched against the Lagos wall clock."""
    for name in ("hour", "minute"):
        value = fields.get(name)
        if isinstance(value, int):
            limit = 23 if name == "hour" else 59
            if not 0 <= value <= limit:
                raise ValueError(f"{name} must be 0–{limit}")
            fields[name] = str(value)
    matches = crontab(**fields)

    def validate(timestamp):
        local = timestamp.replace(tzinfo=UTC).astimezone(LAGOS).replace(tzinfo=None)
        return matches(local)

    return validate
