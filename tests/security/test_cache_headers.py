"""Every answer that may belong to one person says ``Cache-Control: private, no-store``.

The class, walked from the URL conf as in test_access_matrix.py: every portal URL (full
pages, HTMX partials, downloads: statements, exports, documents, reports) as every role, the
Django admin's model pages as the administrator, and every API operation with each role's
token. The review found member pages (dashboard, loan schedule, statement CSV, document
downloads, API answers with a token) without it: only the back office sent it."""

import json

import pytest
from django.db import transaction
from django.test import Client

from tests.api.conftest import token_for
from tests.security.test_access_matrix import (
    API_RULES,
    RULES,
    admin_model_routes,
    portal_routes,
    url_of,
)
from tests.security.world import ROLES, build_world

pytestmark = pytest.mark.django_db


def _private(response) -> bool:
    header = response.get("Cache-Control", "")
    parts = {part.strip() for part in header.split(",")}
    return {"private", "no-store"} <= parts and not any(p.startswith("max-age") for p in parts)


def _request(client, method, url, *, data=None, headers=None, api=False):
    with transaction.atomic():
        if api and method == "POST":
            response = client.post(
                url, data=json.dumps(data or {}), content_type="application/json", headers=headers
            )
        else:
            response = getattr(client, method.lower())(url, data=data or None, headers=headers)
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)
        transaction.set_rollback(True)
    return response


def test_every_portal_answer_to_a_signed_in_user_is_private_and_not_stored():
    w = build_world()
    problems = []
    checked = 0
    for route in portal_routes():
        rule = RULES[route.key]
        url = url_of(route, rule.kwargs(w) if rule.kwargs else {})
        data = rule.data(w) if callable(rule.data) else rule.data
        for role in ROLES:
            client = w.client(role)
            for headers in ({}, {"HX-Request": "true"}):
                response = _request(client, rule.method, url, data=data, headers=headers)
                if response.status_code >= 500:
                    problems.append(f"{rule.method} {url} as {role}: {response.status_code}")
                    continue
                personal = role != "anonymous" or response.cookies
                if personal and not _private(response):
                    problems.append(
                        f"{rule.method} {url} as {role} {headers}: {response.status_code} "
                        f"Cache-Control={response.get('Cache-Control')!r}"
                    )
                checked += 1
    assert checked > 500
    assert not problems, "\n".join(problems)


def test_every_admin_page_is_private_and_not_stored():
    w = build_world()
    client = w.client("administrator")
    problems = []
    for route, _model, _action in admin_model_routes():
        kwargs = {}
        if "<path:object_id>" in route.route:
            kwargs = {"object_id": w.member_a.pk}
        try:
            url = url_of(route, kwargs)
        except AssertionError:
            continue
        response = _request(client, "GET", url)
        if not _private(response):
            problems.append(f"{url}: {response.status_code} {response.get('Cache-Control')!r}")
    assert not problems, "\n".join(problems)


def test_every_api_answer_with_a_token_is_private_and_not_stored():
    w = build_world()
    problems = []
    tokens = {role: token_for(w.user(role)) for role in ROLES[1:]}
    for operation, rule in API_RULES.items():
        method, path = operation.split(" ", 1)
        for name, value in (rule.kwargs(w) if rule.kwargs else {}).items():
            path = path.replace(f"{{{name}}}", str(value))
        data = rule.data(w) if callable(rule.data) else rule.data
        for role in ROLES[1:]:
            headers = {**rule.headers, "Authorization": f"Bearer {tokens[role]}"}
            response = _request(Client(), method, path, data=data, headers=headers, api=True)
            if not _private(response):
                problems.append(
                    f"{operation} as {role}: {response.status_code} "
                    f"{response.get('Cache-Control')!r}"
                )
    assert not problems, "\n".join(problems)


def test_public_anonymous_answers_stay_cacheable():
    response = Client().get("/api/v1/products")
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("public")
    # ...but the same list asked with a session cookie is not shared.
    client = Client()
    client.cookies["sessionid"] = "whatever"
    assert _private(client.get("/api/v1/products"))


def test_an_answer_that_sets_a_cookie_is_never_stored():
    response = Client().get("/accounts/login/")
    assert response.cookies  # the CSRF cookie
    assert _private(response)
