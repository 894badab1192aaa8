"""Thin Huey wrappers around loan services."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from loans import services
from loans.models import Application
from notifications.services import notify_member


@db_task(retries=3, retry_delay=2)
def assess_application_task(application_id: int):
    services.assess_application(application_id=application_id)


@db_periodic_task(crontab(minute="*/5"))
@lock_task("requeue-stale-assessments")
def requeue_stale_assessments_task():
    for application_id in services.stale_submissions()[:500]:
        assess_application_task(application_id)


@db_task(retries=5, retry_delay=60)
def notify_application_task(application_id: int, template: str):
    application = Application.objects.select_related("member__user").get(pk=application_id)
    loan = getattr(application, "loan", None) if application.status == "approved" else None
    event = application.pk
    if template == "application_info_requested":
        # Information may be asked for more than once: each request is its own event.
        event = f"{application.pk}:{application.notes.filter(visible_to_member=True).count()}"
    notify_member(
        member=application.member,
        kind=template,
        context={"application": application, "loan": loan},
        dedupe_key=f"{template}:{event}",
    )
