"""Submit → in_review latency through the real Redis Huey consumer (not a unit test).

Usage (against the local PostgreSQL and Redis; creates and drops its own database):

    uv run python bench/assessment_latency.py --count 200

It migrates a scratch database, starts `manage.py run_huey` as a separate process, submits
COUNT applications through the real services (each enqueues its assessment on commit), and
measures the time from the submit's commit to the row reading ``in_review``. It also times
the same assessment run inline in this process as the baseline, and prints both with their
ratio (machines here are noisy; compare ratios, not absolute numbers). Target: p95 < 2 s.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--database", default="allaweeplus_bench_assess")
    parser.add_argument("--redis-db", type=int, default=11)
    args = parser.parse_args()

    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{args.database}",
        "REDIS_URL": f"redis://127.0.0.1:6379/{args.redis_db}",
        "HUEY_NAME": "bench-assessment",
        "HUEY_WORKERS": "4",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
    }
    os.environ.update(env)
    subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-q",
            "-c",
            f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)",
            "postgres",
        ],
        check=True,
    )
    subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-q",
            "-c",
            f"CREATE DATABASE {args.database}",
            "postgres",
        ],
        check=True,
    )
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)

    import django

    django.setup()
    from django.db import transaction
    from huey.contrib.djhuey import HUEY

    from loans import services
    from loans.models import Application, LoanProduct
    from tests.factories import MemberFactory

    HUEY.flush()
    product = LoanProduct.objects.create(
        name="Bench",
        min_principal=10_000_00,
        max_principal=500_000_00,
        tenures=[1, 2, 3],
        interest_method="flat",
        monthly_rate=Decimal("0.04"),
        fee_percent=Decimal("0.01"),
    )
    members = [
        MemberFactory(passing_out=date(2028, 1, 1), monthly_allowance=200_000_00)
        for _ in range(args.count + 20)
    ]

    def draft(member):
        return services.start_application(
            member=member, actor=member.user, product=product, amount=50_000_00, tenure=3
        )

    # Baseline: the assessment itself, inline in this process.
    inline = []
    for member in members[args.count :]:
        application = draft(member)
        with transaction.atomic():
            services.submit_application(
                application=application,
                actor=member.user,
                consent=True,
                shown_hash=application.key_facts_hash,
                ip=None,
                user_agent="bench",
            )
        HUEY.flush()  # drop the enqueued copy: the baseline runs it here
        started = time.perf_counter()
        services.assess_application(application_id=application.pk)
        inline.append(time.perf_counter() - started)

    consumer = subprocess.Popen(
        [sys.executable, "manage.py", "run_huey", "--quiet"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(2)
        submitted = {}
        for member in members[: args.count]:
            application = draft(member)
            services.submit_application(
                application=application,
                actor=member.user,
                consent=True,
                shown_hash=application.key_facts_hash,
                ip=None,
                user_agent="bench",
            )
            submitted[application.pk] = time.perf_counter()
            time.sleep(0.01)  # a steady stream rather than one burst
        # Both timestamps are written by the database rows themselves (submit and assessment
        # run in different processes on one clock), so polling speed does not bias them.
        deadline = time.perf_counter() + 120
        while time.perf_counter() < deadline:
            if not Application.objects.filter(pk__in=submitted, status="submitted").exists():
                break
            time.sleep(0.2)
        latencies = {
            pk: (assessed - sent).total_seconds()
            for pk, sent, assessed in Application.objects.filter(
                pk__in=submitted, assessed_at__isnull=False
            ).values_list("pk", "submitted_at", "assessed_at")
        }
    finally:
        consumer.terminate()
        consumer.wait(10)
    values = list(latencies.values())
    print(f"submissions: {len(submitted)}, assessed: {len(values)}")
    print(f"{'measure':32} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    print(
        f"{'inline assessment (baseline)':32} {statistics.median(inline) * 1000:8.1f} "
        f"{percentile(inline, 0.95) * 1000:8.1f} {max(inline) * 1000:8.1f}"
    )
    if values:
        print(
            f"{'submit -> in_review (Huey)':32} {statistics.median(values) * 1000:8.1f} "
            f"{percentile(values, 0.95) * 1000:8.1f} {max(values) * 1000:8.1f}"
        )
        print(
            f"ratio p95 queue/inline: {percentile(values, 0.95) / percentile(inline, 0.95):.1f}x;"
            f" target p95 < 2000 ms: {'met' if percentile(values, 0.95) < 2 else 'NOT met'}"
        )
    from django.db import connections

    connections.close_all()
    subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-q",
            "-c",
            f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)",
            "postgres",
        ],
        check=False,
    )
    return 0 if values and len(values) == len(submitted) else 1


if __name__ == "__main__":
    sys.exit(main())
