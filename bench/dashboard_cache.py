"""Back-office dashboard: cold (figures recomputed) against cached, on PostgreSQL + Redis.

Usage (creates and drops nothing but its own database and cache keys):

    uv run python bench/dashboard_cache.py --members 5000 --requests 30

It recreates the database ``allaweeplus_bench_reports``, migrates it, seeds a modest portfolio
with ``bulk_create`` (members, applications, loans with installments, payments over a year,
daily PAR snapshots) and then requests ``/backoffice/`` as a Finance user through Django's
test client: first with the dashboard cache entry deleted before every request (cold), then
with the figures cached. It prints the median and p95 of each and their ratio (machines here
are noisy; compare the ratio, not the absolute numbers).
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from common import psql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
LAGOS = ZoneInfo("Africa/Lagos")


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def seed(members: int) -> None:
    from arrears.models import Bucket, PortfolioSnapshot
    from loans.models import Application, ApplicationHistory, Installment, Loan, LoanProduct
    from members.models import Member, User
    from payments.models import Payment

    rng = random.Random(7)
    today = date.today()
    now = datetime.now(tz=LAGOS)
    product = LoanProduct.objects.create(
        name="Bench product",
        min_principal=10_000_00,
        max_principal=500_000_00,
        tenures=[1, 2, 3, 6],
        interest_method="flat",
        monthly_rate=Decimal("0.05"),
    )
    users = User.objects.bulk_create(
        User(email=f"bench{i}@allaweeplus.test", password="!") for i in range(members)
    )
    people = Member.objects.bulk_create(
        Member(user=u, full_name=f"Bench Member {i}") for i, u in enumerate(users)
    )
    statuses = ["submitted", "in_review", "approved", "approved", "approved", "rejected"]
    apps = Application.objects.bulk_create(
        Application(
            reference=f"BA{i:08d}",
            member=m,
            product=product,
            amount=rng.randrange(20_000, 300_000) * 100,
            tenure_months=3,
            status=statuses[i % len(statuses)] if i % 7 else "cancelled",
            submitted_at=now - timedelta(days=rng.randrange(365), minutes=rng.randrange(1440)),
        )
        for i, m in enumerate(people)
    )
    ApplicationHistory.objects.bulk_create(
        ApplicationHistory(application=a, from_status="draft", to_status=a.status) for a in apps
    )
    approved = [a for a in apps if a.status == "approved"]
    loans = Loan.objects.bulk_create(
        Loan(
            reference=f"BL{i:08d}",
            application=a,
            member_id=a.member_id,
            product=product,
            principal=a.amount,
            tenure_months=3,
            interest_method="flat",
            monthly_rate=Decimal("0.05"),
            fee_treatment="deduct",
            disbursed_amount=a.amount,
            total_interest=a.amount * 15 // 100,
            total_repayable=a.amount * 115 // 100,
            apr=Decimal("60.00"),
            status="active" if i % 4 else "closed",
            approved_at=a.submitted_at,
            disbursed_at=a.submitted_at,
            disbursed_on=a.submitted_at.astimezone(LAGOS).date(),
            cooling_off_until=today,
            arrears_since=today - timedelta(days=rng.randrange(120)) if i % 5 == 0 else None,
        )
        for i, a in enumerate(approved)
    )
    Installment.objects.bulk_create(
        Installment(
            loan=loan,
            number=n,
            due_date=loan.disbursed_on + timedelta(days=30 * n),
            principal=loan.principal // 3,
            interest=loan.principal * 5 // 100,
            paid_principal=loan.principal // 3 if n == 1 else 0,
        )
        for loan in loans
        for n in (1, 2, 3)
    )
    Payment.objects.bulk_create(
        (
            Payment(
                reference=f"BP{i:09d}",
                provider="simulated",
                channel=rng.choice(["checkout", "bank_transfer", "manual", "allowance"]),
                status="successful" if i % 10 else "failed",
                amount=rng.randrange(5_000, 100_000) * 100,
                received_at=now - timedelta(days=rng.randrange(365), minutes=rng.randrange(1440)),
                loan=loans[i % len(loans)],
            )
            for i in range(len(loans) * 4)
        ),
        batch_size=5000,
    )
    PortfolioSnapshot.objects.bulk_create(
        PortfolioSnapshot(
            snapshot_date=today - timedelta(days=d),
            bucket=b,
            loans=rng.randrange(50, 500),
            outstanding_principal=rng.randrange(10**6, 10**9),
        )
        for d in range(90)
        for b in Bucket
    )
    print(
        f"seeded {len(users)} members, {len(apps)} applications, {len(loans)} loans, "
        f"{len(loans) * 3} installments, {len(loans) * 4} payments"
    )


def timed_requests(client, count: int, *, cold: bool) -> list[float]:
    from django.core.cache import cache

    from reports import dashboard

    times = []
    for _ in range(count):
        if cold:
            cache.delete(dashboard.CACHE_KEY)
        started = time.perf_counter()
        response = client.get("/backoffice/")
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200 and b"chart-flows" in response.content
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--database", default="allaweeplus_bench_reports")
    parser.add_argument("--redis-db", type=int, default=12)
    args = parser.parse_args()

    env = {
        "DEBUG": "true",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{args.database}",
        "REDIS_URL": f"redis://127.0.0.1:6379/{args.redis_db}",
        "HUEY_NAME": "bench-reports",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    psql(f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)")
    psql(f"CREATE DATABASE {args.database}")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)

    import django

    django.setup()
    from django.contrib.auth.models import Group
    from django.core.cache import cache
    from django.test import Client

    from members.models import User
    from members.roles import FINANCE
    from reports import dashboard

    started = time.perf_counter()
    seed(args.members)
    print(f"seed took {time.perf_counter() - started:.1f} s")
    finance = User.objects.create_user(
        email="bench-finance@allaweeplus.test", password="bench-password-1", is_staff=True
    )
    finance.groups.add(Group.objects.get(name=FINANCE))
    client = Client(HTTP_HOST="localhost")
    client.force_login(finance)

    cache.delete(dashboard.CACHE_KEY)
    cache.delete(dashboard.LOCK_KEY)
    timed_requests(client, 2, cold=True)  # warm connections and templates
    cold = timed_requests(client, args.requests, cold=True)
    cached = timed_requests(client, args.requests, cold=False)
    cache.delete(dashboard.CACHE_KEY)

    for name, values in (("cold (recomputed)", cold), ("cached", cached)):
        print(
            f"{name:>18}: median {statistics.median(values):7.1f} ms  "
            f"p95 {percentile(values, 0.95):7.1f} ms  ({len(values)} requests)"
        )
    print(f"ratio cold/cached (median): {statistics.median(cold) / statistics.median(cached):.1f}×")
    psql(f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)")


if __name__ == "__main__":
    main()
