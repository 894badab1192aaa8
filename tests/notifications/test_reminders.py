"""Daily repayment reminders: the right message on the right day, once, set-based."""

from datetime import date, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from core.money import format_naira
from notifications.models import Channel, Message, MessageKind, MessageStatus
from notifications.services import queue_reminders
from payments import services as payment_services
from simulator import sms as simulated_sms
from tests.factories import active_loan, make_finance
from tests.notifications.conftest import borrower, lagos

pytestmark = pytest.mark.django_db

on_commit = TestCase.captureOnCommitCallbacks


def one_month_loan(**kwargs):
    """An active one-installment loan paid out on 2 March 2026; returns its installment."""
    with time_machine.travel(lagos(2026, 3, 2, 10), tick=False):
        loan = active_loan(tenure=1, member=kwargs.pop("member", None) or borrower(**kwargs))
    return loan.installments.get()


def run_reminders_at(moment, **options):
    with time_machine.travel(moment, tick=False):
        with on_commit(execute=True):
            call_command("send_reminders", **options)


@pytest.mark.parametrize(
    ("days_after_due", "kind"),
    [
        (-3, MessageKind.REMINDER_DUE_IN_3),
        (0, MessageKind.REMINDER_DUE_TODAY),
        (1, MessageKind.REMINDER_OVERDUE_1),
        (7, MessageKind.REMINDER_OVERDUE_7),
        (30, MessageKind.REMINDER_OVERDUE_30),
    ],
)
def test_the_right_reminder_goes_out_on_each_reminder_day(days_after_due, kind):
    installment = one_month_loan()
    member = installment.loan.member
    day = installment.due_date + timedelta(days=days_after_due)
    run_reminders_at(lagos(day.year, day.month, day.day, 9))

    rows = Message.objects.filter(member=member, kind__startswith="reminder_")
    assert {(m.kind, m.channel, m.status) for m in rows} == {
        (kind, Channel.EMAIL, MessageStatus.SENT),
        (kind, Channel.SMS, MessageStatus.SENT),
    }
    assert {m.dedupe_key for m in rows} == {
        f"reminder:{kind.removeprefix('reminder_')}:{installment.pk}:email",
        f"reminder:{kind.removeprefix('reminder_')}:{installment.pk}:sms",
    }
    assert all(m.installment_id == installment.pk for m in rows)
    (email,) = mail.outbox
    assert email.to == [member.user.email]
    amount = format_naira(installment.outstanding)
    pay_link = f"/loans/{installment.loan.reference}/pay/"
    assert amount in email.body and pay_link in email.body
    assert amount in email.alternatives[0].content and pay_link in email.alternatives[0].content
    (text,) = simulated_sms.outbox
    assert text.to == member.phone and amount in text.text and pay_link in text.text
    # A respectful tone: no threats, no third parties.
    for word in ("legal action", "police", "employer", "family", "shame", "blacklist"):
        assert word not in email.body.lower()


@pytest.mark.parametrize("days_after_due", [-5, -4, -2, -1, 2, 3, 6, 8, 14, 29, 31, 60])
def test_no_reminder_on_other_days(days_after_due):
    installment = one_month_loan()
    day = installment.due_date + timedelta(days=days_after_due)
    run_reminders_at(lagos(day.year, day.month, day.day, 9))
    assert not Message.objects.filter(kind__startswith="reminder_").exists()
    assert mail.outbox == [] and simulated_sms.outbox == []


def test_running_the_reminders_twice_on_a_day_sends_nothing_twice():
    installment = one_month_loan()
    due = installment.due_date
    morning = lagos(due.year, due.month, due.day, 9)
    run_reminders_at(morning)
    run_reminders_at(morning + timedelta(hours=3), date=due.isoformat())
    with time_machine.travel(morning + timedelta(hours=4), tick=False):
        assert queue_reminders(on=due) == 0
    assert Message.objects.filter(kind=MessageKind.REMINDER_DUE_TODAY).count() == 2
    assert len(mail.outbox) == 1 and len(simulated_sms.outbox) == 1


def test_a_paid_installment_gets_no_reminder():
    installment = one_month_loan()
    with time_machine.travel(lagos(2026, 3, 3, 10), tick=False):
        payment_services.record_manual_payment(
            loan=installment.loan,
            actor=make_finance(),
            amount=installment.outstanding,
            reason="Paid in full",
            evidence="RCPT-1",
        )
    due = installment.due_date
    run_reminders_at(lagos(due.year, due.month, due.day, 9))
    assert not Message.objects.filter(kind__startswith="reminder_").exists()


def test_a_reminder_still_waiting_when_the_installment_is_paid_is_cancelled():
    installment = one_month_loan()
    due = installment.due_date
    # Run by hand at 06:00: the reminders wait for 08:00.
    run_reminders_at(lagos(due.year, due.month, due.day, 6), date=due.isoformat())
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.DEFERRED}
    with time_machine.travel(lagos(due.year, due.month, due.day, 7), tick=False):
        payment_services.record_manual_payment(
            loan=installment.loan,
            actor=make_finance(),
            amount=installment.outstanding,
            reason="Paid at dawn",
            evidence="RCPT-2",
        )
    with time_machine.travel(lagos(due.year, due.month, due.day, 8, 5), tick=False):
        with on_commit(execute=True):
            from notifications.services import deliver_due_messages

            deliver_due_messages()
    reminders = Message.objects.filter(kind__startswith="reminder_")
    assert set(reminders.values_list("status", flat=True)) == {MessageStatus.CANCELLED}
    assert mail.outbox == [] and simulated_sms.outbox == []


def test_reminders_at_night_wait_for_eight_oclock():
    installment = one_month_loan()
    due = installment.due_date
    run_reminders_at(lagos(due.year, due.month, due.day, 3), date=due.isoformat())
    assert mail.outbox == []
    assert set(Message.objects.values_list("status", "scheduled_for")) == {
        (MessageStatus.DEFERRED, lagos(due.year, due.month, due.day, 8))
    }


def test_member_without_a_phone_gets_the_email_reminder_only():
    installment = one_month_loan(phone=None)
    due = installment.due_date
    run_reminders_at(lagos(due.year, due.month, due.day, 9))
    assert list(Message.objects.values_list("channel", flat=True)) == [Channel.EMAIL]
    assert simulated_sms.outbox == [] and len(mail.outbox) == 1


def test_each_member_gets_only_their_own_reminders():
    first, second = one_month_loan(), one_month_loan()
    assert first.due_date == second.due_date
    due = first.due_date
    run_reminders_at(lagos(due.year, due.month, due.day, 9))
    for installment in (first, second):
        member = installment.loan.member
        rows = Message.objects.filter(member=member)
        assert set(rows.values_list("installment_id", flat=True)) == {installment.pk}
        assert installment.loan.reference in rows.get(channel=Channel.EMAIL).body
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        i.loan.member.user.email for i in (first, second)
    )
    assert sorted(s.to for s in simulated_sms.outbox) == sorted(
        i.loan.member.phone for i in (first, second)
    )
    for email in mail.outbox:
        (installment,) = [i for i in (first, second) if i.loan.member.user.email == email.to[0]]
        other = second if installment is first else first
        assert other.loan.reference not in email.body


def test_reminder_rows_are_written_with_a_constant_number_of_queries():
    def queries_for(loans: int) -> int:
        Message.objects.all().delete()
        installments = [one_month_loan() for _ in range(loans)]
        due = installments[0].due_date
        with time_machine.travel(lagos(due.year, due.month, due.day, 9), tick=False):
            with CaptureQueriesContext(connection) as queries:
                with on_commit(execute=False):
                    created = queue_reminders(on=due)
        assert created == 2 * Message.objects.values("installment").distinct().count()
        return len(queries)

    assert queries_for(1) == queries_for(4)


def test_send_reminders_refuses_a_bad_date():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("send_reminders", date="02/03/2026")


def test_reminders_skip_loans_that_are_not_active():
    installment = one_month_loan()
    loan = installment.loan
    loan.status = "written_off"
    loan.save(update_fields=["status"])
    due = installment.due_date
    with time_machine.travel(lagos(due.year, due.month, due.day, 9), tick=False):
        assert queue_reminders(on=due) == 0
    assert isinstance(due, date)
