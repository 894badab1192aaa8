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


def _message(member, subject):
    from django.utils import timezone

    from notifications.models import Message

    return Message.objects.create(
        member=member,
        channel="email",
        kind=Message._meta.get_field("kind").choices[0][0],
        subject=subject,
        body=subject,
        scheduled_for=timezone.now(),
    )


def test_every_cached_list_gives_each_user_their_own_rows():
    """The class: every list that caches a search (core.tables.HtmxTableView, the
    ``search`` cache) is warmed by one user and read by another with the same query string.
    A member's own list (messages) is per member; a back-office list warmed by one staff
    user must not answer another either (lists may narrow per user within a permission)."""
    w = build_world()
    for i in range(3):
        _message(w.member_a, f"Message A{i} for {w.member_a.full_name}")
    _message(w.member_b, "Message B0 of member B")
    lists = [
        ("member_a", "member_b", "/me/messages/"),
        ("officer", "finance", "/backoffice/applications/"),
        ("finance", "administrator", "/backoffice/members/"),
    ]
    for first, second, path in lists:
        for query in ("?q=e", "?q=e&channel=email"):
            for headers in ({}, {"HX-Request": "true"}):
                _empty_cache()
                warm = w.client(first).get(path + query, headers=headers)
                assert warm.status_code == 200, (first, path)
                mine = w.client(second).get(path + query, headers=headers)
                assert mine.status_code == 200, (second, path)
                body = mine.content.decode()
                if path == "/me/messages/":
                    assert "Message B0 of member B" in body, "member B got A's cached page"
                    assert "Message A" not in body
                    assert "3 messages" not in body and "3 rows" not in body


def _empty_cache():
    from django.core.cache import cache

    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()


def test_search_cache_keys_name_the_user():
    """Every key of the per-request search cache carries the user's id."""
    from django.test import RequestFactory

    from notifications.views import MemberMessagesView

    w = build_world()
    keys = []
    for member in (w.member_a, w.member_b):
        request = RequestFactory().get("/me/messages/", {"q": "loan"})
        request.user = member.user
        view = MemberMessagesView()
        view.setup(request)
        view.object_list = view.get_queryset()
        keys.append(view.search_cache_key())
    assert keys[0] != keys[1]
    assert f"u{w.member_a.user.pk}:" in keys[0] and f"u{w.member_b.user.pk}:" in keys[1]
