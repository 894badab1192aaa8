"""Thin Huey wrappers: the daily report at 06:00 Lagos and the dashboard refresh.

Huey runs with ``utc=True`` and its crontab has no time zone, so the Lagos hour is turned
into a UTC hour by ``reports.clock.utc_hour_for_lagos`` (06:00 WAT = 05:00 UTC).
"""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from reports import dashboard, services
from reports.clock import utc_hour_for_lagos

DAILY_REPORT_LAGOS_HOUR = 6


@db_periodic_task(
    crontab(minute="0", hour=str(utc_hour_for_lagos(DAILY_REPORT_LAGOS_HOUR))),
    retries=3,
    retry_delay=600,
)
@lock_task("reports-daily-report")
def daily_report_task():
    services.run_daily_report()


@db_periodic_task(crontab(minute="*/5"))
def refresh_dashboard_task():
    dashboard.refresh_dashboard_figures()
