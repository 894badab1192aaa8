"""Seed a large, realistic data set for benchmarks (see devdata/scale_seed.py).

    python manage.py seed_scale [--members 500000] [--batch-size 5000]
                                [--method auto|copy|bulk] [--compare 2000] [--no-progress]

PostgreSQL gets ``COPY``; SQLite gets ``bulk_create``. Re-running adds only missing batches.
``--compare N`` first writes the same N members' rows both ways (rolled back) and prints the
per-row times and their ratio.
"""

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from devdata import scale_seed


class Command(BaseCommand):
    help = "Seed N fake corps members with applications, loans, payments and events."

    def add_arguments(self, parser):
        parser.add_argument("--members", type=int, default=500_000)
        parser.add_argument("--batch-size", type=int, default=5000)
        parser.add_argument("--method", choices=("auto", "copy", "bulk"), default="auto")
        parser.add_argument(
            "--compare",
            type=int,
            default=0,
            metavar="N",
            help="first time COPY against bulk_create on N members (rolled back)",
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, members, batch_size, method, compare, no_progress, **options):
        if members < 0 or batch_size < 1:
            raise CommandError("--members must be ≥ 0 and --batch-size ≥ 1")
        started = time.perf_counter()
        ctx = scale_seed.build_context()
        if compare:
            figures = scale_seed.compare_writers(members=compare, ctx=ctx)
            self.stdout.write(f"writer comparison on {figures['rows']:,} rows ({compare} members):")
            for name, seconds in figures["seconds"].items():
                self.stdout.write(
                    f"  {name:<12} {seconds:8.2f} s  {figures['us_per_row'][name]:8.1f} µs/row"
                )
            if figures["ratio"]:
                self.stdout.write(f"  COPY is {figures['ratio']:.1f}× faster per row")
        progress = None if no_progress else self._progress(started)
        try:
            result = scale_seed.seed(
                members=members, batch_size=batch_size, method=method, progress=progress, ctx=ctx
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if progress:
            sys.stderr.write("\n")
        self.stdout.write(
            f"seeded {result.rows:,} rows in {result.batches_written} batches "
            f"({result.batches_skipped} already present) in {result.seconds:.1f} s"
            + (f", {result.rows / result.seconds:,.0f} rows/s" if result.rows else "")
        )
        for name, rows in sorted(result.by_table.items()):
            self.stdout.write(f"  {name:<28} {rows:>12,}")

    @staticmethod
    def _progress(started):
        def show(done, total, result):
            width = 30
            filled = int(width * done / max(total, 1))
            elapsed = time.perf_counter() - started
            rate = result.rows / elapsed if elapsed else 0
            sys.stderr.write(
                f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} members "
                f"{result.rows:,} rows {rate:,.0f} rows/s"
            )
            sys.stderr.flush()

        return show
