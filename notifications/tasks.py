"""Huey tasks: the member messages of loan, payment and waiver events, delivery of one
message, the sweeper for due and deferred ones, daily reminders.

Provider failures never raise out of these tasks: ``deliver_message`` records them on the row
and the sweeper retries with growing delays, so no Huey-level retries are configured (they
would bypass the contact hours and the backoff kept on the row).
"""

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from core import jobs
from core.clock import lagos_crontab
from ledger.selectors import loan_balance
from loans.models import Application, Loan
from loans.signals import application_event
from members.models import Member
from members.signals import kyc_decided
from notifications import services
from notifications.services import notify_member
from payments.models import Payment
from payments.signals import loan_event, payment_received
from servicing.models import Restructure, Waiver
from servicing.signals import restructure_approved, restructure_proposed, waiver_applied


@jobs.job("notifications.deliver_message")
@db_task()
def deliver_message_task(message_id: int):
    services.deliver_message(message_id=message_id)


@jobs.job("notifications.deliver_due_messages")
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


# --- Messages for what happened on the loan and money side (connect_event_receivers) -------


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


@db_task(retries=5, retry_delay=60)
def notify_kyc_task(member_id: int, decision: str):
    member = Member.objects.select_related("user").get(pk=member_id)
    # A profile may be rejected, corrected and reviewed again: each decision is its own event.
    reviewed = member.kyc_reviewed_at.isoformat() if member.kyc_reviewed_at else ""
    notify_member(
        member=member,
        kind=f"kyc_{decision}",
        context={},
        dedupe_key=f"kyc_{decision}:{member.pk}:{reviewed}",
    )


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


@db_task(retries=5, retry_delay=60)
def notify_waiver_task(waiver_id: int):
    waiver = Waiver.objects.select_related("loan__member__user").get(pk=waiver_id)
    loan = waiver.loan
    notify_member(
        member=loan.member,
        kind="charges_waived",
        context={"waiver": waiver, "loan": loan, "balance": loan_balance(loan)},
        dedupe_key=f"charges_waived:{waiver.pk}",
    )


@db_task(retries=5, retry_delay=60)
def notify_restructure_task(restructure_id: int, kind: str):
    restructure = Restructure.objects.select_related("loan__member__user").get(pk=restructure_id)
    loan = restructure.loan
    notify_member(
        member=loan.member,
        kind=kind,
        context={"restructure": restructure, "terms": restructure.terms, "loan": loan},
        dedupe_key=f"{kind}:{restructure.pk}",
    )


def connect_event_receivers() -> None:
    """Each committed event of loans, payments and servicing queues its member message."""

    def on_application_event(sender, application_id, template, **kwargs):
        notify_application_task(application_id, template)

    def on_kyc_decided(sender, member_id, decision, **kwargs):
        notify_kyc_task(member_id, decision)

    def on_loan_event(sender, loan_id, template, **kwargs):
        notify_loan_task(loan_id, template)

    def on_payment_received(sender, payment_id, **kwargs):
        notify_payment_task(payment_id)

    def on_waiver_applied(sender, waiver_id, **kwargs):
        notify_waiver_task(waiver_id)

    def on_restructure_proposed(sender, restructure_id, **kwargs):
        notify_restructure_task(restructure_id, "restructure_offered")

    def on_restructure_approved(sender, restructure_id, **kwargs):
        notify_restructure_task(restructure_id, "restructure_approved")

    application_event.connect(on_application_event, dispatch_uid="notify-application-event")
    loan_event.connect(on_loan_event, dispatch_uid="notify-loan-event")
    kyc_decided.connect(on_kyc_decided, dispatch_uid="notify-kyc-decided")
    payment_received.connect(on_payment_received, dispatch_uid="notify-payment-received")
    waiver_applied.connect(on_waiver_applied, dispatch_uid="notify-waiver-applied")
    restructure_proposed.connect(on_restructure_proposed, dispatch_uid="notify-restructure-offer")
    restructure_approved.connect(on_restructure_approved, dispatch_uid="notify-restructure-done")
