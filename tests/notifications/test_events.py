"""The lending journey's notify tasks all go through the message log."""

import pytest
import time_machine
from django.core import mail
from django.test import TestCase

from loans import services as loan_services
from notifications import tasks as notification_tasks
from notifications.models import Channel, Message, MessageStatus
from payments import services as payment_services
from simulator import sms as simulated_sms
from tests.factories import make_finance, make_officer, product
from tests.notifications.conftest import borrower, lagos

pytestmark = pytest.mark.django_db

on_commit = TestCase.captureOnCommitCallbacks


@pytest.fixture(autouse=True)
def _daytime():
    with time_machine.travel(lagos(2026, 3, 2, 11), tick=True):
        yield


def submitted(member):
    application = loan_services.start_application(
        member=member, actor=member.user, product=product(), amount=60_000_00, tenure=3
    )
    with on_commit(execute=True):
        loan_services.submit_application(
            application=application,
            actor=member.user,
            consent=True,
            shown_hash=application.key_facts_hash,
            ip=None,
            user_agent="",
        )
    application.refresh_from_db()
    return application


def test_every_member_message_of_the_journey_is_logged_and_sent_once():
    member = borrower()
    application = submitted(member)
    with on_commit(execute=True):
        loan_services.approve_application(application=application, actor=make_officer())
    loan = application.loan
    member.mark_payout_confirmed(member.full_name)
    member.save()
    with on_commit(execute=True):
        payment_services.record_manual_disbursement(
            loan=loan, actor=make_finance(), bank_reference="FT-EVENTS-1"
        )
    with on_commit(execute=True):
        payment = payment_services.record_manual_payment(
            loan=loan,
            actor=make_finance(),
            amount=10_000_00,
            reason="Part payment",
            evidence="RCPT-1",
        )

    expected = [
        f"application_received:{application.pk}",
        f"application_approved:{application.pk}",
        f"loan_disbursed:{loan.pk}",
        f"payment_received:{payment.pk}",
    ]
    rows = Message.objects.filter(member=member)
    assert sorted(rows.values_list("dedupe_key", flat=True)) == sorted(
        f"{key}:{channel}" for key in expected for channel in ("email", "sms")
    )
    assert set(rows.values_list("status", flat=True)) == {MessageStatus.SENT}
    assert len(mail.outbox) == 4 and len(simulated_sms.outbox) == 4
    assert {m.to[0] for m in mail.outbox} == {member.user.email}

    # Huey delivering a notify task a second time (a retry, a redelivery) sends nothing more.
    with on_commit(execute=True):
        notification_tasks.notify_application_task(application.pk, "application_approved")
        notification_tasks.notify_loan_task(loan.pk, "loan_disbursed")
        notification_tasks.notify_payment_task(payment.pk)
    assert rows.count() == 8 and len(mail.outbox) == 4


def test_each_request_for_information_is_its_own_message():
    member = borrower()
    application = submitted(member)
    officer = make_officer()
    for text in ("Please upload a clearer call-up letter.", "Please confirm your PPA address."):
        with on_commit(execute=True):
            loan_services.request_information(application=application, actor=officer, message=text)
    emails = Message.objects.filter(kind="application_info_requested", channel=Channel.EMAIL)
    assert emails.count() == 2
    assert [m.body for m in mail.outbox[-2:]] == [
        m.body for m in emails.order_by("created_at", "id")
    ]
    assert "Please upload a clearer call-up letter." in mail.outbox[-2].body
    assert "Please confirm your PPA address." in mail.outbox[-1].body
