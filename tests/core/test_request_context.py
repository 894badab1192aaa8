"""Services never take the request: the audit trail gets the client address and the request
id from the request being served (RequestIdMiddleware), and nothing once it is over."""

import pytest
from django.urls import reverse

from core import audit
from core.models import AuditEvent
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def test_an_audit_event_written_by_a_service_carries_the_requests_address_and_id(client):
    member = MemberFactory()
    client.force_login(member.user)

    response = client.post(reverse("privacy:request_deletion"), REMOTE_ADDR="198.51.100.7")

    event = AuditEvent.objects.get(action="member.deletion_requested")
    assert str(event.ip) == "198.51.100.7"
    assert event.request_id == response["X-Request-ID"]


def test_after_the_request_an_audit_event_has_no_address_or_request_id(client):
    member = MemberFactory()
    client.force_login(member.user)
    client.get(reverse("members:dashboard"), REMOTE_ADDR="198.51.100.8")

    # A task or a management command after the request: nothing of the request leaks in.
    event = audit.record(actor=None, action="test.outside_a_request")

    assert event.ip is None and event.request_id == ""
