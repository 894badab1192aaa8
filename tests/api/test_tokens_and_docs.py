"""Token pages in the portal, docs served locally, CORS only for configured origins."""

import hashlib
import re

import pytest
from django.test import Client

from api.models import ApiToken
from core.models import AuditEvent
from tests.api.conftest import Api, new_member

pytestmark = pytest.mark.django_db


def _create(client, **data):
    form = {"name": "Payroll export", "scope": "read", "expires_in_days": "30", **data}
    return client.post("/me/api-tokens/", form)


def test_member_creates_a_token_shown_once_and_stored_hashed(client):
    member = new_member()
    client.force_login(member.user)
    page = client.get("/me/api-tokens/")
    assert b"API tokens" in page.content
    response = _create(client)
    assert response.status_code == 200
    raw = re.search(rb'value="(awp_[^"]+)"', response.content).group(1).decode()
    token = ApiToken.objects.get(user=member.user)
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(ApiToken.objects.values().get())
    assert token.scope == "read" and token.expires_at is not None
    assert raw.encode() not in client.get("/me/api-tokens/").content  # never shown again
    assert "no-store" in response["Cache-Control"]
    assert AuditEvent.objects.filter(action="api_token.created", actor=member.user).exists()

    api = Api(raw)
    assert token.last_used_at is None
    assert api.get("/me").json() == {
        "id": member.user.pk,
        "email": member.user.email,
        "is_staff": False,
        "permissions": [],
        "auth": "token",
        "token_scope": "read",
    }
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_revoking_a_token_stops_it_and_is_audited(client):
    member = new_member()
    client.force_login(member.user)
    raw = re.search(rb'value="(awp_[^"]+)"', _create(client, scope="write").content).group(1)
    api = Api(raw.decode())
    assert api.get("/me").status_code == 200
    token = ApiToken.objects.get()
    response = client.post(f"/me/api-tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    assert api.get("/me").status_code == 401
    assert AuditEvent.objects.filter(action="api_token.revoked").count() == 1


def test_nobody_revokes_another_users_token(client):
    owner, other = new_member(), new_member()
    client.force_login(owner.user)
    _create(client)
    token = ApiToken.objects.get()
    intruder = Client()
    intruder.force_login(other.user)
    assert intruder.post(f"/me/api-tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_token_page_needs_sign_in_and_is_in_the_navigation(client, officer):
    assert client.get("/me/api-tokens/").status_code == 302
    client.force_login(officer)
    assert b'href="/me/api-tokens/"' in client.get("/backoffice/").content


def test_docs_are_served_from_local_files_under_the_csp(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    # Every script, style and link is served from this site (a random nonce may spell "cdn").
    addresses = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert addresses and all(a.startswith("/") and not a.startswith("//") for a in addresses)
    assert "https://" not in html and "cdn.jsdelivr" not in html
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "<script>" not in html  # no inline script; settings travel as a JSON data block
    from django.contrib.staticfiles import finders

    # Collected with the other static files and served by whitenoise, like Bootstrap.
    assert finders.find("ninja/swagger-ui-bundle.js")
    assert finders.find("ninja/swagger-ui-init.js")
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["info"]["title"] == "AllaweePlus API"
    assert "/api/v1/applications" in schema["paths"]


def test_cors_only_for_configured_origins_and_only_under_api(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://partner.example"]
    allowed = client.get("/api/v1/ping", headers={"Origin": "https://partner.example"})
    assert allowed["Access-Control-Allow-Origin"] == "https://partner.example"
    other = client.get("/api/v1/ping", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other
    page = client.get("/healthz", headers={"Origin": "https://partner.example"})
    assert "Access-Control-Allow-Origin" not in page


def test_cors_is_off_by_default(client):
    response = client.get("/api/v1/ping", headers={"Origin": "https://partner.example"})
    assert "Access-Control-Allow-Origin" not in response
