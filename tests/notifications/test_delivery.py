"""Contact hours, retries, at-most-once delivery and only-the-member addressing."""

import logging
import smtplib
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import TestCase
from django.utils import timezone

from notifications import services, sms
from notifications.models import Channel, Message, MessageStatus
from notifications.services import deliver_due_messages, deliver_message, notify_member
from simulator import sms as simulated_sms
from tests.factories import approved_loan
from tests.notifications.conftest import borrower, lagos

pytestmark = pytest.mark.django_db

on_commit = TestCase.captureOnCommitCallbacks


def notify(member, **kwargs):
    """Notify as the product does: rows in a transaction, delivery after commit."""
    application = kwargs.pop("application", None) or approved_loan(member=member).application
    with on_commit(execute=True):
        return notify_member(
            member=member,
            kind="application_approved",
            context={"application": application, "loan": application.loan},
            **kwargs,
        )


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        (lagos(2026, 3, 2, 7, 59, 59), False),
        (lagos(2026, 3, 2, 8, 0, 0), True),
        (lagos(2026, 3, 2, 20, 59, 59), True),
        (lagos(2026, 3, 2, 21, 0, 0), False),
        (lagos(2026, 3, 2, 3, 0, 0), False),
    ],
)
def test_contact_hours_are_eight_to_nine_in_lagos(moment, inside):
    assert services.is_contact_time(moment) is inside
    # The same instant expressed in UTC gives the same answer.
    assert services.is_contact_time(moment.astimezone(timezone.UTC)) is inside


def test_next_contact_time_is_the_next_eight_oclock():
    assert services.next_contact_time(lagos(2026, 3, 2, 22, 30)) == lagos(2026, 3, 3, 8)
    assert services.next_contact_time(lagos(2026, 3, 2, 3, 0)) == lagos(2026, 3, 2, 8)
    assert services.next_contact_time(lagos(2026, 3, 2, 12, 0)) == lagos(2026, 3, 2, 12)


def test_message_in_contact_hours_is_sent_at_once_and_logged():
    with time_machine.travel(lagos(2026, 3, 2, 10), tick=False):
        member = borrower()
        messages = notify(member)
    assert {m.channel for m in messages} == {Channel.EMAIL, Channel.SMS}
    assert len(mail.outbox) == 1 and len(simulated_sms.outbox) == 1
    for message in Message.objects.filter(member=member):
        assert message.status == MessageStatus.SENT
        assert message.attempts == 1
        assert message.sent_at == lagos(2026, 3, 2, 10)
        assert message.last_error == ""
    assert mail.outbox[0].subject.startswith("[AllaweePlus] Your loan")
    assert mail.outbox[0].alternatives[0].mimetype == "text/html"


@pytest.mark.parametrize(
    ("late", "opening"),
    [
        (lagos(2026, 3, 2, 21, 0), lagos(2026, 3, 3, 8)),
        (lagos(2026, 3, 2, 23, 45), lagos(2026, 3, 3, 8)),
        (lagos(2026, 3, 3, 3, 0), lagos(2026, 3, 3, 8)),
        (lagos(2026, 3, 3, 7, 59), lagos(2026, 3, 3, 8)),
    ],
)
def test_message_outside_contact_hours_waits_for_eight_and_the_sweeper_sends_it(late, opening):
    with time_machine.travel(late, tick=False):
        member = borrower()
        notify(member)
        # The sweeper runs every few minutes through the night and sends nothing.
        with on_commit(execute=True):
            assert deliver_due_messages() == 0
    assert mail.outbox == [] and simulated_sms.outbox == []
    rows = Message.objects.filter(member=member)
    assert {(m.status, m.scheduled_for, m.attempts) for m in rows} == {
        (MessageStatus.DEFERRED, opening, 0)
    }

    with time_machine.travel(opening - timedelta(seconds=1), tick=False):
        assert deliver_due_messages() == 0
    with time_machine.travel(opening + timedelta(minutes=2), tick=False):
        with on_commit(execute=True):
            assert deliver_due_messages() == 2
    assert len(mail.outbox) == 1 and len(simulated_sms.outbox) == 1
    assert set(rows.all().values_list("status", "sent_at")) == {
        (MessageStatus.SENT, opening + timedelta(minutes=2))
    }


def test_a_delivery_task_running_at_night_defers_instead_of_sending():
    with time_machine.travel(lagos(2026, 3, 2, 20, 59), tick=False):
        member = borrower()
        application = approved_loan(member=member).application
        with on_commit(execute=False) as callbacks:
            notify_member(
                member=member,
                kind="application_approved",
                context={"application": application, "loan": application.loan},
            )
    # The worker was busy: the delivery task runs after 21:00.
    with time_machine.travel(lagos(2026, 3, 2, 21, 5), tick=False):
        for callback in callbacks:
            callback()
    assert mail.outbox == [] and simulated_sms.outbox == []
    assert set(Message.objects.values_list("status", "scheduled_for")) == {
        (MessageStatus.DEFERRED, lagos(2026, 3, 3, 8))
    }


def test_a_message_is_sent_once_even_if_delivered_twice():
    with time_machine.travel(lagos(2026, 3, 2, 10), tick=False):
        member = borrower()
        messages = notify(member, channels=[Channel.EMAIL])
        assert deliver_message(message_id=messages[0].pk) == MessageStatus.SENT
        with on_commit(execute=True):
            deliver_due_messages()
    assert len(mail.outbox) == 1
    assert Message.objects.get().attempts == 1


def test_the_same_event_is_logged_and_sent_once():
    with time_machine.travel(lagos(2026, 3, 2, 10), tick=False):
        member = borrower()
        application = approved_loan(member=member).application
        first = notify(member, application=application, dedupe_key="test-event:1")
        second = notify(member, application=application, dedupe_key="test-event:1")
    assert len(first) == 2 and second == []
    assert sorted(Message.objects.values_list("dedupe_key", flat=True)) == [
        "test-event:1:email",
        "test-event:1:sms",
    ]
    assert len(mail.outbox) == 1 and len(simulated_sms.outbox) == 1


def fail_sms(monkeypatch, *, retryable=True):
    calls = []

    def send(self, *, to, text):
        calls.append(to)
        raise sms.SmsError("provider is down", retryable=retryable)

    monkeypatch.setattr(simulated_sms.SimulatedSmsProvider, "send", send)
    return calls


def test_provider_failure_is_retried_with_backoff_then_marked_failed(monkeypatch, caplog):
    calls = fail_sms(monkeypatch)
    start = lagos(2026, 3, 2, 10)
    with time_machine.travel(start, tick=False):
        member = borrower()
        notify(member)  # does not raise: the caller never sees the provider's trouble
    text = Message.objects.get(channel=Channel.SMS)
    assert (text.status, text.attempts) == (MessageStatus.QUEUED, 1)
    assert "provider is down" in text.last_error
    assert text.scheduled_for == start + timedelta(minutes=1)
    # The e-mail of the same event is not held back by the SMS failure.
    assert Message.objects.get(channel=Channel.EMAIL).status == MessageStatus.SENT

    # The sweeper retries after 1, 4, 16 and 64 minutes; a sweep before the delay does nothing.
    moment = start
    for delay in (1, 4, 16, 64):
        with time_machine.travel(moment + timedelta(minutes=delay) - timedelta(seconds=1)):
            with on_commit(execute=True):
                assert deliver_due_messages() == 0
        moment += timedelta(minutes=delay)
        with time_machine.travel(moment, tick=False):
            with caplog.at_level(logging.WARNING, logger="notifications.services"):
                with on_commit(execute=True):
                    assert deliver_due_messages() == 1
    text.refresh_from_db()
    assert (text.status, text.attempts) == (MessageStatus.FAILED, 5)
    assert "provider is down" in text.last_error and text.sent_at is None
    assert len(calls) == 5
    events = [getattr(r, "event", "") for r in caplog.records]
    assert events.count("notify.retry") == 4 and events.count("notify.failed") == 1
    # Failed is final: later sweeps leave it alone.
    with time_machine.travel(moment + timedelta(days=1, hours=2), tick=False):
        assert deliver_due_messages() == 0
    assert len(calls) == 5


def test_timeout_with_unknown_outcome_is_not_retried(monkeypatch):
    calls = fail_sms(monkeypatch, retryable=False)
    with time_machine.travel(lagos(2026, 3, 2, 10), tick=False):
        notify(borrower(), channels=[Channel.SMS])
    with time_machine.travel(lagos(2026, 3, 2, 12), tick=False):
        assert deliver_due_messages() == 0
    message = Message.objects.get()
    assert (message.status, message.attempts, len(calls)) == (MessageStatus.FAILED, 1, 1)


def test_mail_server_failure_is_retried_and_then_sent(monkeypatch):
    original = mail.EmailMultiAlternatives.send
    failures = [smtplib.SMTPServerDisconnected("connection lost")]

    def flaky_send(self, *args, **kwargs):
        if failures:
            raise failures.pop()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(mail.EmailMultiAlternatives, "send", flaky_send)
    with time_machine.travel(lagos(2026, 3, 2, 10), tick=False):
        notify(borrower(), channels=[Channel.EMAIL])
    message = Message.objects.get()
    assert message.status == MessageStatus.QUEUED and "connection lost" in message.last_error
    with time_machine.travel(lagos(2026, 3, 2, 10, 1), tick=False):
        with on_commit(execute=True):
            deliver_due_messages()
    message.refresh_from_db()
    assert (message.status, message.attempts, len(mail.outbox)) == (MessageStatus.SENT, 2, 1)


def test_a_worker_that_died_mid_send_is_not_sent_again():
    with time_machine.travel(lagos(2026, 3, 2, 10), tick=False):
        member = borrower()
        application = approved_loan(member=member).application
        with on_commit(execute=False):  # delivery never runs
            notify_member(
                member=member,
                kind="application_approved",
                context={"application": application, "loan": application.loan},
                channels=[Channel.EMAIL],
            )
        Message.objects.update(status=MessageStatus.SENDING, attempts=1, updated_at=timezone.now())
    with time_machine.travel(lagos(2026, 3, 2, 10, 20), tick=False):
        with on_commit(execute=True):
            deliver_due_messages()
    message = Message.objects.get()
    assert message.status == MessageStatus.FAILED and "interrupted" in message.last_error
    assert mail.outbox == []


# --- only ever the member -------------------------------------------------------------------


def test_messages_go_only_to_the_member_they_are_about():
    with time_machine.travel(lagos(2026, 3, 2, 10), tick=False):
        member, other = borrower(), borrower()
        notify(member)
    assert [m.to for m in mail.outbox] == [[member.user.email]]
    assert [s.to for s in simulated_sms.outbox] == [member.phone]
    assert other.user.email not in str([m.to + m.cc + m.bcc for m in mail.outbox])
    assert not Message.objects.filter(member=other).exists()
    assert set(Message.objects.values_list("sent_to", flat=True)) == {
        f"{member.user.email[0]}•••@example.ng",
        f"{member.phone[:4]}•••••{member.phone[-3:]}",
    }


def test_the_address_is_read_from_the_members_record_when_sending():
    with time_machine.travel(lagos(2026, 3, 2, 22), tick=False):
        member = borrower()
        notify(member)
    # Overnight the member changes their e-mail and phone; the deferred message follows.
    member.user.email = "new-address@example.ng"
    member.user.save()
    member.phone = "+2348090000001"
    member.save()
    with time_machine.travel(lagos(2026, 3, 3, 8, 1), tick=False):
        with on_commit(execute=True):
            deliver_due_messages()
    assert [m.to for m in mail.outbox] == [["new-address@example.ng"]]
    assert [s.to for s in simulated_sms.outbox] == ["+2348090000001"]


def test_another_members_loan_can_never_be_put_in_a_message():
    with time_machine.travel(lagos(2026, 3, 2, 10), tick=False):
        member, other = borrower(), borrower()
        others_application = approved_loan(member=other).application
        mail.outbox.clear()
        simulated_sms.outbox.clear()
        with pytest.raises(ValueError, match="not theirs"):
            notify_member(
                member=member,
                kind="application_approved",
                context={"application": others_application, "loan": others_application.loan},
            )
    assert not Message.objects.filter(member=member).exists()


def test_no_sms_to_a_member_without_a_phone():
    with time_machine.travel(lagos(2026, 3, 2, 10), tick=False):
        member = borrower(phone=None)
        messages = notify(member)
    assert [m.channel for m in messages] == [Channel.EMAIL]
    assert simulated_sms.outbox == [] and len(mail.outbox) == 1


def test_sms_queued_before_the_phone_was_removed_is_cancelled_not_sent():
    with time_machine.travel(lagos(2026, 3, 2, 22), tick=False):
        member = borrower()
        notify(member)
    member.phone = None
    member.save()
    with time_machine.travel(lagos(2026, 3, 3, 9), tick=False):
        with on_commit(execute=True):
            deliver_due_messages()
    text = Message.objects.get(channel=Channel.SMS)
    assert text.status == MessageStatus.CANCELLED and "no phone" in text.last_error
    assert simulated_sms.outbox == [] and len(mail.outbox) == 1


def test_with_sms_switched_off_only_email_is_logged(settings):
    settings.SMS_PROVIDER = "none"
    with time_machine.travel(lagos(2026, 3, 2, 10), tick=False):
        messages = notify(borrower())
    assert [m.channel for m in messages] == [Channel.EMAIL]


def test_a_retry_falling_due_at_night_is_shown_as_waiting_for_the_morning(monkeypatch):
    fail_sms(monkeypatch)
    with time_machine.travel(lagos(2026, 3, 2, 20, 59, 30), tick=False):
        notify(borrower(), channels=[Channel.SMS])
    assert Message.objects.get().status == MessageStatus.QUEUED  # retry at 21:00:30
    with time_machine.travel(lagos(2026, 3, 2, 21, 5), tick=False):
        assert deliver_due_messages() == 0
    message = Message.objects.get()
    assert (message.status, message.scheduled_for) == (
        MessageStatus.DEFERRED,
        lagos(2026, 3, 3, 8),
    )
