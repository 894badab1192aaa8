"""The member's Messages page: their own messages only."""

import pytest
import time_machine
from django.test import TestCase
from django.urls import reverse

from notifications.models import Channel
from notifications.services import notify_member
from tests.factories import approved_loan, make_officer
from tests.notifications.conftest import borrower, lagos

pytestmark = pytest.mark.django_db


def message_for(member, *, channels=(Channel.EMAIL,), application=None):
    application = application or approved_loan(member=member).application
    with TestCase.captureOnCommitCallbacks(execute=True):
        (message,) = notify_member(
            member=member,
            kind="application_approved",
            context={"application": application, "loan": application.loan},
            channels=list(channels),
        )
    return message


@pytest.fixture(autouse=True)
def _daytime():
    with time_machine.travel(lagos(2026, 3, 2, 10), tick=True):
        yield


def test_member_sees_only_their_own_messages(client):
    member, other = borrower(), borrower()
    mine, theirs = message_for(member), message_for(other)
    client.force_login(member.user)
    page = client.get(reverse("notifications:messages")).content.decode()
    assert reverse("notifications:message_detail", args=[mine.pk]) in page
    assert reverse("notifications:message_detail", args=[theirs.pk]) not in page
    assert mine.subject in page
    assert ">Messages<" in page  # the navigation links to it


def test_messages_page_answers_htmx_with_the_table_only(client):
    member = borrower()
    message_for(member)
    client.force_login(member.user)
    response = client.get(reverse("notifications:messages"), headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body and 'id="table-container"' in body
    assert "HX-Request" in response["Vary"]


def test_member_reads_a_message_of_theirs(client):
    member = borrower()
    message = message_for(member)
    client.force_login(member.user)
    page = client.get(reverse("notifications:message_detail", args=[message.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert message.subject in body
    assert "is approved" in body and "total to repay" in body


def test_another_members_message_is_not_found(client):
    member, other = borrower(), borrower()
    theirs = message_for(other)
    client.force_login(member.user)
    response = client.get(reverse("notifications:message_detail", args=[theirs.pk]))
    assert response.status_code == 404
    assert theirs.subject.encode() not in response.content


def test_messages_need_a_signed_in_member(client):
    response = client.get(reverse("notifications:messages"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(make_officer())
    assert client.get(reverse("notifications:messages")).status_code == 403


def test_administrators_read_the_message_log_but_cannot_edit_it(client, administrator):
    member = borrower()
    message = message_for(member)
    client.force_login(administrator)
    listing = client.get(reverse("admin:notifications_message_changelist"))
    assert listing.status_code == 200
    assert reverse("admin:notifications_message_change", args=[message.pk]) in (
        listing.content.decode()
    )
    assert client.get(reverse("admin:notifications_message_add")).status_code == 403
    detail = client.get(reverse("admin:notifications_message_change", args=[message.pk]))
    assert detail.status_code == 200 and b'name="_save"' not in detail.content


def test_messages_page_queries_stay_flat_as_messages_grow(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    member = borrower()
    client.force_login(member.user)
    application = message_for(member).member.loans.get().application

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("notifications:messages")).status_code == 200
        return len(captured)

    queries()  # warm: the row estimate is remembered per process (core.tables)
    one = queries()
    for _ in range(4):
        message_for(member, application=application)
    assert queries() == one
