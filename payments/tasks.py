"""Thin Huey wrappers around payment services, plus the periodic disbursement sweeper."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from loans.models import Loan
from notifications.services import notify_member
from payments import services
from payments.models import Payment


@db_task(retries=5, retry_delay=30)
def send_disbursement_task(disbursement_id: int):
    services.send_disbursement(disbursement_id=disbursement_id)


@db_task(retries=8, retry_delay=30)
def process_webhook_task(event_id: int):
    services.process_webhook(event_id=event_id)


@db_periodic_task(crontab(minute="*/2"))
@lock_task("requeue-stale-webhooks")
def requeue_stale_webhooks_task():
    for event_id in services.stale_webhook_events()[:500]:
        process_webhook_task(event_id)


@db_periodic_task(crontab(minute="*/5"))
@lock_task("sweep-disbursements")
def sweep_disbursements_task():
    services.sweep_disbursements()


@db_task(retries=5, retry_delay=60)
def notify_loan_task(loan_id: int, template: str):
    loan = Loan.objects.select_related("member__user").get(pk=loan_id)
    notify_member(
        member=loan.member,
        kind=template,
        context={"loan": loan},
        dedupe_key=f"{template}:{loan.pk}",
    )


@db_task(retries=5, retry_delay=60)
def notify_payment_task(payment_id: int):
    payment = Payment.objects.select_related("member__user", "loan").get(pk=payment_id)
    if payment.member is not None:
        notify_member(
            member=payment.member,
            kind="payment_received",
            context={"payment": payment, "loan": payment.loan},
            dedupe_key=f"payment_received:{payment.pk}",
        )
