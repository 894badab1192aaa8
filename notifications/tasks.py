"""Huey tasks: deliver one message, the sweeper for due and deferred ones, daily reminders.

Provider failures never raise out of these tasks: ``deliver_message`` records them on the row
and the sweeper retries with growing delays, so no Huey-level retries are configured (they
would bypass the contact hours and the backoff kept on the row).
"""

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from core.schedules import lagos_crontab
from notifications import services


@db_task()
def deliver_message_task(message_id: int):
    services.deliver_message(message_id=message_id)


@db_task()
def deliver_due_messages_task():
    services.deliver_due_messages()


@db_periodic_task(crontab(minute="*/5"))
@lock_task("sweep-member-messages")
def sweep_messages_task():
    services.deliver_due_messages()


# 09:00 Lagos, with catch-up runs at 13:00 and 17:00 in case the worker was down in the
# morning: a run finds the day's reminders already written and creates nothing twice.
@db_periodic_task(lagos_crontab(hour="9,13,17", minute="0"))
@lock_task("daily-reminders")
def daily_reminders_task():
    services.queue_reminders(on=timezone.localdate())
