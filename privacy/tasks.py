"""Thin Huey wrapper: anonymise members whose deletion is due, every night in Lagos."""

from huey.contrib.djhuey import db_periodic_task

from core.clock import lagos_crontab
from privacy.deletion import anonymise_due


@db_periodic_task(lagos_crontab(hour=3, minute=30))
def anonymise_due_members_task():
    anonymise_due()
