"""JSON API throughput under gunicorn with the production config (not a unit test).

Usage (against the local PostgreSQL and Redis; creates its own database):

    uv run python bench/api_throughput.py --applications 1000000 --requests 2000

It creates the database ``allaweeplus_bench_api``, migrates it, bulk-inserts a data set
(members, and APPLICATIONS applications spread over two years, inserted set-based with
``generate_series``), then starts gunicorn with ``deploy/gunicorn.conf.py`` and
``DEBUG=false`` on 127.0.0.1 and drives it with a small bounded load generator (threads +
``http.client`` keep-alive connections in 4 processes, CONCURRENCY connections (32 by
default, as in the targets), REQUESTS requests per
scenario, at most --max-seconds each). Gunicorn runs with the production config's own worker
and thread counts unless --workers/--threads are given:

- ``ceiling``: ``GET /api/v1/ping``, no database: the framework's own ceiling on this machine;
- ``products``: ``GET /api/v1/products`` anonymous, served from the Redis response cache;
- ``applications p1``: ``GET /api/v1/applications`` as an officer with a bearer token;
- ``deep cursor``: the same list at a cursor ~90 % of the way down (keyset pagination).

For each it prints requests/s, p50 and p95 latency, and the ratio to the ceiling (machines
here are noisy and shared; compare ratios). It also prints the API cache hit rate from the
hit/miss counters kept in Redis, and checks the targets: cached products ≥ 70 % of the
ceiling, list pages ≥ 35 %, the deep page within 1.5× of page 1's latency, p95 < 200 ms. The
load generator runs on the same cores as the server (it costs every scenario alike; compare
ratios, not absolute figures). The rate limits are raised for the run. ``--keep`` keeps
the database for another run (``--reuse`` skips seeding when it exists).
"""

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from common import psql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def seed(applications: int, members: int) -> None:
    """Bulk inserts: users and members through bulk_create, applications set-based."""
    from django.db import connection

    from members.models import Member, User
    from tests.factories import product

    started = time.perf_counter()
    products = [product(name=f"Bench product {i}") for i in range(1, 4)]
    batch = 5000
    for start in range(0, members, batch):
        users = User.objects.bulk_create(
            [
                User(email=f"bench{n}@example.ng", password="!")  # unusable password
                for n in range(start, min(members, start + batch))
            ]
        )
        Member.objects.bulk_create(
            [Member(user=u, full_name=f"Bench Member {u.pk}", deployment_state="LA") for u in users]
        )
    first_member = Member.objects.order_by("id").values_list("id", flat=True).first()
    product_ids = [p.pk for p in products]
    with connection.cursor() as cursor:
        # Decided applications only (at most one open application per member is a rule).
        cursor.execute(
            """
            INSERT INTO loans_application (
                reference, member_id, product_id, amount, tenure_months, status,
                created_at, updated_at, key_facts, key_facts_hash, consent_user_agent,
                assessment, recommendation, flags, is_flagged, decision_reason,
                info_requested, deployment_state, applicant_name
            )
            SELECT
                'BX' || lpad(g::text, 10, '0'),
                %(first_member)s + (g %% %(members)s),
                (ARRAY[%(p1)s, %(p2)s, %(p3)s])[1 + g %% 3],
                (10000 + (g %% 400) * 1000) * 100,
                1 + g %% 6,
                (ARRAY['rejected', 'cancelled'])[1 + g %% 2],
                now() - make_interval(secs => (%(count)s - g) * 300.0),
                now(),
                '{}'::jsonb, '', '', '[]'::jsonb, '', '[]'::jsonb, (g %% 17 = 0), '', '',
                (ARRAY['LA', 'FC', 'KN', 'OY', 'RI'])[1 + g %% 5],
                'Bench Member ' || g
            FROM generate_series(1, %(count)s) AS g
            """,
            {
                "first_member": first_member,
                "members": members,
                "p1": product_ids[0],
                "p2": product_ids[1],
                "p3": product_ids[2],
                "count": applications,
            },
        )
        cursor.execute("ANALYZE")
    print(
        f"seeded {members:,} members and {applications:,} applications "
        f"in {time.perf_counter() - started:.1f} s"
    )


def _client_process(url, headers, requests, threads, max_seconds, out):
    """One load-generator process: ``threads`` keep-alive connections sharing ``requests``."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    latencies, errors = [], []
    lock = threading.Lock()
    remaining = [requests]
    deadline = time.perf_counter() + max_seconds

    def worker():
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        while time.perf_counter() < deadline:
            with lock:
                if remaining[0] <= 0:
                    break
                remaining[0] -= 1
            started = time.perf_counter()
            connection.request("GET", target, headers=headers)
            response = connection.getresponse()
            response.read()
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if response.status != 200:
                    errors.append(response.status)
        connection.close()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    out.put((latencies, errors))


def run_scenario(name, url, headers, *, requests, concurrency, max_seconds, processes=4):
    """CONCURRENCY connections spread over a few processes: one Python process with 32
    threads is itself the bottleneck (the GIL hands out 5 ms slices), which would add its own
    queueing to every latency measured."""
    import multiprocessing

    processes = max(1, min(processes, concurrency))
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    share, extra = divmod(concurrency, processes)
    workers = [
        context.Process(
            target=_client_process,
            args=(
                url,
                headers,
                requests // processes + (1 if i < requests % processes else 0),
                share + (1 if i < extra else 0),
                max_seconds,
                out,
            ),
        )
        for i in range(processes)
    ]
    started = time.perf_counter()
    for process in workers:
        process.start()
    latencies, errors = [], []
    for _ in workers:
        got_latencies, got_errors = out.get()
        latencies += got_latencies
        errors += got_errors
    wall = time.perf_counter() - started
    for process in workers:
        process.join()
    return summarise(name, latencies, errors, wall)


def summarise(name, latencies, errors, wall):
    return {
        "name": name,
        "latencies": latencies,
        "wall": wall,
        "count": len(latencies),
        "rps": len(latencies) / wall if wall else 0.0,
        "p50": percentile(latencies, 0.50) * 1000,
        "p95": percentile(latencies, 0.95) * 1000,
        "mean": statistics.fmean(latencies) * 1000,
        "errors": errors,
        "error_codes": sorted(set(errors)),
    }


def combine(rounds: list[dict]) -> dict:
    """One scenario's rounds as one figure: every latency, requests over the summed time."""
    return summarise(
        rounds[0]["name"],
        [x for r in rounds for x in r["latencies"]],
        [x for r in rounds for x in r["errors"]],
        sum(r["wall"] for r in rounds),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=2000, help="per scenario")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--rounds", type=int, default=4, help="alternating rounds (requests split across them)"
    )
    parser.add_argument("--max-seconds", type=float, default=60.0, help="per scenario")
    parser.add_argument(
        "--workers", type=int, help="gunicorn processes (default: the config's, 2 x cores + 1)"
    )
    parser.add_argument(
        "--threads", type=int, help="threads per process (default: the config's, 4)"
    )
    parser.add_argument("--port", type=int, default=8191)
    parser.add_argument("--database", default="allaweeplus_bench_api")
    parser.add_argument("--redis-db", type=int, default=13)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="reuse a seeded database")
    args = parser.parse_args()

    from cryptography.fernet import Fernet

    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "bench-" + "k" * 60,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "PII_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "PII_HMAC_KEY": "bench-hmac-key-bench-hmac-key-0123456789",
        "PAYMENTS_PROVIDER": "manual",
        "MFA_REQUIRED_FOR_STAFF": "false",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{args.database}",
        "REDIS_URL": f"redis://127.0.0.1:6379/{args.redis_db}",
        "HUEY_NAME": "bench-api",
        "API_RATE_LIMIT_ANON": str(10**9),
        "API_RATE_LIMIT_AUTH": str(10**9),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "LOG_LEVEL": "WARNING",
        "GUNICORN_BIND": f"127.0.0.1:{args.port}",
        "GUNICORN_ACCESS_LOG": "/dev/null",
    }
    if args.workers:
        env["GUNICORN_WORKERS"] = str(args.workers)
    if args.threads:
        env["GUNICORN_THREADS"] = str(args.threads)
    env["DATABASE_POOL_MAX"] = str(max(args.threads or 4, 4))
    os.environ.update(env)
    exists = psql(
        f"SELECT 1 FROM pg_database WHERE datname = '{args.database}'", capture=True
    ).stdout.strip()
    fresh = not (args.reuse and exists)
    if fresh:
        psql(f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)")
        psql(f"CREATE DATABASE {args.database}")
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True
        )

    import django

    django.setup()
    from api import cache as api_cache
    from api.pagination import encode_cursor
    from api.services import create_token
    from loans.models import Application
    from tests.factories import make_officer

    if fresh:
        seed(args.applications, args.members)
    officer = make_officer(email=f"bench-officer-{int(time.time())}@example.ng")
    _, token = create_token(user=officer, name="bench", scope="read", expires_in_days=1)
    total = Application.objects.count()
    deep = Application.objects.order_by("-created_at", "-id").values("created_at", "id")[
        int(total * 0.9)
    ]
    cursor = encode_cursor(deep["created_at"], deep["id"])
    api_cache.reset_counters()
    from django.db import connections

    connections.close_all()

    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "config.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        import httpx

        for _ in range(100):
            try:
                if httpx.get(f"{base}/api/v1/ping", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise SystemExit("gunicorn did not start: " + server.stderr.read().decode()[-2000:])
        auth = {"Authorization": f"Bearer {token}"}
        scenarios = [
            ("ceiling (ping, no DB)", f"{base}/api/v1/ping", {}),
            ("products (anonymous, cached)", f"{base}/api/v1/products", {}),
            ("applications page 1", f"{base}/api/v1/applications", auth),
            ("deep cursor page (~90 %)", f"{base}/api/v1/applications?cursor={cursor}", auth),
        ]
        for _name, url, headers in scenarios:  # warm-up, not measured
            run_scenario(
                "warm-up", url, headers, requests=200, concurrency=args.concurrency, max_seconds=10
            )
        # The scenarios take turns over a few rounds, so a slow patch of a shared machine hits
        # the ceiling and the lists alike instead of whichever ran during it.
        rounds: dict = {name: [] for name, _, _ in scenarios}
        for _ in range(args.rounds):
            for name, url, headers in scenarios:
                rounds[name].append(
                    run_scenario(
                        name,
                        url,
                        headers,
                        requests=max(1, args.requests // args.rounds),
                        concurrency=args.concurrency,
                        max_seconds=args.max_seconds / args.rounds,
                    )
                )
        results = [combine(rounds[name]) for name, _, _ in scenarios]
    finally:
        server.terminate()
        server.wait(timeout=30)

    ceiling = results[0]["rps"]
    workers = args.workers or f"{os.cpu_count() * 2 + 1} (config)"
    threads = args.threads or "4 (config)"
    print(
        f"\n{total:,} applications; gunicorn {workers} workers x {threads} threads "
        f"(deploy/gunicorn.conf.py, DEBUG=false); {args.concurrency} client threads\n"
    )
    print(f"{'scenario':32} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'vs ceiling':>10}  errors")
    for r in results:
        print(
            f"{r['name']:32} {r['rps']:8.0f} {r['p50']:8.1f} {r['p95']:8.1f} "
            f"{r['rps'] / ceiling:10.2f}  {len(r['errors'])} {r['error_codes'] or ''}"
        )
    by_name = {r["name"]: r for r in results}
    products = by_name["products (anonymous, cached)"]
    page1 = by_name["applications page 1"]
    deep = by_name["deep cursor page (~90 %)"]
    checks = [
        ("cached products >= 70 % of ceiling", products["rps"] / ceiling >= 0.70),
        ("list page 1 >= 35 % of ceiling", page1["rps"] / ceiling >= 0.35),
        ("deep page >= 35 % of ceiling", deep["rps"] / ceiling >= 0.35),
        (
            f"deep page p50 within 1.5x of page 1 ({deep['p50'] / page1['p50']:.2f}x)",
            deep["p50"] <= 1.5 * page1["p50"],
        ),
        (
            f"p95 < 200 ms at {args.concurrency} connections (worst "
            f"{max(r['p95'] for r in results):.0f} ms)",
            all(r["p95"] < 200 for r in results),
        ),
        ("no errors", not any(r["errors"] for r in results)),
    ]
    print()
    for label, ok in checks:
        print(f"  [{'met' if ok else 'NOT met'}] {label}")
    rate = api_cache.hit_rate()
    print(
        f"\nAPI response cache: {rate['hits']:,} hits, {rate['misses']:,} misses, "
        f"hit rate {rate['hit_rate'] or 0:.1%}"
    )
    if not args.keep:
        connections.close_all()
        psql(f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)")


if __name__ == "__main__":
    main()
