"""The NYSC batch calendar: the service dates come from the batch of the state code, a typed
date that disagrees is flagged to the officer, an unknown batch blocks applications with a
clear message, and administrators' changes are audited and followed by the batch's members."""

from datetime import date, datetime

import pytest
import time_machine
from django.contrib.admin.sites import site
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import reverse

from core.clock import LAGOS, lagos_today
from core.models import AuditEvent
from loans.eligibility import failed, member_rules
from loans.schedule import build_schedule
from loans.services.assessment import fraud_flags
from members.models import Member
from members.service_year import ServiceBatch, batch_for, service_dates
from members.validators import parse_state_code
from tests.factories import make_admin, submitted_application
from tests.members.test_onboarding import signed_in_member, valid_profile

pytestmark = pytest.mark.django_db


def _someone_elses_application():
    application = submitted_application(amount=50_000_00, tenure=1, assess=False)
    terms = application.terms(start_date=lagos_today(), amount=50_000_00, tenure=1)
    return application, build_schedule(terms)


def _member_saving(client, **profile):
    signed_in_member(client)
    response = client.post(reverse("members:profile"), valid_profile(**profile))
    assert response.status_code == 302, response.context["form"].errors
    return Member.objects.get(user__email="new@example.ng")


def test_the_dates_come_from_the_batch_not_from_a_typed_date(client):
    member = _member_saving(client, state_code="LA/25B2/4321")
    assert str(member.service_batch) == "2025 Batch B Stream 2"
    assert (member.service_start, member.passing_out) == (date(2025, 8, 27), date(2026, 8, 27))
    assert member.claimed_service_start is None


def test_a_2023_code_with_a_2026_start_is_flagged_and_cannot_borrow(client):
    """The review's example: LA/23A/5555 typed with a 2026 start used to pass out in 2027."""
    member = _member_saving(client, state_code="LA/23A/5555", service_start="2026-01-05")
    # No stream in the code: the stream whose orientation is nearest the typed date (A2).
    assert str(member.service_batch) == "2023 Batch A Stream 2"
    assert member.passing_out == date(2024, 4, 25)
    assert member.claimed_service_start == date(2026, 1, 5)
    page = client.get(reverse("members:profile")).content.decode()
    assert "You gave 05 Jan 2026 as your service start" in page

    application, schedule = _someone_elses_application()
    refused = {r.rule for r in failed(member_rules(member, application.product, schedule))}
    assert "ends_before_passing_out" in refused

    application.member = member  # the officer's view of this member's application
    flag = next(f for f in fraud_flags(application) if f.rule == "service_start_disagrees")
    assert flag.warning and "The member gave 05 Jan 2026" in flag.reason


def test_a_typed_date_within_two_weeks_of_the_batch_is_not_a_disagreement(client):
    member = _member_saving(client, state_code="LA/26C1/4321", service_start="2026-10-30")
    assert member.service_start == date(2026, 10, 21) and member.claimed_service_start is None


def test_a_code_without_its_stream_and_no_date_takes_the_earlier_passing_out():
    code = parse_state_code("LA/26A/1234")
    assert str(batch_for(code)) == "2026 Batch A Stream 1"
    dates = service_dates(code, None)
    assert dates.passing_out == date(2027, 3, 11) and not dates.disagrees


def test_a_batch_missing_from_the_calendar_blocks_applications_with_a_clear_message(client):
    member = _member_saving(client, state_code="LA/29A/4321", service_start="2029-03-14")
    assert member.service_batch is None and member.passing_out is None
    assert "We do not have the NYSC calendar for 2029 Batch A yet" in (
        client.get(reverse("members:profile")).content.decode()
    )
    application, schedule = _someone_elses_application()
    reasons = {
        r.rule: r.reason for r in failed(member_rules(member, application.product, schedule))
    }
    assert reasons["service_calendar_known"].startswith(
        "We do not have the NYSC calendar for 2029 Batch A yet"
    )


def _admin_post(obj, data, change):
    admin_user = make_admin()
    request = RequestFactory().post("/admin/")
    request.user = admin_user
    request._messages = type("M", (), {"add": lambda *a, **k: None})()
    model_admin = site._registry[ServiceBatch]
    form_class = model_admin.get_form(request, obj if change else None)
    form = form_class(data, instance=obj if change else None)
    assert form.is_valid(), form.errors
    saved = form.save(commit=False)
    model_admin.save_model(request, saved, form, change)
    return saved


def test_an_administrator_adds_a_batch_and_its_waiting_members_get_its_dates(client):
    member = _member_saving(client, state_code="LA/29A1/4321")
    assert member.service_batch is None
    batch = _admin_post(
        None,
        {
            "year": 2029,
            "batch": "A",
            "stream": 1,
            "orientation_start": "2029-03-14",
            "passing_out": "2030-03-14",
            "announced": "on",
        },
        change=False,
    )
    member.refresh_from_db()
    assert member.service_batch == batch and member.passing_out == date(2030, 3, 14)
    assert AuditEvent.objects.filter(action="service_batch.added").count() == 1
    assert AuditEvent.objects.get(
        action="member.service_dates_from_calendar", object_id=str(member.pk)
    ).changes["passing_out"] == ["None", "2030-03-14"]


def test_a_corrected_passing_out_moves_the_batch_but_not_an_extended_member(client):
    member = _member_saving(client, state_code="LA/26B1/4321")
    extended = Member.objects.get(pk=member.pk)
    batch = member.service_batch
    other = Member.objects.create(
        user=make_admin(),  # any user: only the dates matter here
        state_code="KN/26B1/1111",
        service_batch=batch,
        service_start=batch.orientation_start,
        passing_out=date(2027, 9, 30),  # an extension recorded by staff
    )
    _admin_post(
        batch,
        {
            "year": 2026,
            "batch": "B",
            "stream": 1,
            "orientation_start": "2026-06-24",
            "passing_out": "2027-06-17",
        },
        change=True,
    )
    extended.refresh_from_db()
    other.refresh_from_db()
    assert extended.passing_out == date(2027, 6, 17)
    assert other.passing_out == date(2027, 9, 30)
    event = AuditEvent.objects.get(action="service_batch.changed")
    assert event.changes == {"passing_out": "2027-06-17"}


def test_the_calendar_refuses_a_passing_out_before_orientation():
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceBatch.objects.create(
            year=2030,
            batch="A",
            stream=1,
            orientation_start=date(2030, 3, 1),
            passing_out=date(2029, 3, 1),
        )


@pytest.mark.parametrize("days_ahead", [0, 182, 365])
def test_the_demo_member_is_serving_for_nine_more_months_on_any_day(settings, days_ahead):
    settings.DEBUG = True
    day = date(2026, 12, 5).toordinal() + days_ahead
    with time_machine.travel(
        datetime.combine(date.fromordinal(day), datetime.min.time(), tzinfo=LAGOS), tick=False
    ):
        call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
        member = Member.objects.get(user__email="member@allaweeplus.test")
        assert member.service_batch is not None
        assert (member.passing_out - lagos_today()).days >= 270
        assert member.service_start <= lagos_today()
