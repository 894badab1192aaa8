"""Query parameters at their extremes: no 5xx, on any page or API list, for any role.

The low-finding class of the second outside review: filters, search, sort, page numbers and
cursors given extreme values answered with 500s. The pages are found by walking the URL conf
(tests/security/test_access_matrix.py): every GET page some role opens is fetched as that
role and its parameters are read from the page itself (the inputs of its GET forms and the
query strings of its links), plus the pagination parameters of the shared table view and
the few parameters views read from ``request.GET`` directly (``EXTRA_PARAMS``). Each
parameter then gets hostile values: numbers of 400 digits, negatives, ``1e999999``,
NaN/inf, other scripts' digits, dates like ``0000-00-00``, ``99999-12-31``, ``9999-12-31``
and ``0001-01-01``, 10,000 characters, NUL bytes, unknown choices, empty and repeated
values, and malformed cursors. A 4xx or a page with a form error is a fine answer; a 5xx
is not. The API's query parameters (filters, ``limit``, ``cursor``) come from its OpenAPI
schema and get the same values one parameter at a time (a 422 for one would hide the
others).
"""

import base64
import json
import re
from datetime import date
from itertools import cycle
from urllib.parse import parse_qsl

import pytest
from django.db import transaction
from django.test import Client
from django.urls import resolve, reverse

from core.cursors import decode_cursor, keyset_ordering
from core.tables import HtmxTableView
from tests.security.test_access_matrix import GROUPS, RULES, _group, portal_routes, url_of
from tests.security.world import build_world

pytestmark = pytest.mark.django_db


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


HUGE = "9" * 400
EXTREMES = [
    HUGE,
    "-" + HUGE,
    "-1",
    "0",
    "1e999999",
    "NaN",
    "inf",
    "-Infinity",
    "١٢٣",  # Arabic-Indic digits: str.isdigit() says yes
    "0000-00-00",
    "99999-12-31",
    "9999-12-31",
    "0001-01-01",
    "2026-02-30",
    "x" * 10_000,
    "\x00",
    "1\x00",
    "unknown-choice",
    "",
    "%",
    "' OR 1=1 --",
    # Malformed cursors: not base64, not JSON, JSON of the wrong shape or the wrong types.
    "!!!",
    _b64("not json"),
    _b64('["-created_at,-id", "9999-12-31T23:59:59+00:00", ' + HUGE + "]"),
    _b64('["-created_at,-id", "0001-01-01T00:00:00+05:00", Infinity]'),
    _b64(f'["9999-12-31T23:59:59+00:00", {HUGE}]'),
    _b64('["0001-01-01T00:00:00+14:00", 1]'),
    _b64("[]"),
]
CURSOR_PARAMS = {"after", "before", "cursor"}
TABLE_PARAMS = ["page", "per_page", "after", "before", "sort"]
# Views that read request.GET themselves (no form on the page names these).
EXTRA_PARAMS = {
    "loans:apply": ["product", "amount", "tenure"],
    "loans:key_facts": ["download"],
    "recon:upload": ["statement", "mapping"],
    "recon:lines": ["statement", "status", "page"],
    "reports:export": ["kind", "start", "end"],
    "payments:checkout_return": ["reference"],
}
# Pages whose parameters are someone else's (allauth, the admin) or that have none.
SKIPPED = re.compile(r"^(account_|mfa_|admin:|api-v1:|healthz|readyz|metrics)")
ROLES = ("member_a", "member_b", "officer", "finance", "administrator")


# Each parameter alone gets these, the others holding valid values: one parameter's bad value
# may otherwise send the view down a path where another is never read (recon:lines reads
# ``page`` only with a valid ``status``).
ALONE = [HUGE, "9" * 5000, "-1", "0", "١٢٣", "1e999999", "9999-12-31", "0001-01-01"]


def _page_params(html: str) -> tuple[set[str], dict[str, str]]:
    """The names a page's GET forms and links send, and a valid value for each select (its
    first option that is not empty)."""
    names, valid = set(), {}
    for attrs, body in re.findall(r"<form\b([^>]*)>(.*?)</form>", html, re.S | re.I):
        if re.search(r'method="post"', attrs, re.I):
            continue
        names |= set(re.findall(r'\bname="([^"]+)"', body))
        for name, options in re.findall(
            r'<select[^>]*\bname="([^"]+)"[^>]*>(.*?)</select>', body, re.S | re.I
        ):
            choices = [v for v in re.findall(r'<option value="([^"]*)"', options) if v]
            if choices:
                valid[name] = choices[0]
    for query in re.findall(r'href="[^"?]*\?([^"#]*)"', html):
        names |= {key for key, _ in parse_qsl(query.replace("&amp;", "&"))}
    drop = {"csrfmiddlewaretoken", "_"}
    return names - drop, {k: v for k, v in valid.items() if k not in drop}


def _targets(world, group=None):
    """(url name, url, roles that open it, parameters, valid values) for every GET page with
    parameters (of one group of the access matrix)."""
    targets = []
    for route in portal_routes():
        rule = RULES[route.key]
        if rule.method != "GET" or SKIPPED.match(route.key):
            continue
        if group is not None and _group(route.key) != group:
            continue
        outcomes = rule.outcomes()
        roles = [role for role in ROLES if outcomes[role] in ("200", "302")]
        if not roles:
            continue
        url = url_of(route, rule.kwargs(world) if rule.kwargs else {})
        params, valid = set(EXTRA_PARAMS.get(route.key, [])), {}
        response = world.client(roles[0]).get(url)
        if response.get("Content-Type", "").startswith("text/html"):
            found, valid = _page_params(response.content.decode())
            params |= found
        view_class = getattr(resolve(url.split("?")[0]).func, "view_class", None)
        if view_class is not None and issubclass(view_class, HtmxTableView):
            params |= set(TABLE_PARAMS)
        if params:
            targets.append((route.key, url, roles, sorted(params), valid))
    return targets


def _requests(params, valid):
    """Query dicts for one page: per hostile value, every non-cursor parameter at once, and
    each cursor parameter alone (a bad cursor would otherwise hide the page number); each
    parameter alone among valid values; then every parameter repeated, and every one empty."""
    plain = [p for p in params if p not in CURSOR_PARAMS]
    cursors = [p for p in params if p in CURSOR_PARAMS]
    for value in EXTREMES:
        if plain:
            yield {p: value for p in plain}
        for p in cursors:
            yield {p: value}
    for p in plain:
        for value in ALONE:
            yield {**valid, p: value}
    yield {p: ["1", HUGE, "x"] for p in params}
    yield {p: "" for p in params}


def _answer(client, url, query, htmx):
    with transaction.atomic():
        headers = {"HX-Request": "true"} if htmx else {}
        response = client.get(url, query, headers=headers)
        transaction.set_rollback(True)
    return response


def test_the_walk_finds_the_pages_with_parameters():
    names = {key for key, *_ in _targets(build_world())}
    # The filtered tables and the views that read request.GET.
    assert {"loans:queue", "members:staff_list", "arrears:worklist", "recon:lines"} <= names
    assert {"audit_list", "reports:list", "notifications:messages", "loans:apply"} <= names


@pytest.mark.parametrize("group", GROUPS)
def test_every_page_with_parameters_answers_extreme_values_without_a_server_error(group):
    world = build_world()
    clients = {}
    for role in ROLES:  # a 500 is counted, not raised, so one run lists them all
        clients[role] = Client(raise_request_exception=False)
        clients[role].force_login(world.user(role))
    failures = []
    for key, url, roles, params, valid in _targets(world, group):
        role_for = cycle(roles)  # every role that opens the page takes a share of the values
        for number, query in enumerate(_requests(params, valid)):
            role = next(role_for)
            response = _answer(clients[role], url, query, htmx=number % 2 == 1)
            if response.status_code >= 500:
                shown = {
                    k: (v if len(str(v)) < 60 else f"{str(v)[:20]}…") for k, v in query.items()
                }
                failures.append(f"{key} as {role}: {response.status_code} for {shown}")
    assert not failures, "\n".join(failures[:40])


def test_filter_form_errors_are_shown_not_silently_dropped():
    """An impossible value is answered with a page saying so, not a 500 and not silence."""
    world = build_world()
    client = world.client("officer")
    response = client.get(reverse("loans:queue"), {"submitted_to": "9999-12-31"})
    assert response.status_code == 200
    response = client.get(
        reverse("loans:queue"), {"amount_min": "1e999999", "submitted_from": "0000-00-00"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "These filters were left out" in html
    assert "without an exponent" in html


# --- The keyset cursor of the tables -------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        ["9999-12-31T23:59:59+00:00", int(HUGE)],
        ["9999-12-31T23:59:59+00:00", -int(HUGE)],
        ["0001-01-01T00:00:00+14:00", 1],
        ["9999-12-31T23:59:59-12:00", 1],
        ["2026-01-01T00:00:00+00:00", float("inf")],
        ["2026-01-01T00:00:00+00:00", float("nan")],
        ["2026-01-01T00:00:00+00:00", "١٢٣"],
        ["99999-01-01", 1],
        [None, 1],
        [[], {}],
    ],
)
def test_a_forged_table_cursor_is_ignored_not_a_server_error(values):
    from loans.models import Application

    ordering = keyset_ordering(Application.objects.order_by("-created_at", "-id"))
    raw = json.dumps(["-created_at,-id", *values])
    cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    assert decode_cursor(cursor, ordering) is None


def test_a_genuine_table_cursor_still_decodes():
    from loans.models import Application

    ordering = keyset_ordering(Application.objects.order_by("-created_at", "-id"))
    raw = json.dumps(["-created_at,-id", "2026-01-01T10:00:00+00:00", 42])
    cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    moment, pk = decode_cursor(cursor, ordering)
    assert (moment.year, pk) == (2026, 42)


# --- The JSON API ---------------------------------------------------------------------------


def _api_queries():
    from api.api import api

    schema = api.get_openapi_schema()
    for path, methods in schema["paths"].items():
        operation = methods.get("get")
        if operation is None:
            continue
        query = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
        path_params = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
        yield path, query, path_params


def test_api_query_parameters_at_their_extremes_are_4xx_not_5xx():
    from tests.api.conftest import token_for

    world = build_world()
    tokens = cycle(
        [token_for(world.user(role)) for role in ("member_a", "officer", "finance")] + [None]
    )
    failures, checked = [], 0
    for path, query_params, path_params in _api_queries():
        for value in EXTREMES:
            targets = [{name: value} for name in query_params]
            if path_params:  # e.g. /reports/daily/{report_date}: the value in the path
                concrete = path
                for name in path_params:
                    concrete = concrete.replace(f"{{{name}}}", re.sub(r"[/?#%]", "-", value))
                targets.append(("path", concrete))
            for target in targets:
                url, params = (target[1], {}) if isinstance(target, tuple) else (path, target)
                if "{" in url:  # a path parameter this value was not put into
                    continue
                token = next(tokens)
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                with transaction.atomic():
                    client = Client(raise_request_exception=False)
                    response = client.get(url, params, headers=headers)
                    transaction.set_rollback(True)
                checked += 1
                if response.status_code >= 500:
                    failures.append(f"GET {url} {str(params)[:80]}: {response.status_code}")
                elif response.status_code >= 400:
                    assert set(response.json()) == {"error"}, response.content[:200]
    assert checked > 100
    assert not failures, "\n".join(failures[:40])


def test_api_repeated_query_parameters_are_not_a_server_error():
    from tests.api.conftest import token_for

    world = build_world()
    token = token_for(world.user("officer"))
    for path, query_params, _ in _api_queries():
        if "{" in path or not query_params:
            continue
        params = {name: ["1", "x", date.max.isoformat()] for name in query_params}
        response = Client().get(path, params, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code < 500, (path, response.content[:200])


@pytest.mark.parametrize(
    "url",
    [
        "/payments/return/?reference=%00",
        "/backoffice/audit/?object_id=1%00",
        "/api/v1/loans/LN%00",
        "/api/v1/applications?q=%00",
    ],
)
def test_a_nul_byte_in_the_address_is_a_400(url):
    """PostgreSQL text cannot hold NUL: found on PostgreSQL as 500s on the checkout return
    (``?reference=``) and the API's object paths; refused for every address instead."""
    world = build_world()
    client = Client(raise_request_exception=False)
    client.force_login(world.finance)
    response = client.get(url)
    assert response.status_code == 400
    if url.startswith("/api/"):
        assert response.json()["error"]["code"] == "bad_request"
