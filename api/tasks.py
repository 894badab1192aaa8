"""Thin Huey wrapper: purge old Idempotency-Key answers every hour."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from api.services import purge_idempotency_keys


@db_periodic_task(crontab(minute="17"))
def purge_idempotency_keys_task():
    purge_idempotency_keys()
