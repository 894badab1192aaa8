"""The set-based overdue run on a million installments versus a naive per-row loop.

Usage (against the local PostgreSQL; creates and drops its own database):

    uv run python bench/overdue_run.py --loans 170000     # 6 installments each: ~1M rows

It migrates a scratch database, builds one real loan through the services, clones it set-based
(INSERT … SELECT over generate_series) into LOANS loans with their installments, due dates
spread over the last 150 days, then times:

1. the real daily run (``arrears.overdue.run_overdue_day``): mark overdue, charge late fees,
   post one balanced ledger entry per loan, refresh arrears dates, snapshot PAR;
2. the naive way on a sample of SAMPLE overdue installments: a Python loop computing each
   fee, ``save()``-ing the installment, creating the charge row and posting a ledger entry.

Both are reported per charged installment, with their ratio (target: set-based ≥ 50× faster
per row). Machines here are noisy: compare the ratio, not absolute numbers.
"""

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

from common import psql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django(database: str) -> None:
    os.environ.update(
        {
            "DEBUG": "true",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
            "DATABASE_STATEMENT_TIMEOUT_MS": "0",
            "HUEY_IMMEDIATE": "true",
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
    )
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()


def columns(model, **overrides) -> tuple[str, str]:
    """Column list and SELECT list copying ``t`` (the template row) with overrides."""
    names, values = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        names.append(field.column)
        values.append(overrides.get(field.column, f"t.{field.column}"))
    return ", ".join(names), ", ".join(values)


def build_portfolio(loans: int) -> int:
    from django.db import connection, transaction

    from loans.models import Application, Installment, Loan
    from tests import factories

    with transaction.atomic():
        template = factories.active_loan(tenure=6)
    today = template.disbursed_on
    with connection.cursor() as cursor:
        cols, select = columns(Application, reference="'BA' || g")
        cursor.execute(
            f"INSERT INTO loans_application ({cols}) SELECT {select} "  # noqa: S608
            f"FROM loans_application t, generate_series(1, %s) g WHERE t.id = %s",
            [loans, template.application_id],
        )
        cols, select = columns(
            Loan, reference="'BL' || g", application_id="a.id", arrears_since="NULL"
        )
        cursor.execute(
            f"INSERT INTO loans_loan ({cols}) SELECT {select} "  # noqa: S608
            f"FROM loans_loan t, generate_series(1, %s) g "
            f"JOIN loans_application a ON a.reference = 'BA' || g WHERE t.id = %s",
            [loans, template.pk],
        )
        # First installment due between 1 and 150 days ago, so every PAR bucket has loans.
        shift = "CAST(1 + (l.id %% 150) + 28 AS integer)"
        cols, select = columns(
            Installment,
            loan_id="l.id",
            due_date=f"t.due_date - {shift}",
            late_fee_from=f"t.late_fee_from - {shift}",
        )
        cursor.execute(
            f"INSERT INTO loans_installment ({cols}) SELECT {select} "  # noqa: S608
            f"FROM loans_installment t JOIN loans_loan l ON l.reference LIKE 'BL%%' "
            f"WHERE t.loan_id = %s",
            [template.pk],
        )
        cursor.execute("ANALYZE")
    assert today is not None
    return Installment.objects.count()


def naive_loop(day, sample: int) -> tuple[int, float]:
    """What a per-row implementation does: one installment at a time."""
    from decimal import ROUND_HALF_UP, Decimal

    from django.db import transaction

    from arrears.models import LateFeeCharge
    from ledger import chart
    from ledger.models import EntryKind
    from ledger.posting import credit, debit, post_entry
    from loans.models import Installment, InstallmentStatus

    rows = list(
        Installment.objects.filter(
            status=InstallmentStatus.OVERDUE, late_fee_from__lte=day, loan__status="active"
        )
        .select_related("loan")
        .order_by("id")[:sample]
    )
    started = time.perf_counter()
    charged = 0
    with transaction.atomic():
        for inst in rows:
            unpaid = inst.principal + inst.interest + inst.fee - inst.paid_principal
            unpaid -= inst.paid_interest + inst.paid_fee
            fee = int(
                (Decimal(unpaid) * inst.late_fee_daily_ppm / 1_000_000).quantize(
                    Decimal(1), rounding=ROUND_HALF_UP
                )
            )
            fee = min(inst.late_fee + fee, inst.late_fee_cap) - inst.late_fee
            if fee <= 0:
                continue
            inst.late_fee += fee
            inst.save()
            LateFeeCharge.objects.create(
                installment=inst, loan=inst.loan, charge_date=day, amount=fee
            )
            dims = {"loan_id": inst.loan_id, "member_id": inst.loan.member_id}
            post_entry(
                kind=EntryKind.LATE_FEE,
                lines=[
                    debit(chart.LOANS_PENALTIES, fee, **dims),
                    credit(chart.PENALTY_INCOME, fee, **dims),
                ],
                effective_date=day,
                loan=inst.loan,
                idempotency_key=f"late_fee_naive:{day}:{inst.pk}",
            )
            charged += 1
    return charged, time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=170_000)
    parser.add_argument("--sample", type=int, default=20_000)
    parser.add_argument("--database", default="allaweeplus_bench_overdue")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    psql(f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)")
    psql(f"CREATE DATABASE {args.database}")
    setup_django(args.database)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    import time_machine

    from arrears import overdue
    from core.clock import lagos_today

    started = time.perf_counter()
    installments = build_portfolio(args.loans)
    print(
        f"portfolio: {args.loans:,} loans, {installments:,} installments "
        f"built in {time.perf_counter() - started:.1f} s"
    )

    day = lagos_today()
    runs = []
    # Day 1 finds the whole portfolio newly overdue (every installment rewritten twice: marked,
    # then charged); day 2 is the steady state a real portfolio sees every morning.
    for label, run_day in (("first run", day), ("daily run", day + timedelta(days=1))):
        if runs:
            # A day passes between runs: autovacuum clears yesterday's dead row versions and
            # refreshes the statistics, as it does in production between two morning runs.
            from django.db import connection

            with connection.cursor() as cursor:
                cursor.execute("VACUUM (ANALYZE)")
        with time_machine.travel(run_day):
            started = time.perf_counter()
            outcome = overdue.run_overdue_day(run_day)
            seconds = time.perf_counter() - started
        run = outcome.run
        print(
            f"{label} {run_day}: {run.installments_marked_overdue:,} marked overdue, "
            f"{run.fees_charged:,} charged, total {seconds:.2f} s"
        )
        print("  steps (s): " + ", ".join(f"{k} {v}" for k, v in outcome.seconds.items()))
        runs.append((label, run.fees_charged, seconds))
    from ledger.selectors import unbalanced_entries

    assert unbalanced_entries() == [], "ledger out of balance"

    naive_day = day + timedelta(days=2)
    with time_machine.travel(naive_day):
        naive_count, naive_seconds = naive_loop(naive_day, args.sample)
    per_row_naive = naive_seconds / max(naive_count, 1)
    print()
    print(f"{'method':<34}{'rows':>12}{'seconds':>10}{'µs/row':>10}{'naive/this':>12}")
    for label, charged, seconds in runs:
        per_row = seconds / max(charged, 1)
        print(
            f"{'set-based ' + label:<34}{charged:>12,}{seconds:>10.2f}{per_row * 1e6:>10.1f}"
            f"{per_row_naive / per_row:>11.0f}×"
        )
    print(
        f"{'naive save() loop (sample)':<34}{naive_count:>12,}{naive_seconds:>10.2f}"
        f"{per_row_naive * 1e6:>10.1f}{1:>11.0f}×"
    )
    print("\ntarget: the daily run ≥ 50× faster per row than the naive loop")
    if not args.keep:
        from django.db import connections

        connections.close_all()
        psql(f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)")


if __name__ == "__main__":
    main()
