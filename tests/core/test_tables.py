"""The shared back-office table: keyset pages, no exact counts, flat query counts."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core import row_counts
from core import tables as portal_tables
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def names_on(body: str) -> list[str]:
    return re.findall(r"Keyset Member(\d\d)", body)


def link(body: str, label: str) -> str | None:
    marker = body.find(f">{label}<")
    if marker < 0:
        return None
    start = body.rfind('href="', 0, marker) + len('href="')
    return body[start : body.find('"', start)].replace("&amp;", "&")


def test_next_links_walk_every_row_once_in_order_and_previous_goes_back(client, officer):
    for i in range(60):
        MemberFactory(full_name=f"Keyset Member{i:02d}")
    client.force_login(officer)
    url = reverse("members:staff_list")
    pages, next_url = [], url
    while next_url:
        body = client.get(next_url, headers={"HX-Request": "true"}).content.decode()
        pages.append((next_url, names_on(body)))
        href = link(body, "Next")
        next_url = (url + href) if href and href.startswith("?") else href
    seen = [name for _, names in pages for name in names]
    assert len(pages) == 3 and [len(n) for _, n in pages] == [25, 25, 10]
    assert seen == [f"{i:02d}" for i in range(59, -1, -1)]  # newest first, none twice
    assert "after=" in pages[1][0] and "page=2" in pages[1][0]

    third = client.get(pages[2][0], headers={"HX-Request": "true"}).content.decode()
    back = link(third, "Previous")
    body = client.get(url + back if back.startswith("?") else back).content.decode()
    assert names_on(body) == pages[1][1]
    assert "Page 2" in body


def test_an_old_page_number_link_shows_that_page_and_continues_by_cursor(client, officer):
    for i in range(60):
        MemberFactory(full_name=f"Keyset Member{i:02d}")
    client.force_login(officer)
    url = reverse("members:staff_list")
    with CaptureQueriesContext(connection) as by_number:
        second = client.get(url, {"page": 2}).content.decode()
    assert names_on(second) == [f"{i:02d}" for i in range(34, 9, -1)]
    assert "Page 2" in second
    after = link(second, "Next")
    assert "after=" in after and "page=3" in after
    third = client.get(url + after).content.decode()
    assert names_on(third) == [f"{i:02d}" for i in range(9, -1, -1)]
    back = client.get(url + link(second, "Previous")).content.decode()
    assert names_on(back) == [f"{i:02d}" for i in range(59, 34, -1)]
    with CaptureQueriesContext(connection) as first_page:
        client.get(url)
    assert len(by_number) == len(first_page)
    # Past the end: the LazyPaginator's answer, as before.
    assert client.get(url, {"page": 40}).status_code == 200
    # An ordering keyset pages cannot serve (a joined column) is left to the LazyPaginator.
    from members.models import Member
    from members.tables import MemberTable

    by_email = MemberTable(Member.objects.order_by("user__email"), order_by=())
    assert not portal_tables.paginate_deferred_offset(by_email, per_page=25, number=2)


def test_a_cursor_from_another_sort_order_is_ignored_not_misapplied(client, officer):
    for i in range(30):
        MemberFactory(full_name=f"Keyset Member{i:02d}")
    client.force_login(officer)
    url = reverse("members:staff_list")
    body = client.get(url, headers={"HX-Request": "true"}).content.decode()
    cursor = re.search(r"after=([\w-]+)", link(body, "Next")).group(1)
    resorted = client.get(url, {"sort": "full_name", "after": cursor, "page": 2}).content.decode()
    assert names_on(resorted)[0] == "00"  # first page of the new order
    assert client.get(url, {"after": "not-a-cursor"}).status_code == 200


def test_filtered_lists_count_only_up_to_the_cap(client, officer, monkeypatch):
    monkeypatch.setattr(row_counts, "COUNT_CAP", 5)
    for i in range(8):
        MemberFactory(full_name=f"Keyset Member{i:02d}")
    client.force_login(officer)
    url = reverse("members:staff_list")
    filtered = client.get(url, {"q": "Keyset"}).content.decode()
    assert "5+ members" in filtered
    one = client.get(url, {"q": "Keyset Member03"}).content.decode()
    assert "1 member<" in one


@pytest.mark.parametrize(
    "name", ["members:staff_list", "loans:queue", "audit_list", "arrears:worklist"]
)
def test_list_query_count_is_the_same_on_a_deep_page_and_with_more_rows(client, name):
    from tests.factories import UserFactory

    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    url = reverse(name)
    for _ in range(30):
        MemberFactory()  # members and their audit events
    client.get(url)
    with CaptureQueriesContext(connection) as first_page:
        body = client.get(url).content.decode()
    for _ in range(30):
        MemberFactory()
    with CaptureQueriesContext(connection) as more_rows:
        client.get(url)
    href = link(body, "Next")
    if href:
        with CaptureQueriesContext(connection) as next_page:
            client.get(url + href if href.startswith("?") else href)
        assert len(next_page) == len(first_page)
    assert len(more_rows) == len(first_page)


@pytest.mark.postgres
def test_the_row_estimate_is_asked_once_a_minute_per_list(client, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("row estimates are PostgreSQL's")
    from tests.factories import UserFactory

    monkeypatch.setattr(row_counts, "SMALL_LIST", 0)  # show the estimate for a tiny list
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = reverse("loans:queue")

    def explains():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return sum(q["sql"].startswith("EXPLAIN") for q in ctx.captured_queries)

    assert explains() == 1
    assert explains() == 0
    monkeypatch.setattr(row_counts, "ESTIMATE_SECONDS", 0)
    assert explains() == 1


def test_officer_queue_runs_the_same_few_queries_at_any_depth_html_and_htmx(client):
    from devdata import scale_seed
    from tests.factories import UserFactory

    scale_seed.seed(members=150, batch_size=150)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = reverse("loans:queue")
    client.get(url)  # warm (sessions, the row estimate)

    def queries(target, htmx=False):
        headers = {"HX-Request": "true"} if htmx else {}
        with CaptureQueriesContext(connection) as ctx:
            body = client.get(target, headers=headers).content.decode()
        assert ("<html" in body) != htmx
        return len(ctx), body

    first, body = queries(url)
    counts = [first, queries(url, htmx=True)[0]]
    for _ in range(3):  # walk by "Next" to page 4
        href = link(body, "Next")
        assert href
        count, body = queries(url + href)
        counts.append(count)
    counts.append(queries(url + href, htmx=True)[0])
    counts.append(queries(url + "?page=4")[0])  # an old page-number link
    assert "Page 4" in body
    assert counts == [first] * len(counts)
    assert first <= 4  # session, user, the rows, the row count (capped or estimated)
