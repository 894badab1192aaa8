"""E-mail never blocks or breaks a request (issue 23): account mail is written in the request
and sent by the worker; a mail server outage leaves sign-in, sign-up and password reset working,
and the mail goes out once the server is back."""

import json
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.mail import MAX_ATTEMPTS, mail_backlog, send_due_mail, send_queued_mail
from core.models import OutgoingMail
from devdata.scale_seed.context import OFFICER_DOMAIN, SEED_PASSWORD
from tests.factories import MemberFactory
from tests.security.world import PASSWORD

pytestmark = pytest.mark.django_db

DOWN = {"default": {"BACKEND": "tests.core.mail_backends.RefusingBackend"}}
UP = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


@pytest.fixture
def mail_server_down(settings):
    settings.MAILERS = DOWN
    yield settings
    settings.MAILERS = UP


def _unverified_member():
    member = MemberFactory()
    EmailAddress.objects.filter(user=member.user).update(verified=False)
    EmailAddress.objects.get_or_create(
        user=member.user, email=member.user.email, defaults={"verified": False, "primary": True}
    )
    return member


def test_a_sign_in_while_the_mail_server_is_down_succeeds_and_the_mail_follows(
    mail_server_down, django_capture_on_commit_callbacks
):
    member = _unverified_member()
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):  # the job runs, and fails to send
        response = client.post(
            reverse("account_login"), {"login": member.user.email, "password": PASSWORD}
        )
    # Mandatory verification: the member is asked to confirm the address, not shown an error.
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    page = client.get(response["Location"]).content.decode()
    assert "we keep trying" in page

    queued = OutgoingMail.objects.get()
    assert queued.attempts == 1 and queued.last_error == "ConnectionRefusedError"
    assert queued.sent_at is None and mail.outbox == []
    # What is stored is encrypted: neither the address nor the confirmation link shows.
    assert member.user.email not in queued.payload and "confirm-email" not in queued.payload

    # The server comes back; the sweeper sends it when the retry is due, once.
    mail_server_down.MAILERS = UP
    assert send_due_mail() == 0  # not due yet
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert send_due_mail() == 1
        assert send_due_mail() == 0
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [member.user.email]
    assert "/accounts/confirm-email/" in mail.outbox[0].body
    queued.refresh_from_db()
    assert queued.sent_at and queued.payload == "" and queued.attempts == 2


def test_sign_up_and_password_reset_work_while_the_mail_server_is_down(
    mail_server_down, django_capture_on_commit_callbacks
):
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        signed_up = client.post(
            reverse("account_signup"),
            {
                "email": "chioma@example.ng",
                "password1": "tall-mango-river-42",
                "password2": "tall-mango-river-42",
            },
        )
        member = MemberFactory()
        reset = client.post(reverse("account_reset_password"), {"email": member.user.email})
    assert signed_up.status_code == 302 and reset.status_code == 302
    assert "we keep trying" in client.get(reset["Location"]).content.decode()
    assert OutgoingMail.objects.filter(sent_at__isnull=True, attempts=1).count() == 2
    assert {m.purpose for m in OutgoingMail.objects.all()} == {
        "account/email/email_confirmation_signup",
        "account/email/password_reset_key",
    }


def test_a_mail_that_keeps_failing_is_given_up_and_reported(mail_server_down):
    member = _unverified_member()
    Client().post(reverse("account_reset_password"), {"email": member.user.email})
    queued = OutgoingMail.objects.get()
    moment = timezone.now()
    for _ in range(MAX_ATTEMPTS):
        send_queued_mail(queued.pk, now=moment)
        queued.refresh_from_db()
        moment = queued.next_attempt_at
    assert queued.gave_up_at is not None and queued.attempts == MAX_ATTEMPTS
    # Delays grow and are capped: the last wait was three hours.
    assert send_queued_mail(queued.pk, now=moment + timedelta(days=1)) == "done"
    backlog = mail_backlog()
    assert backlog.waiting == 0 and backlog.gave_up == 1


def test_readyz_and_monitor_stats_report_the_mail_backlog(mail_server_down, client):
    member = _unverified_member()
    with time_machine.travel(timezone.now() - timedelta(minutes=10)):
        client.post(reverse("account_reset_password"), {"email": member.user.email})
    answer = client.get("/readyz").json()
    assert answer["checks"]["mail"]["waiting"] == 1
    assert answer["checks"]["mail"]["oldest_seconds"] >= 600
    out = StringIO()
    call_command("monitor_stats", stdout=out)
    stats = json.loads(out.getvalue())
    assert stats["mail_waiting"] == 1 and stats["mail_oldest_seconds"] >= 600


def test_a_seeded_officer_signs_in_without_any_mail(settings):
    settings.DEBUG = True
    call_command("seed_scale", "--members", "20", stdout=StringIO())
    settings.DEBUG = False
    client = Client()
    response = client.post(
        reverse("account_login"),
        {"login": f"officer01@{OFFICER_DOMAIN}", "password": SEED_PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] != reverse("account_email_verification_sent")
    assert client.session.get("_auth_user_id")
    assert not OutgoingMail.objects.exists()
