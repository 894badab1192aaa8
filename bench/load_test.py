"""Load test: locust against gunicorn (production config) on PostgreSQL + Redis, on loopback.

Usage (needs the local PostgreSQL and Redis, see README "Benchmarks"):

    uv run --frozen python bench/load_test.py [--users 50] [--seconds 60] [--reuse]

What it does, in order:

1. creates the PostgreSQL database ``allaweeplus_load_bench`` (``--reuse``: keeps an existing
   one and keeps it afterwards; otherwise it is dropped at the end), migrates it and seeds it
   with ``manage.py seed_scale --members N`` (default 20,000 corps members with their
   applications, loans, schedules and payments; resumable);
2. picks demo logins: ``--people`` seeded members that have a loan (they all share
   ``devdata.scale_seed.SEED_PASSWORD``), the 12 seeded loan officers (a verified e-mail
   address is added so allauth lets them in), and a read-scoped API token for some members
   and officers (``api.services.create_token``); they go to a JSON file for the locustfile;
3. ``collectstatic`` and gunicorn with ``deploy/gunicorn.conf.py`` under production settings
   (``DEBUG=false``, Argon2, the manifest static storage, Redis db ``--redis-url`` for cache
   and sessions, emptied first). Two things differ from production and are said here:
   nginx's TLS is left out (``SECURE_SSL_REDIRECT=false``; the locust users send
   ``X-Forwarded-Proto: https`` and ``X-Real-IP`` as nginx would, one address per simulated
   user, so per-IP login limits count per user as they would in the field), and staff TOTP
   is off (``MFA_REQUIRED_FOR_STAFF=false``: officers cannot type codes in a load test);
4. runs ``locust --headless`` (``bench/locustfile.py``: members, officers, API clients)
   for ``--seconds`` with ``--users`` users started at ``--spawn-rate`` per second;
5. prints one table: per request name the requests/s, p50/p95/p99 ms and failures; the
   total error rate; Redis ``INFO stats`` keyspace hits/misses over the run (server-wide:
   another client of the same Redis server would be counted too, so ``--own-redis PORT``
   starts a private ``redis-server`` for a clean figure); and the app's own counters from
   ``manage.py monitor_stats`` (every ``cache.get`` of the site, and the read-through caches
   of core/caching.py per area).

gunicorn, locust and a private Redis are stopped, and the database dropped (unless
``--reuse``), on any exit (Ctrl-C included). Exit status 1 when the error rate is above 1 %.
The locust CSV files stay in ``bench/results/`` (ignored by git).
"""

import argparse
import csv
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import database_exists, psql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
MAX_ERROR_RATE = 0.01
HIT_RATE_TARGET = 0.80
TOKEN_NAME = "load-bench"


def production_env(args, scratch: Path) -> dict:
    from core.crypto import derive_dev_keys

    # Fixed keys, so the BVNs of a reused database stay readable from one run to the next.
    fernet, hmac_key = derive_dev_keys("allaweeplus-load-bench")
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": "load-bench-" + "k" * 60,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "MFA_REQUIRED_FOR_STAFF": "false",
        "PII_ENCRYPTION_KEYS": fernet,
        "PII_HMAC_KEY": hmac_key,
        "PAYMENTS_PROVIDER": "manual",
        "SMS_PROVIDER": "none",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{args.database}",
        "REDIS_URL": args.redis_url,
        "HUEY_NAME": "load-bench",
        # Every simulated API client has its own X-Real-IP, but a --seconds of an hour would
        # still take an anonymous one past 100 calls; the limiter runs, it just never says no.
        "API_RATE_LIMIT_ANON": "100000",
        "LOG_LEVEL": "WARNING",
        "GUNICORN_BIND": f"127.0.0.1:{args.port}",
        "GUNICORN_WORKERS": str(args.workers),
        "GUNICORN_THREADS": str(args.threads),
        "GUNICORN_ACCESS_LOG": str(scratch / "access.log"),
        "MONITOR_ACCESS_LOG": str(scratch / "access.log"),
        "GUNICORN_LOG_LEVEL": "warning",
        "DATABASE_POOL_MAX": str(max(args.threads, 4)),
        "PROMETHEUS_MULTIPROC_DIR": str(scratch / "metrics"),
        "LOAD_PEOPLE": str(scratch / "people.json"),
    }


def manage(env, *argv, capture=False):
    return subprocess.run(
        [sys.executable, "manage.py", *argv],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=capture,
        text=True,
    )


def demo_people(*, members: int, api_members: int, api_officers: int, seed: int = 8) -> dict:
    """Logins and references for the locust users, written by the Django process here."""
    from allauth.account.models import EmailAddress
    from django.db import transaction

    from api.models import ApiToken
    from api.services import create_token
    from devdata.scale_seed import OFFICER_DOMAIN, SEED_PASSWORD
    from loans.models import Application, Loan, LoanProduct
    from members.models import Member, User

    rng = random.Random(seed)
    candidates = list(
        Member.objects.filter(kyc_status="verified", loans__isnull=False)
        .values_list("pk", flat=True)
        .distinct()
        .order_by("pk")
    )
    if not candidates:
        raise SystemExit("no seeded member has a loan: is the database seeded?")
    chosen = sorted(rng.sample(candidates, min(members, len(candidates))))
    loans, applications = {}, {}
    for member_id, reference in Loan.objects.filter(member_id__in=chosen).values_list(
        "member_id", "reference"
    ):
        loans.setdefault(member_id, []).append(reference)
    for member_id, reference in Application.objects.filter(member_id__in=chosen).values_list(
        "member_id", "reference"
    ):
        applications.setdefault(member_id, []).append(reference)
    people = []
    rows = Member.objects.filter(pk__in=chosen).order_by("pk")
    for member_id, user_id, email in rows.values_list("pk", "user_id", "user__email"):
        people.append(
            {
                "user_id": user_id,
                "email": email,
                "loans": loans.get(member_id, [])[:3],
                "applications": applications.get(member_id, [])[:3],
            }
        )
    officers = list(
        User.objects.filter(email__endswith=f"@{OFFICER_DOMAIN}", is_staff=True).order_by("pk")
    )
    with transaction.atomic():
        for officer in officers:
            # Seeded officers have no e-mail address row, and allauth's mandatory
            # verification would stop them at the "verify your address" page.
            EmailAddress.objects.update_or_create(
                user=officer, email=officer.email, defaults={"verified": True, "primary": True}
            )
        ApiToken.objects.filter(name=TOKEN_NAME).delete()  # the previous run's tokens
        api_clients = []
        by_user = {u.pk: u for u in User.objects.filter(pk__in=[p["user_id"] for p in people])}
        for person in people[:api_members]:
            _, raw = create_token(
                user=by_user[person["user_id"]], name=TOKEN_NAME, scope="read", expires_in_days=1
            )
            api_clients.append({"role": "member", "token": raw, "loans": person["loans"]})
        for officer in officers[:api_officers]:
            _, raw = create_token(user=officer, name=TOKEN_NAME, scope="read", expires_in_days=1)
            api_clients.append({"role": "officer", "token": raw, "loans": []})
    queue_references = list(
        Application.objects.order_by("-created_at", "-id").values_list("reference", flat=True)[:500]
    )
    products = [
        {
            "id": p.pk,
            "tenures": list(p.tenures),
            "min_naira": p.min_principal // 100,
            "max_naira": p.max_principal // 100,
        }
        for p in LoanProduct.objects.filter(is_active=True).order_by("pk")
    ]
    return {
        "password": SEED_PASSWORD,
        "members": people,
        "officers": [o.email for o in officers],
        "api_clients": api_clients,
        "queue_references": queue_references,
        "products": products,
    }


def redis_stats(url: str) -> dict:
    import redis

    info = redis.Redis.from_url(url).info("stats")
    return {"hits": info["keyspace_hits"], "misses": info["keyspace_misses"]}


def wait_for(url: str, process, what: str, seconds: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with status {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"{what} did not answer {url} within {seconds:.0f} s")


def read_stats(prefix: Path) -> list[dict]:
    with open(f"{prefix}_stats.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def rate(hits: float, misses: float) -> str:
    total = hits + misses
    return f"{hits / total:6.1%}" if total else "   n/a"


def report(rows, *, seconds, users, before, after, monitor, args) -> float:
    def number(row, key):
        try:
            return float(row[key] or 0)
        except ValueError:
            return 0.0

    print(
        f"\n{users} locust users for {seconds} s against gunicorn {args.workers} workers x "
        f"{args.threads} threads (deploy/gunicorn.conf.py, DEBUG=false), "
        f"{args.members:,} seeded members\n"
    )
    header = (
        f"{'request':44} {'count':>7} {'req/s':>7} {'p50':>6} {'p95':>6} {'p99':>6} {'fail':>6}"
    )
    print(header + "   (ms)")
    print("-" * len(header))
    total = None
    for row in rows:
        if row["Name"] == "Aggregated":
            total = row
            continue
        name = f"{row['Type']} {row['Name']}"[:44]
        print(
            f"{name:44} {int(number(row, 'Request Count')):7d} {number(row, 'Requests/s'):7.1f} "
            f"{number(row, '50%'):6.0f} {number(row, '95%'):6.0f} {number(row, '99%'):6.0f} "
            f"{int(number(row, 'Failure Count')):6d}"
        )
    print("-" * len(header))
    requests = number(total, "Request Count") if total else 0
    failures = number(total, "Failure Count") if total else 0
    if total:
        print(
            f"{'all':44} {int(requests):7d} {number(total, 'Requests/s'):7.1f} "
            f"{number(total, '50%'):6.0f} {number(total, '95%'):6.0f} {number(total, '99%'):6.0f} "
            f"{int(failures):6d}"
        )
    error_rate = failures / requests if requests else 1.0
    print(f"\nerror rate: {error_rate:.2%} (limit {MAX_ERROR_RATE:.0%})")

    hits, misses = after["hits"] - before["hits"], after["misses"] - before["misses"]
    scope = "private server" if args.own_redis else "whole server, other clients included"
    verdict = "meets" if hits + misses and hits / (hits + misses) >= HIT_RATE_TARGET else "BELOW"
    print(
        f"Redis keyspace over the run ({scope}): {hits:,} hits, {misses:,} misses, "
        f"hit rate {rate(hits, misses).strip()} ({verdict} the {HIT_RATE_TARGET:.0%} target)"
    )
    if monitor:
        print(
            f"site cache reads (every cache.get, monitor_stats cache_*): "
            f"{int(monitor['cache_hits'] or 0):,} hits, {int(monitor['cache_misses'] or 0):,} "
            f"misses, hit rate {rate(monitor['cache_hits'] or 0, monitor['cache_misses'] or 0)}"
        )
        for area, figures in sorted((monitor.get("app_cache") or {}).items()):
            print(
                f"  read-through cache {area:10} {figures['hits']:7,} hits {figures['misses']:6,} "
                f"misses, hit rate {rate(figures['hits'], figures['misses'])}"
            )
        print(
            f"server side (gunicorn access log): {monitor.get('requests')} requests, "
            f"5xx rate {monitor.get('error_rate')}, p95 {monitor.get('p95_ms')} ms"
        )
    return error_rate


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=5, help="users started per second")
    parser.add_argument("--seconds", type=int, default=60, help="locust run time")
    parser.add_argument("--members", type=int, default=20_000, help="seed_scale --members")
    parser.add_argument("--people", type=int, default=200, help="members the users log in as")
    parser.add_argument("--api-members", type=int, default=40, help="members with an API token")
    parser.add_argument("--api-officers", type=int, default=4, help="officers with a token")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per process")
    parser.add_argument("--port", type=int, default=8193)
    parser.add_argument("--database", default="allaweeplus_load_bench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument(
        "--own-redis",
        type=int,
        default=0,
        metavar="PORT",
        help="start a private redis-server on PORT (INFO stats then count only this run)",
    )
    parser.add_argument(
        "--reuse", action="store_true", help="use an existing database and keep it afterwards"
    )
    args = parser.parse_args()
    if args.users < 1 or args.seconds < 1 or not 1 <= args.seconds <= 3600:
        parser.error("--users must be ≥ 1 and --seconds between 1 and 3600")
    if args.own_redis:
        args.redis_url = f"redis://127.0.0.1:{args.own_redis}/0"

    scratch = Path(tempfile.mkdtemp(prefix="awp-load-"))
    (scratch / "metrics").mkdir()
    RESULTS.mkdir(parents=True, exist_ok=True)
    env = production_env(args, scratch)
    processes: list[subprocess.Popen] = []
    recreate = not (args.reuse and database_exists(args.database))

    def stop(*_):
        raise SystemExit(130)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        if args.own_redis:
            redis_server = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(args.own_redis),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],  # fmt: skip
                stdout=subprocess.DEVNULL,
                start_new_session=True,
            )
            processes.append(redis_server)
            for _ in range(50):
                try:
                    redis_stats(args.redis_url)
                    break
                except Exception:  # noqa: BLE001 - not up yet
                    time.sleep(0.1)
        if recreate:
            psql(f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)")
            psql(f"CREATE DATABASE {args.database}")
        started = time.perf_counter()
        manage(env, "migrate", "-v0")
        manage(env, "seed_scale", "--members", str(args.members), "--no-progress")
        print(f"database ready in {time.perf_counter() - started:.0f} s")
        manage(env, "collectstatic", "--noinput", "-v0")

        os.environ.update(env)
        import django

        django.setup()
        from django.db import connections

        people = demo_people(
            members=args.people, api_members=args.api_members, api_officers=args.api_officers
        )
        Path(env["LOAD_PEOPLE"]).write_text(json.dumps(people))
        connections.close_all()
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()  # only our database number

        gunicorn = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "config.wsgi"],
            cwd=ROOT,
            env=env,
            stderr=open(scratch / "gunicorn.log", "wb"),  # noqa: SIM115 - closed on exit
            start_new_session=True,
        )
        processes.append(gunicorn)
        base = f"http://127.0.0.1:{args.port}"
        wait_for(f"{base}/healthz", gunicorn, "gunicorn")

        before = redis_stats(args.redis_url)
        prefix = RESULTS / "load"
        for stale in RESULTS.glob("load_*.csv"):
            stale.unlink()
        locust = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                "bench/locustfile.py",
                "--headless",
                "-u",
                str(args.users),
                "-r",
                str(args.spawn_rate),
                "--run-time",
                f"{args.seconds}s",
                "--host",
                base,
                "--csv",
                str(prefix),
                "--only-summary",
                "--stop-timeout",
                "10",
                "--loglevel",
                "WARNING",
            ],  # fmt: skip
            cwd=ROOT,
            env=env,
            stdout=open(scratch / "locust.log", "wb"),  # noqa: SIM115 - closed on exit
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        processes.append(locust)
        locust.wait(timeout=args.seconds + 120)
        if not Path(f"{prefix}_stats.csv").exists():
            raise SystemExit("locust wrote no statistics:\n" + (scratch / "locust.log").read_text())
        failures = Path(f"{prefix}_failures.csv").read_text().strip().splitlines()[1:]
        if failures:
            print("failures (method, name, error, occurrences):", *failures[:20], sep="\n  ")
        after = redis_stats(args.redis_url)
        minutes = args.seconds // 60 + 2
        monitor = json.loads(
            manage(env, "monitor_stats", "--minutes", str(minutes), capture=True).stdout
        )
        error_rate = report(
            read_stats(prefix),
            seconds=args.seconds,
            users=args.users,
            before=before,
            after=after,
            monitor=monitor,
            args=args,
        )
        print(f"\nlocust CSV files: {prefix}_*.csv")
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
        if not args.reuse:
            from contextlib import suppress

            with suppress(Exception):
                from django.db import connections

                connections.close_all()
            psql(f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)")
        shutil.rmtree(scratch, ignore_errors=True)
    sys.exit(1 if error_rate > MAX_ERROR_RATE else 0)


if __name__ == "__main__":
    main()
