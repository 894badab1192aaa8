"""One keyset cursor (core.cursors) for the HTMX tables and the API lists."""

from datetime import UTC, datetime

import pytest

from api.pagination import decode_cursor as api_decode
from api.pagination import encode_cursor as api_encode
from core import cursors
from loans.models import Application
from tests.factories import submitted_application

pytestmark = pytest.mark.django_db


def test_the_api_cursor_is_a_packed_position():
    moment = datetime(2026, 1, 1, 10, tzinfo=UTC)
    text = api_encode(moment, 42)
    assert text == cursors.pack([moment.isoformat(), 42])
    assert cursors.unpack(text) == [moment.isoformat(), 42]
    assert api_decode(text) == (moment, 42)


def test_a_table_cursor_round_trips_through_its_ordering():
    ordering = cursors.keyset_ordering(Application.objects.order_by("-created_at", "-id"))
    moment = datetime(2026, 1, 1, 10, tzinfo=UTC)
    text = cursors.encode_cursor([moment, 42], ordering)
    assert cursors.decode_cursor(text, ordering) == [moment, 42]
    other = cursors.keyset_ordering(Application.objects.order_by("created_at", "id"))
    assert cursors.decode_cursor(text, other) is None  # another ordering: ignored


def test_the_keyset_condition_is_the_rows_after_the_position():
    apps = [submitted_application(assess=False) for _ in range(3)]
    ordered = Application.objects.order_by("-created_at", "-id")
    ordering = cursors.keyset_ordering(ordered)
    newest = ordered.first()
    after = ordered.filter(cursors.keyset_condition(ordering, [newest.created_at, newest.pk]))
    assert [a.pk for a in after] == [a.pk for a in ordered][1:]
    assert len(apps) == 3
