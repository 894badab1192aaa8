"""Thin Huey wrappers around payment services, plus the periodic disbursement and refund
sweepers."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from core import jobs
from core.clock import lagos_crontab
from payments.services import checkout, credit, disbursement, refund_transfer, webhooks


@jobs.job("payments.send_disbursement")
@db_task(retries=5, retry_delay=30)
def send_disbursement_task(disbursement_id: int):
    disbursement.send_disbursement(disbursement_id=disbursement_id)


@jobs.job("payments.process_webhook")
@db_task(retries=8, retry_delay=30)
def process_webhook_task(event_id: int):
    webhooks.process_webhook(event_id=event_id)


@db_periodic_task(crontab(minute="*/2"))
@lock_task("requeue-stale-webhooks")
def requeue_stale_webhooks_task():
    for event_id in webhooks.stale_webhook_events()[:500]:
        process_webhook_task(event_id)


@db_periodic_task(crontab(minute="*/5"))
@lock_task("sweep-disbursements")
def sweep_disbursements_task():
    disbursement.sweep_disbursements()


@db_periodic_task(crontab(minute="*/15"))
@lock_task("expire-checkouts")
def expire_checkouts_task():
    checkout.expire_stale_checkouts()


# Before the overdue run (05:00): an installment the member's credit can pay is never late.
@db_periodic_task(lagos_crontab(hour=4, minute=30))
@lock_task("apply-due-credit")
def apply_due_credit_task():
    credit.apply_due_credit_everywhere()


@jobs.job("payments.send_refund")
@db_task(retries=5, retry_delay=30)
def send_refund_task(refund_id: int):
    refund_transfer.send_refund(refund_id=refund_id)


@db_periodic_task(crontab(minute="*/5"))
@lock_task("sweep-refunds")
def sweep_refunds_task():
    refund_transfer.sweep_refunds()
