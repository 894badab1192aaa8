"""Does anything in the request path grow with the size of the tables? ~100k rows vs ~1M.

Usage (local PostgreSQL; each database is seeded once by ``seed_scale`` and kept):

    uv run python bench/growth.py                      # 5,000 vs 50,000 members
    uv run python bench/growth.py --small 5000 --large 50000 --repeat 10 --rounds 3

``seed_scale`` writes about 20 rows per member over members, applications and their history,
loans, installments, payments, webhook and audit events, so 5,000 members is ~100k rows and
50,000 is ~1M. The same pages are then requested in-process (Django's test ``Client``,
``DEBUG=false``, server time: middleware, queries, rendering; no network) against each
database, each in its own process, the two sizes in alternating rounds (each page keeps its
best round):

- back office as a superuser: application queue page 1, its HTMX partial, a keyset page 90 %
  of the way down, the members list, the audit log, the collections worklist, one
  application and one loan;
- a member with a loan: dashboard and the loan's schedule;
- the JSON API with a bearer token: applications page 1 and a cursor 90 % down, loans,
  payments.

It prints the median milliseconds and query count of each page at both sizes and the ratio
large/small. Target: every ratio close to 1 (the 10× larger database costs no more per page)
and identical query counts.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

from common import ROOT, database_exists, django_environment, psql, timed


def environment(database: str) -> dict:
    # The API's per-user limit is raised: the bench calls the list many times in a minute.
    return {**django_environment(database), "API_RATE_LIMIT_AUTH": str(10**9)}


def prepare(database: str, members: int) -> None:
    """Create, migrate and seed (resumable: a second run only checks)."""
    if not database_exists(database):
        psql(f"CREATE DATABASE {database}")
    env = environment(database)
    for command in (["migrate", "-v0"], ["seed_scale", "--members", str(members), "--no-progress"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)


def measure(database: str, repeat: int) -> dict:
    """Runs in a child process with that database configured; returns {page: figures}."""
    os.environ.update(environment(database))
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.test import Client
    from django.utils import timezone

    from api.models import ApiToken
    from api.pagination import encode_cursor
    from api.services import create_token
    from core.cursors import encode_cursor as encode_table_cursor
    from core.cursors import keyset_ordering
    from loans.models import Application, Loan
    from members.models import User

    rows = sum(
        int(n)
        for n in first_column(
            "SELECT reltuples::bigint FROM pg_class WHERE relkind = 'r' "
            "AND relnamespace = 'public'::regnamespace AND reltuples > 0"
        )
    )
    staff, _ = User.objects.get_or_create(
        email="bench-growth@staff.allaweeplus.test",
        defaults={"is_staff": True, "is_superuser": True},
    )
    # Earlier runs' tokens are retired (a user may hold 10 at most).
    ApiToken.objects.filter(user=staff, revoked_at__isnull=True).update(revoked_at=timezone.now())
    _, token = create_token(user=staff, name="growth", scope="read", expires_in_days=1)
    ordered = Application.objects.order_by("-created_at", "-id")
    total = ordered.count()  # once, outside every timing
    per_page = 25
    deep_page = max(2, int(total * 0.9) // per_page)
    position = ordered.values_list("created_at", "id")[(deep_page - 1) * per_page - 1]
    queue_cursor = encode_table_cursor(list(position), keyset_ordering(ordered))
    api_cursor = encode_cursor(*position)
    application = ordered.values_list("reference", flat=True)[total // 2]
    loan = Loan.objects.order_by("-id").values_list("reference", "application__member__user")[
        Loan.objects.count() // 2
    ]

    staff_client, member_client, api_client = Client(), Client(), Client()
    staff_client.force_login(staff)
    member_client.force_login(User.objects.get(pk=loan[1]))
    bearer = {"Authorization": f"Bearer {token}"}
    htmx = {"HX-Request": "true"}
    pages = [
        ("queue page 1", staff_client, "/backoffice/applications/", {}, {}),
        ("queue page 1 (HTMX)", staff_client, "/backoffice/applications/", {}, htmx),
        (
            "queue 90 % down (keyset)",
            staff_client,
            "/backoffice/applications/",
            {"page": deep_page, "after": queue_cursor},
            {},
        ),
        ("members list", staff_client, "/backoffice/members/", {}, {}),
        ("audit log", staff_client, "/backoffice/audit/", {}, {}),
        ("collections worklist", staff_client, "/backoffice/collections/", {}, {}),
        ("one application", staff_client, f"/backoffice/applications/{application}/", {}, {}),
        ("one loan (staff)", staff_client, f"/backoffice/loans/{loan[0]}/", {}, {}),
        ("member dashboard", member_client, "/me/", {}, {}),
        ("member loan schedule", member_client, f"/loans/{loan[0]}/", {}, {}),
        ("API applications page 1", api_client, "/api/v1/applications", {}, bearer),
        (
            "API applications 90 % down",
            api_client,
            "/api/v1/applications",
            {"cursor": api_cursor},
            bearer,
        ),
        ("API loans page 1", api_client, "/api/v1/loans", {}, bearer),
        ("API payments page 1", api_client, "/api/v1/payments", {}, bearer),
    ]
    results = {"_rows": rows, "_applications": total}
    for label, client, url, params, headers in pages:
        figures = timed(client, url, params, headers, repeat)
        results[label] = {"median": figures["median"], "queries": figures["queries"]}
    return results


def first_column(sql: str) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=5_000, help="members in the small DB")
    parser.add_argument("--large", type=int, default=50_000, help="members in the large DB")
    parser.add_argument("--repeat", type=int, default=10, help="requests per page per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per size")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.repeat)))
        return

    databases = {}
    for members in (args.small, args.large):
        databases[members] = f"allaweeplus_growth_{members}"
        prepare(databases[members], members)
    # The two sizes are measured in alternating rounds and each page keeps its best round:
    # on a shared machine a burst of other work then hits both sizes alike instead of
    # whichever happened to run during it.
    rounds: dict = {members: [] for members in databases}
    for _ in range(args.rounds):
        for members, database in databases.items():
            done = subprocess.run(
                [sys.executable, __file__, "--measure", database, "--repeat", str(args.repeat)],
                cwd=ROOT,
                check=True,
                capture_output=True,
                text=True,
            )
            rounds[members].append(json.loads(done.stdout.strip().splitlines()[-1]))
    runs = {}
    for members, results in rounds.items():
        best = dict(results[0])
        for label in list(best):
            if not label.startswith("_"):
                best[label] = min((r[label] for r in results), key=lambda f: f["median"])
        runs[members] = best
    small, large = runs[args.small], runs[args.large]
    print(
        f"\nsmall: {args.small:,} members, ~{small['_rows']:,} rows, "
        f"{small['_applications']:,} applications"
    )
    print(
        f"large: {args.large:,} members, ~{large['_rows']:,} rows, "
        f"{large['_applications']:,} applications"
    )
    print(
        f"median of {args.repeat} requests, best of {args.rounds} alternating rounds, "
        "server time in-process\n"
    )
    print(f"{'page':<30}{'small ms':>10}{'q':>4}{'large ms':>10}{'q':>4}{'large/small':>13}")
    print("-" * 71)
    ratios, same_queries = [], True
    for label in (k for k in small if not k.startswith("_")):
        a, b = small[label], large[label]
        ratio = b["median"] / a["median"]
        ratios.append(ratio)
        same_queries &= a["queries"] == b["queries"]
        print(
            f"{label:<30}{a['median']:>10.1f}{a['queries']:>4}{b['median']:>10.1f}"
            f"{b['queries']:>4}{ratio:>12.2f}×"
        )
    print(
        f"\nratio large/small: median {statistics.median(ratios):.2f}×, worst {max(ratios):.2f}× "
        f"(rows grew {large['_rows'] / small['_rows']:.1f}×); query counts "
        + ("identical" if same_queries else "DIFFER")
    )


if __name__ == "__main__":
    main()
