"""Bad input and attacks get the one JSON error shape with a 4xx, and change nothing."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from api.models import ApiToken
from loans.models import Application
from tests.api.conftest import Api, draft, error_code, new_member, token_for
from tests.factories import product

pytestmark = pytest.mark.django_db


def test_unknown_api_path_is_a_json_404_not_the_html_page(anon):
    for path in ["/api/v1/nope", "/api/v2/products", "/api/", "/api/v1/applications/x/y/z"]:
        response = anon.get(path)
        assert response.status_code == 404
        assert error_code(response) == "not_found"


def test_wrong_method_is_a_json_405(anon):
    response = anon.call("DELETE", "/products")
    assert response.status_code == 405
    assert error_code(response) == "method_not_allowed"


def test_an_unexpected_error_is_a_json_500_without_a_traceback(member_api, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("api.routers.applications.paginate_rows", explode)
    response = member_api.get("/applications")
    assert response.status_code == 500
    assert error_code(response) == "server_error"
    assert b"secret internals" not in response.content
    assert b"Traceback" not in response.content


def test_malformed_json_is_refused(member_api):
    prod = product()
    response = member_api.post("/applications", raw=f'{{"product": {prod.pk}, "amount": ')
    assert response.status_code == 400
    assert error_code(response) == "malformed_json"
    assert not Application.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"product": "one", "amount": "60000.00", "tenure_months": 3}, "product"),
        ({"product": 1, "amount": 60000.5, "tenure_months": 3}, "amount"),
        ({"product": 1, "amount": "-60000.00", "tenure_months": 3}, "amount"),
        ({"product": 1, "amount": "1e9", "tenure_months": 3}, "amount"),
        ({"product": 1, "amount": "99999999999.00", "tenure_months": 3}, "amount"),
        ({"product": 1, "amount": "600.001", "tenure_months": 3}, "amount"),
        ({"product": 1, "amount": "60000.00", "tenure_months": 999}, "tenure_months"),
        ({"product": 1, "amount": "60000.00", "tenure_months": 3, "is_admin": True}, "is_admin"),
        ({"product": 1, "amount": "60000.00"}, "tenure_months"),
    ],
)
def test_wrong_types_absurd_amounts_and_unknown_fields_are_422(member_api, body, field):
    product()
    response = member_api.post("/applications", body)
    assert response.status_code == 422, response.content
    assert error_code(response) == "validation_error"
    assert field in response.json()["error"]["fields"]
    assert not Application.objects.exists()


def test_a_huge_body_is_refused_before_it_is_read(member_api):
    response = member_api.post("/applications", raw='{"x": "' + "a" * 100_000 + '"}')
    assert response.status_code == 413
    assert error_code(response) == "body_too_large"


def test_page_size_10000_and_a_forged_cursor_are_refused(member_api):
    response = member_api.get("/applications?limit=10000")
    assert response.status_code == 422
    assert "limit" in response.json()["error"]["fields"]
    for cursor in ["not-a-cursor", "WzEsMl0", "eyJ4IjoxfQ", "W10", "!!!"]:
        response = member_api.get(f"/applications?cursor={cursor}")
        assert response.status_code == 400, cursor
        assert error_code(response) == "invalid_cursor"


def test_an_unknown_filter_value_is_refused(officer_api):
    assert officer_api.get("/applications?status=paid").status_code == 422
    assert officer_api.get("/applications?state=ZZ").status_code == 422
    assert officer_api.get("/applications?product=999999").status_code == 422
    assert officer_api.get("/applications?submitted_from=yesterday").status_code == 422


@pytest.mark.parametrize(
    "header",
    [
        "Bearer awp_unknown-token-value-xxxxxxxxxxxxxxxx",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer x",
    ],
)
def test_a_bad_token_is_a_401_and_never_falls_back_to_the_session(client, member, header):
    client.force_login(member.user)
    for path in ["/api/v1/applications", "/api/v1/products", "/api/v1/me"]:
        response = client.get(path, headers={"Authorization": header})
        assert response.status_code == 401, (path, header)
        assert error_code(response) == "invalid_token"
        assert "Bearer" in response["WWW-Authenticate"]


def test_an_expired_or_revoked_token_no_longer_works(db):
    member = new_member()
    raw = token_for(member.user)
    api = Api(raw)
    assert api.get("/me").status_code == 200
    token = ApiToken.objects.get(user=member.user)
    token.expires_at = timezone.now() - timedelta(seconds=1)
    token.save()
    assert error_code(api.get("/me")) == "invalid_token"
    token.expires_at = None
    token.revoked_at = timezone.now()
    token.save()
    assert api.get("/me").status_code == 401
    member.user.is_active = False
    member.user.save()
    token.revoked_at = None
    token.save()
    assert api.get("/me").status_code == 401


def test_a_read_token_cannot_write(db):
    member = new_member()
    prod = product()
    api = Api(token_for(member.user, scope="read"))
    assert api.get("/applications").status_code == 200
    response = api.post(
        "/applications", {"product": prod.pk, "amount": "60000.00", "tenure_months": 3}
    )
    assert response.status_code == 403
    assert error_code(response) == "insufficient_scope"
    assert not Application.objects.exists()


def test_session_posts_need_the_csrf_token(db):
    member = new_member()
    prod = product()
    client = Client(enforce_csrf_checks=True)
    client.force_login(member.user)
    body = {"product": prod.pk, "amount": "60000.00", "tenure_months": 3}
    response = Api(client=client).post("/applications", body)
    assert response.status_code == 403
    assert error_code(response) == "csrf_failed"
    assert not Application.objects.exists()

    client.get("/me/api-tokens/")  # any page sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    response = Api(client=client).post("/applications", body, headers={"X-CSRFToken": csrf})
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "draft"


def test_session_reads_work_without_a_token(client):
    member = new_member()
    draft(member)
    client.force_login(member.user)
    response = client.get("/api/v1/applications")
    assert response.status_code == 200
    assert len(response.json()["items"]) == 1
    assert client.get("/api/v1/me").json()["auth"] == "session"


def test_staff_without_mfa_get_a_json_error_not_a_redirect(client, officer, settings):
    settings.MFA_REQUIRED_FOR_STAFF = True
    client.force_login(officer)
    response = client.get("/api/v1/applications")
    assert response.status_code == 403
    assert error_code(response) == "mfa_required"


def test_money_is_a_naira_string_and_dates_are_iso(member_api):
    prod = product()
    response = member_api.post(
        "/applications", {"product": prod.pk, "amount": "60000.50", "tenure_months": 3}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["amount"] == "60000.50"
    assert Application.objects.get().amount == 60_000_50
    first = body["key_facts"]["installments"][0]
    assert isinstance(first["total"], str) and "." in first["total"]
    assert len(first["due_date"]) == 10  # YYYY-MM-DD, a Lagos calendar date
    assert body["created_at"].endswith("Z") or "+" in body["created_at"]
