"""Thin Huey wrapper: partition maintenance of the append-only tables, nightly in Lagos."""

from huey.contrib.djhuey import db_periodic_task, lock_task

from core.clock import lagos_crontab
from core.form_tokens import purge_old_submissions
from core.partitions import maintain_partitions


# 02:15 Lagos, a quiet hour: creating and detaching a month take a brief lock on each table.
# Months are made three ahead, so a few missed nights change nothing.
@db_periodic_task(lagos_crontab(hour=2, minute=15))
@lock_task("maintain-partitions")
def maintain_partitions_task():
    maintain_partitions()


# 02:40 Lagos: one-time form tokens older than a month can no longer be resubmitted usefully.
@db_periodic_task(lagos_crontab(hour=2, minute=40))
def purge_form_submissions_task():
    purge_old_submissions()
