"""Read-through caches: fresh after writes, one rebuild under a stampede, never shared
between users."""

import time

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core import caching
from loans.selectors import cached_active_products
from tests.factories import MemberFactory, product

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_stats():
    caching.reset_stats()
    yield


def test_products_are_read_once_and_a_product_change_is_seen_at_once():
    first = product(name="Allawee Tiny")
    assert [p.name for p in cached_active_products()] == ["Allawee Tiny"]
    with CaptureQueriesContext(connection) as ctx:
        assert [p.pk for p in cached_active_products()] == [first.pk]
    assert len(ctx) == 0
    first.is_active = False
    first.save()
    assert cached_active_products() == []
    assert caching.stats()["products"] == {"hits": 1, "misses": 2, "hit_rate": 0.3333}


def test_dashboard_profile_is_cached_and_dropped_when_the_member_changes(client):
    member = MemberFactory(full_name="Amina Bello")
    client.force_login(member.user)
    url = reverse("members:dashboard")
    assert "Amina Bello" in client.get(url).content.decode()
    with CaptureQueriesContext(connection) as cached_page:
        client.get(url)
    assert not any('FROM "members_member"' in q["sql"] for q in cached_page.captured_queries)
    member.full_name = "Amina Bello-Okafor"
    member.save(update_fields=["full_name"])
    assert "Amina Bello-Okafor" in client.get(url).content.decode()


def test_a_stale_value_is_served_while_one_reader_rebuilds_it():
    calls = []
    cache.set("products:stampede", ("old", time.time() - 1), 60)
    cache.add("lock:products:stampede", 1, 10)  # another process is rebuilding
    assert caching.cached("products", "stampede", lambda: calls.append(1) or "new") == "old"
    assert calls == []
    cache.delete("lock:products:stampede")
    assert caching.cached("products", "stampede", lambda: calls.append(1) or "new") == "new"
    assert calls == [1]
    assert caching.cached("products", "stampede", lambda: calls.append(1) or "newer") == "new"


def test_a_cold_key_locked_by_another_reader_is_waited_for_then_built():
    cache.add("lock:search:cold", 1, 10)
    started = time.perf_counter()
    assert caching.cached("search", "cold", lambda: "built") == "built"
    assert time.perf_counter() - started >= caching.WAIT_SECONDS


def test_an_unset_generation_is_stored_so_later_searches_read_it_from_the_cache():
    cache.delete("gen:loans.application")
    assert caching.generation("loans.application") == 0
    assert cache.get("gen:loans.application") == 0  # a hit next time, not a miss per search
    caching.bump_generation("loans.application")
    assert caching.generation("loans.application") == 1


def test_search_results_are_cached_and_a_new_member_is_found_after_a_write(client, officer):
    MemberFactory(full_name="Kelechi Eze")
    client.force_login(officer)
    url = reverse("members:staff_list")
    assert "Kelechi Eze" in client.get(url, {"q": "Kelechi"}).content.decode()
    with CaptureQueriesContext(connection) as repeat:
        body = client.get(url, {"q": "Kelechi"}).content.decode()
    assert "Kelechi Eze" in body and "1 member<" in body
    member_queries = [q for q in repeat.captured_queries if "members_member" in q["sql"]]
    assert len(member_queries) == 1 and "IN (" in member_queries[0]["sql"]  # by primary key
    MemberFactory(full_name="Kelechi Okonkwo")
    body = client.get(url, {"q": "Kelechi"}).content.decode()
    assert "Kelechi Okonkwo" in body and "2 members" in body
    assert caching.stats()["search"]["hits"] >= 2


@pytest.mark.parametrize("url_name", ["loans:queue", "members:staff_list", "audit_list"])
def test_a_staff_page_is_never_served_to_a_member_or_anonymous(client, officer, url_name):
    url = reverse(url_name)
    MemberFactory(full_name="Secret Person")
    client.force_login(officer)
    for params in ({}, {"q": "Secret"}):
        staff = client.get(url, params)
        assert staff.status_code == 200
        assert "private" in staff["Cache-Control"] and "no-store" in staff["Cache-Control"]
    client.logout()
    for params in ({}, {"q": "Secret"}):
        anonymous = client.get(url, params)
        assert anonymous.status_code == 302 and "Secret Person" not in anonymous.content.decode()
    client.force_login(MemberFactory().user)
    for params in ({}, {"q": "Secret"}):
        member = client.get(url, params)
        assert member.status_code == 403 and "Secret Person" not in member.content.decode()


def test_monitor_stats_reports_the_app_cache_hit_rate(capsys):
    product(name="Allawee Counted")
    cached_active_products()
    cached_active_products()
    cached_active_products()
    call_command("monitor_stats")
    import json

    stats = json.loads(capsys.readouterr().out)
    assert stats["app_cache"]["products"]["hits"] == 2
    assert stats["app_cache_hit_rate"] == pytest.approx(2 / 3, abs=0.001)


def test_every_cache_area_feeds_the_one_counter_and_the_metrics():
    """One cache-hit counter (core.caching.count): the API's response cache counts there too,
    and every count reaches the Prometheus counter by area."""
    from core import metrics

    def sample(area, result):
        return metrics.APP_CACHE_REQUESTS.labels(area=area, result=result)._value.get()

    before = sample("api", "hit"), sample("api", "miss")
    caching.reset_stats("api")
    caching.count("api", hit=True)
    caching.count("api", hit=False)
    caching.count("api", hit=False)
    assert caching.stats()["api"] == {"hits": 1, "misses": 2, "hit_rate": 0.3333}
    assert (sample("api", "hit"), sample("api", "miss")) == (before[0] + 1, before[1] + 2)
    caching.reset_stats("api")
    assert "api" not in caching.stats()
