"""The bearer-token lookup runs prebuilt SQL: it must load exactly what the ORM would."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.auth import _token_with_user, hash_token
from api.models import ApiToken
from api.services import revoke_token
from tests.api.conftest import Api, error_code, token_for
from tests.factories import make_officer

pytestmark = pytest.mark.django_db


def fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def test_token_and_user_load_as_the_orm_loads_them():
    officer = make_officer(display_name="Ngozi Okafor")
    raw = token_for(officer, scope="read")
    stored = ApiToken.objects.get(user=officer)
    stored.expires_at = timezone.now() + timedelta(days=3)
    stored.last_used_at = timezone.now()
    stored.save()
    expected = ApiToken.objects.select_related("user").get(pk=stored.pk)
    with CaptureQueriesContext(connection) as queries:
        loaded = _token_with_user(hash_token(raw))
        assert loaded.user.email == officer.email  # no second query for the user
    assert len(queries) == 1
    assert fields(loaded) == fields(expected)
    assert fields(loaded.user) == fields(expected.user)
    assert loaded.user.has_perm("loans.view_application")
    assert loaded._state.adding is False and loaded._state.db == "default"
    assert isinstance(loaded.expires_at, type(expected.expires_at))


def test_unknown_hash_finds_nothing():
    assert _token_with_user(hash_token("awp_" + "x" * 40)) is None


def test_revoked_and_deactivated_are_refused_on_the_next_call():
    officer = make_officer()
    raw = token_for(officer)
    api = Api(raw)
    assert api.get("/me").status_code == 200
    revoke_token(token=ApiToken.objects.get(user=officer), actor=officer)
    response = api.get("/me")
    assert response.status_code == 401 and error_code(response) == "invalid_token"
    other = make_officer()
    api = Api(token_for(other))
    assert api.get("/me").status_code == 200
    other.is_active = False
    other.save()
    assert api.get("/me").status_code == 401
