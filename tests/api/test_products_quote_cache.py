"""Products and quote: public, cached for anonymous callers only, invalidated on change."""

import pytest
from django.test import Client

from api import cache as api_cache
from tests.api.conftest import Api, new_member, token_for
from tests.factories import product

pytestmark = pytest.mark.django_db

QUOTE = "/quote?product={pk}&amount=60000.00&tenure_months=3"


def test_products_are_public_and_money_is_a_naira_string(anon):
    product(min_principal=10_000_00, max_principal=150_000_00)
    response = anon.get("/products")
    assert response.status_code == 200
    (item,) = response.json()
    assert item["min_principal"] == "10000.00"
    assert item["max_principal"] == "150000.00"
    assert item["tenures"] == [1, 2, 3, 6]


def test_second_anonymous_read_is_a_cache_hit_without_queries(anon, django_assert_num_queries):
    product()
    api_cache.reset_counters()
    assert anon.get("/products")["X-Cache"] == "miss"
    with django_assert_num_queries(0):
        response = anon.get("/products")
    assert response["X-Cache"] == "hit"
    assert api_cache.hit_rate() == {"hits": 1, "misses": 1, "hit_rate": 0.5}


def test_a_product_change_is_visible_at_once(anon):
    prod = product(name="Corper Starter")
    assert anon.get("/products").json()[0]["name"] == "Corper Starter"
    prod.name = "Corper Plus"
    prod.save()
    response = anon.get("/products")
    assert response["X-Cache"] == "miss"
    assert response.json()[0]["name"] == "Corper Plus"
    prod.is_active = False
    prod.save()
    assert anon.get("/products").json() == []


def test_quote_is_a_schedule_preview_and_writes_nothing(anon):
    prod = product()
    response = anon.get(QUOTE.format(pk=prod.pk))
    assert response.status_code == 200
    body = response.json()
    assert body["can_apply"] is True
    assert body["personalised"] is False
    schedule = body["schedule"]
    assert schedule["principal"] == "60000.00"
    assert len(schedule["installments"]) == 3
    total = sum(int(i["total"].replace(".", "")) for i in schedule["installments"])
    assert total == int(schedule["total_repayable"].replace(".", ""))


def test_quote_of_an_unknown_or_withdrawn_product_is_404(anon):
    prod = product(is_active=False)
    assert anon.get(QUOTE.format(pk=prod.pk)).status_code == 404
    assert anon.get(QUOTE.format(pk=999999)).status_code == 404


def test_quote_outside_limits_explains_the_problem(anon):
    prod = product()
    body = anon.get(f"/quote?product={prod.pk}&amount=5.00&tenure_months=5").json()
    assert body["can_apply"] is False
    rules = {p["rule"] for p in body["problems"]}
    assert "amount_within_limits" in rules


def test_a_cached_answer_is_never_served_to_another_caller(db, officer):
    """Every cacheable endpoint, loaded first as staff, then as anonymous, then as a member
    (session and token): each gets its own answer."""
    active = product(name="Open product")
    withdrawn = product(name="Withdrawn product", is_active=False)
    member = new_member(monthly_allowance=10_000_00)  # too little income for the quote

    staff_session = Client()
    staff_session.force_login(officer)
    member_session = Client()
    member_session.force_login(member.user)
    callers = {
        "staff token": Api(token_for(officer)),
        "staff session": Api(client=staff_session),
        "anonymous": Api(),
        "member token": Api(token_for(member.user)),
        "member session": Api(client=member_session),
        "anonymous again": Api(),
    }
    for _ in range(2):  # the second round would hit anything wrongly cached in the first
        seen = {name: caller.get("/products").json() for name, caller in callers.items()}
        staff_names = {p["name"] for p in seen["staff token"]}
        assert staff_names == {"Open product", "Withdrawn product"}
        assert {p["name"] for p in seen["staff session"]} == staff_names
        for name in ["anonymous", "member token", "member session", "anonymous again"]:
            assert [p["name"] for p in seen[name]] == ["Open product"], name

        quotes = {
            name: caller.get(QUOTE.format(pk=active.pk)).json() for name, caller in callers.items()
        }
        assert quotes["anonymous"]["personalised"] is False
        assert quotes["anonymous again"] == quotes["anonymous"]
        assert quotes["staff token"]["personalised"] is False
        for name in ["member token", "member session"]:
            assert quotes[name]["personalised"] is True, name
            assert quotes[name]["can_apply"] is False  # the income rule fails for this member
        assert callers["staff token"].get(QUOTE.format(pk=withdrawn.pk)).status_code == 200
        assert callers["anonymous"].get(QUOTE.format(pk=withdrawn.pk)).status_code == 404
        assert callers["member token"].get(QUOTE.format(pk=withdrawn.pk)).status_code == 404


def test_signed_in_answers_are_private(db, officer):
    product()
    response = Api(token_for(officer)).get("/products")
    assert "no-store" in response["Cache-Control"]
    assert "X-Cache" not in response
    public = Api().get("/products")
    assert public["Cache-Control"].startswith("public")
    assert "Authorization" in public["Vary"] and "Cookie" in public["Vary"]
