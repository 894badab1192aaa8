"""Thin Huey wrappers around loan services."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from core import jobs
from core.clock import lagos_crontab
from loans import services


@jobs.job("loans.assess_application")
@db_task(retries=3, retry_delay=2)
def assess_application_task(application_id: int):
    services.assess_application(application_id=application_id)


@db_periodic_task(crontab(minute="*/5"))
@lock_task("requeue-stale-assessments")
def requeue_stale_assessments_task():
    for application_id in services.stale_submissions()[:500]:
        assess_application_task(application_id)


# 06:15 Lagos, before the working day: approvals not paid out in time are cancelled and the
# member told; a missed run is caught up the next day (expiry is by date, not by run).
@db_periodic_task(lagos_crontab(hour="6", minute="15"))
@lock_task("expire-approvals")
def expire_approvals_task():
    services.expire_approvals()
