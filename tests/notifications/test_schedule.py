"""The periodic tasks run at Lagos times although Huey keeps its clock in UTC."""

from datetime import datetime

from core.clock import lagos_crontab
from notifications import tasks


def test_daily_reminders_run_at_nine_in_lagos_which_is_eight_utc():
    check = tasks.daily_reminders_task.task_class().validate_datetime
    # Huey (utc=True) passes naive UTC timestamps to periodic checks.
    assert check(datetime(2026, 3, 2, 8, 0))
    assert not check(datetime(2026, 3, 2, 9, 0))
    assert not check(datetime(2026, 3, 2, 8, 1))
    # Catch-up runs (idempotent) at 13:00 and 17:00 Lagos; never at night.
    runs = [hour for hour in range(24) if check(datetime(2026, 3, 2, hour, 0))]
    assert runs == [8, 12, 16]


def test_lagos_crontab_crosses_midnight_correctly():
    at_half_past_midnight_lagos = lagos_crontab(hour="0", minute="30")
    assert at_half_past_midnight_lagos(datetime(2026, 3, 1, 23, 30))  # 00:30 on 2 March in Lagos
    assert not at_half_past_midnight_lagos(datetime(2026, 3, 2, 0, 30))


def test_the_sweeper_runs_every_five_minutes():
    check = tasks.sweep_messages_task.task_class().validate_datetime
    assert check(datetime(2026, 3, 2, 7, 0)) and check(datetime(2026, 3, 2, 7, 5))
    assert not check(datetime(2026, 3, 2, 7, 3))
