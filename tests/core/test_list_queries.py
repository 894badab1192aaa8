"""Every back-office list stays index-driven and flat however big the tables get.

On PostgreSQL (marker ``postgres``) a few thousand seeded members (≈ 40k rows across the
tables, realistic distributions from devdata.scale_seed) are ANALYZEd, every list page is
requested with each of its filters, searches, sort orders and a deep keyset page, and every
query the page ran is EXPLAINed: a sequential scan of a big table fails the test. The planner
is left alone (no ``enable_seqscan=off``): it must choose the index because it is cheaper.
"""

import json
import re
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from devdata import scale_seed

# Big enough that the planner weighs costs as it does on a real book (with a few hundred
# rows a hash join over a sequential scan is the cheapest plan, and rightly so).
SEEDED_MEMBERS = 10_000

BIG_TABLES = {
    "members_user",
    "members_member",
    "account_emailaddress",
    "loans_application",
    "loans_applicationhistory",
    "loans_loan",
    "loans_installment",
    "payments_payment",
    "payments_webhookevent",
    "portal_auditevent",
}


# On PostgreSQL the audit trail and the webhook inbox are partitioned by month: a plan scans
# ``portal_auditevent_p202611`` or ``…_default``, which count as the big table they belong to,
# unless the month itself is small. The seed spreads its few thousand members over six years,
# so each month holds a few hundred rows and reading such a month whole is rightly cheaper
# than its index; a month of a real book (≈100k audit rows) is far above this line.
PARTITION = re.compile(r"_(p\d{6}|default)$")
SMALL_PARTITION_ROWS = 10_000


def partition_sizes() -> dict[str, float]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reltuples FROM pg_class WHERE relispartition")
        return dict(cursor.fetchall())


def seq_scans(plan: dict, partitions: dict[str, float] | None = None) -> list[str]:
    found = []
    partitions = partitions or {}
    name = plan.get("Relation Name") or ""
    table = PARTITION.sub("", name) if name in partitions else name
    small = partitions.get(name, SMALL_PARTITION_ROWS) < SMALL_PARTITION_ROWS
    if plan.get("Node Type") == "Seq Scan" and table in BIG_TABLES and not small:
        found.append(name)
    for child in plan.get("Plans", []):
        found += seq_scans(child, partitions)
    return found


def explain(sql: str) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
        plan = cursor.fetchone()[0]
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]


def next_link(body: str) -> str | None:
    """The href of the table's "Next" link (a keyset cursor)."""
    marker = body.find(">Next<")
    if marker < 0:
        return None
    start = body.rfind('href="', 0, marker) + len('href="')
    return body[start : body.find('"', start)].replace("&amp;", "&")


@pytest.fixture
def seeded(db):
    # Skip before seeding: the ten thousand members are only read by PostgreSQL's planner, and
    # seeding them on SQLite took minutes of every `make test` for two skipped tests.
    if connection.vendor != "postgresql":
        pytest.skip("query plans are PostgreSQL's")
    scale_seed.seed(members=SEEDED_MEMBERS, batch_size=5000)
    member = scale_seed.member_email(1234)
    from members.models import Member

    return Member.objects.select_related("user").get(user__email=member)


def list_cases(seeded):
    from loans.models import Application, LoanProduct
    from members.models import User

    product = LoanProduct.objects.order_by("pk").first()
    application = Application.objects.filter(member=seeded).first()
    officer = User.objects.filter(email__endswith=scale_seed.OFFICER_DOMAIN).first()
    members = reverse("members:staff_list")
    queue = reverse("loans:queue")
    audit = reverse("audit_list")
    disbursements = reverse("payments:disbursement_queue")
    collections = reverse("arrears:worklist")
    return [
        (members, {}),
        (members, {"q": seeded.full_name.split()[0][:4]}),
        (members, {"q": seeded.phone.replace("+234", "0")}),
        (members, {"q": seeded.phone[-7:]}),
        (members, {"q": seeded.state_code.lower()}),
        (members, {"q": seeded.bvn_last4}),
        (members, {"q": seeded.user.email[:9]}),
        (members, {"kyc_status": "rejected"}),
        (members, {"deployment_state": "LA"}),
        (members, {"created_after": "2026-01-01"}),
        (members, {"sort": "full_name"}),
        (members, {"sort": "-full_name", "kyc_status": "submitted"}),
        (members, {"page": 40}),
        (queue, {}),
        (queue, {"status": "in_review"}),
        (queue, {"status": "approved", "sort": "-amount"}),
        (queue, {"product": product.pk}),
        (queue, {"deployment_state": "KN"}),
        (queue, {"flagged": "true"}),
        (queue, {"submitted_from": "2026-06-01", "submitted_to": "2026-06-30"}),
        (queue, {"amount_min": "200000"}),
        (queue, {"q": seeded.full_name[:5]}),
        (queue, {"q": application.reference if application else "AS000000001"}),
        (queue, {"q": seeded.phone}),
        (queue, {"q": seeded.state_code}),
        (queue, {"sort": "applicant_name"}),
        (queue, {"sort": "status"}),
        (queue, {"sort": "created_at"}),
        (queue, {"page": 40}),  # an old page-number link: deferred join, no cursor
        (queue, {"page": 40, "status": "approved"}),
        (audit, {}),
        (audit, {"action": "loan."}),
        (audit, {"object_type": "loans.loan", "object_id": "42"}),
        (audit, {"object_id": "42"}),
        (audit, {"actor": officer.pk}),
        (disbursements, {}),
        (disbursements, {"reference": "ls000000001"}),
        (collections, {}),
        (collections, {"bucket": "31-60"}),
        (collections, {"deployment_state": "LA"}),
        (collections, {"product": product.pk}),
        (collections, {"officer": officer.pk}),
        (collections, {"q": "LS000000001"}),
        # The JSON API's lists (session auth here; the token only changes who is asking).
        ("/api/v1/applications", {}),
        ("/api/v1/applications", {"status": "approved"}),
        ("/api/v1/applications", {"state": "KN", "product": product.pk}),
        ("/api/v1/applications", {"q": seeded.full_name[:5]}),
        ("/api/v1/loans", {}),
        ("/api/v1/loans", {"status": "active"}),
        ("/api/v1/loans", {"state": "LA"}),
        ("/api/v1/payments", {}),
        ("/api/v1/payments", {"status": "successful"}),
    ]


@pytest.mark.postgres
def test_every_list_query_uses_indexes_on_postgres(client, seeded):
    from tests.factories import UserFactory

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    sizes = partition_sizes()
    problems, checked = [], 0
    for url, params in list_cases(seeded):
        pages = [(url, params)]
        response = client.get(url, params, headers={"HX-Request": "true"})
        assert response.status_code == 200, (url, params, response.content[:300])
        if url.startswith("/api/"):
            cursor = response.json()["next_cursor"]
            link = f"{url}?{urlencode({**params, 'cursor': cursor})}" if cursor else None
        else:
            link = next_link(response.content.decode())
        if link:  # and the page after it, through its keyset cursor
            parsed = urlparse(link)
            pages.append((parsed.path or url, {k: v[0] for k, v in parse_qs(parsed.query).items()}))
        for page_url, page_params in pages:
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(page_url, page_params).status_code == 200
            for query in ctx.captured_queries:
                sql = query["sql"]
                # Iterated querysets (form choices) arrive as server-side cursors.
                if sql.startswith("DECLARE "):
                    sql = sql[sql.index(" FOR ") + len(" FOR ") :]
                if not sql.startswith("SELECT") or not any(t in sql for t in BIG_TABLES):
                    continue
                checked += 1
                scans = seq_scans(explain(sql), sizes)
                if scans:
                    problems.append(f"{page_url} {page_params}: Seq Scan on {scans}\n  {sql[:300]}")
    assert checked > 50
    assert not problems, "\n".join(problems)


@pytest.mark.postgres
def test_prepared_statements_keep_index_plans_for_prefix_search(seeded):
    """With server-side binding psycopg prepares a statement run five times on a connection,
    and PostgreSQL may then switch it to a generic plan, made without the parameter values. A
    prefix search must not end up with a generic plan that scans: `LIKE $1` cannot use the
    prefix index unless the pattern is known."""
    from django.conf import settings
    from psycopg import ClientCursor

    from loans.models import Application
    from loans.selectors import search_applications

    if not settings.DATABASES["default"]["OPTIONS"].get("prepare_threshold"):
        pytest.skip("statement preparation is off (DATABASE_SERVER_SIDE_BINDING=false)")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    def search(prefix):
        queryset = search_applications(Application.objects.all(), prefix)
        return queryset.order_by("-created_at", "-id")[:26]

    for prefix in ["Ad", "Ch", "Ng", "Ok", "Em", "Fu", "Ib", "Tu", "Yu", "Zi", "Ba", "Ol"]:
        list(search(prefix))
    sql, _ = search("x").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE %s",
            [sql.split(" WHERE ")[0].replace("%", "%%")[:60] + "%"],
        )
        statements = cursor.fetchall()
    assert statements, "the search was not prepared: is psycopg preparing statements?"
    for name, generic_plans, _custom_plans in statements:
        if not generic_plans:
            continue  # PostgreSQL kept planning it per pattern: the index is always usable
        rare = search("Qz").query.sql_with_params()[1]
        with ClientCursor(connection.connection) as cursor:
            arguments = ", ".join(["%s"] * len(rare))
            cursor.execute(f"EXPLAIN (FORMAT JSON) EXECUTE {name}({arguments})", list(rare))
            plan = cursor.fetchone()[0]
        plan = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
        assert not seq_scans(plan), f"generic plan of {name} scans: {plan}"
