"""Thin Huey wrappers: the daily report at 06:00 Lagos and the dashboard refresh."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from core.clock import lagos_crontab
from reports import dashboard, services

DAILY_REPORT_LAGOS_HOUR = 6


@db_periodic_task(
    lagos_crontab(minute=0, hour=DAILY_REPORT_LAGOS_HOUR),
    retries=3,
    retry_delay=600,
)
@lock_task("reports-daily-report")
def daily_report_task():
    services.run_daily_report()


@db_periodic_task(crontab(minute="*/5"))
def refresh_dashboard_task():
    dashboard.refresh_dashboard_figures()
