"""Thin Huey wrapper: the daily overdue run, early morning in Lagos."""

import logging

from huey.contrib.djhuey import db_periodic_task

from arrears.overdue import RunInProgress, run_overdue
from core.clock import lagos_crontab

logger = logging.getLogger(__name__)


@db_periodic_task(lagos_crontab(hour=5, minute=0))
def overdue_run_task():
    try:
        run_overdue()
    except RunInProgress:
        logger.warning("overdue run already in progress", extra={"event": "arrears.run_locked"})
