"""Thin Huey wrappers: partition maintenance of the append-only tables, nightly in Lagos;
sending the account mail written during requests (core/mail.py)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from core import jobs
from core.clock import lagos_crontab
from core.form_tokens import purge_old_submissions
from core.mail import SEND_JOB, send_due_mail, send_queued_mail
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


@jobs.job(SEND_JOB)
@db_task(retries=0)
def send_queued_mail_task(mail_id):
    send_queued_mail(mail_id)


# Every minute: mail whose job was lost (queue down at the time) or whose retry is due.
@db_periodic_task(crontab(minute="*"))
@lock_task("send-due-mail")
def send_due_mail_task():
    send_due_mail()
