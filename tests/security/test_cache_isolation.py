"""After staff and member A have loaded every page and API read (filling every cache:
product list, dashboard figures, metrics gauges, quotes), anonymous visitors and member B
get only their own data: nothing of member A's leaks through a cache."""

import pytest
from django.test import Client

from tests.api.conftest import token_for
from tests.security.test_access_matrix import API_RULES, RULES, portal_routes, url_of
from tests.security.world import build_world

pytestmark = pytest.mark.django_db


def _secrets_of_a(w):
    return [
        w.member_a.full_name,
        w.member_a.user.email,
        w.member_a.phone,
        w.member_a.state_code,
        w.loan.reference,
        w.application.reference,
        w.payment.reference,
        w.member_a.account_number,
    ]


def _get_urls(w):
    urls = []
    for route in portal_routes():
        rule = RULES[route.key]
        # The simulated provider's hosted page is a capability URL (whoever holds the
        # checkout reference sees its amount and e-mail, like Paystack's): not a cache leak.
        if rule.method != "GET" or route.route.startswith(("admin/", "payments/simulated/")):
            continue
        urls.append(url_of(route, rule.kwargs(w) if rule.kwargs else {}))
    for operation, rule in API_RULES.items():
        method, path = operation.split(" ", 1)
        if method == "GET":
            for name, value in (rule.kwargs(w) if rule.kwargs else {}).items():
                path = path.replace(f"{{{name}}}", str(value))
            urls.append(path)
    return urls + ["/api/v1/quote?product=1&amount=60000.00&tenure_months=3"]


def test_member_b_and_anonymous_never_get_member_a_data_from_a_cache():
    w = build_world()
    urls = _get_urls(w)
    assert len(urls) > 40
    # Fill the caches: every page and API read, as each role that may see A's data.
    for role in ("finance", "officer", "administrator", "member_a"):
        client = w.client(role)
        bearer = {"Authorization": f"Bearer {token_for(w.user(role))}"}
        for url in urls:
            client.get(url, headers=bearer if url.startswith("/api/") else {})

    for role in ("anonymous", "member_b"):
        client = w.client(role) if role != "anonymous" else Client()
        user = w.user(role)
        bearer = {"Authorization": f"Bearer {token_for(user)}"} if user else {}
        for url in urls:
            for headers in ({}, bearer, {"HX-Request": "true"}):
                response = client.get(url, headers=headers)
                if getattr(response, "streaming", False):
                    body = b"".join(response.streaming_content).decode(errors="replace")
                else:
                    body = response.content.decode(errors="replace")
                for secret in _secrets_of_a(w):
                    assert secret not in body, f"{role} got {secret!r} of member A from {url}"
