"""Worst-case time to read an amount: hostile inputs against a plain ``150000``.

Usage (no database, a few seconds):

    uv run python bench/amount_parse.py [--repeat 200]

Every input is read ``--repeat`` times through the three ways amounts arrive: the parser
itself (``core.money.parse_naira``), a form field (``core.forms.NairaField``, as the
apply preview and the amount filters use it) and a bank-statement cell
(``payments.reconciliation.parsing._parse_amount``). The hostile inputs are those of the outside
review (H1: ``9e999997`` once held a worker for 30 s, ``1e999999`` was a 500) and their
relatives: exponents, million-character digit runs, other scripts' digits, separators in
wrong places, NaN/Infinity, NUL bytes. The baseline is the same work on ``150000``.

Prints, per input, the median and max in microseconds; then p99 and max over all hostile
calls against the baseline's, and whether the target is met: every call under 1 ms.

The clock is the thread's CPU time (``time.thread_time_ns``): what a worker burns, without
the milliseconds the scheduler gives other processes on a shared machine (wall-clock maxima
are printed too, for the record). Garbage collection is paused while timing, so a collection
is not charged to one input.
"""

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_US = 1_000

BASELINE = "150000"
HOSTILE = {
    "exponent 9e999997": "9e999997",
    "exponent 1e999999": "1e999999",
    "exponent 5e4": "5e4",
    "exponent 1e-2": "1e-2",
    "exponent -9E+999999999": "-9E+999999999",
    "digits ×1,000,000": "9" * 1_000_000,
    "digits ×10,000 with a point": "9" * 10_000 + ".99",
    "digits ×40 (at the cap)": "9" * 40,
    "spaces ×1,000,000 then 1": " " * 1_000_000 + "1",
    "commas ×500,000": "1" + ",000" * 250_000,
    "comma 1,0,0": "1,0,0",
    "comma 1,0,0 ×13": ",".join(["1", "0", "0"] * 13),
    "underscore 1_000": "1_000",
    "Arabic-Indic ١٥٠٠٠٠": "١٥٠٠٠٠",
    "Arabic-Indic ×100,000": "١" * 100_000,
    "Devanagari ५००००": "५००००",
    "fullwidth １２３": "１２３",
    "NaN": "NaN",
    "-Infinity": "-Infinity",
    "decimals ×1,000,000": "1." + "0" * 1_000_000,
    "NUL bytes": "1\x00" * 20,
    "naira signs ×100,000": "₦" * 100_000 + "1",
}


def entry_points():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django import forms

    from core.forms import NairaField
    from core.money import MoneyError, parse_naira
    from payments.reconciliation.parsing import StatementError, _parse_amount

    field = NairaField(min_kobo=1_00, max_kobo=100_000_000_00)

    def parser(text):
        try:
            parse_naira(text)
        except MoneyError:
            pass

    def form_field(text):
        try:
            field.clean(text)
        except forms.ValidationError:
            pass

    def statement_cell(text):
        try:
            _parse_amount(text, row=2, column="Amount")
        except StatementError:
            pass

    return {"parse_naira": parser, "NairaField": form_field, "statement cell": statement_cell}


def time_calls(call, text, repeat):
    """CPU µs of each call, and the wall-clock µs of each call."""
    cpu, wall = [], []
    for _ in range(repeat):
        started_wall, started = time.perf_counter_ns(), time.thread_time_ns()
        call(text)
        cpu.append((time.thread_time_ns() - started) / 1000)
        wall.append((time.perf_counter_ns() - started_wall) / 1000)
    return cpu, wall


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    points = entry_points()
    for call in points.values():  # warm up: imports, regex compilation, translations
        for text in (BASELINE, *HOSTILE.values()):
            call(text)

    hostile_all, baseline_all, hostile_wall = [], [], []
    gc.disable()
    try:
        for point, call in points.items():
            print(f"\n{point}: CPU µs per call, median / max of {args.repeat} (wall max)")
            base, wall = time_calls(call, BASELINE, args.repeat)
            baseline_all += base
            print(
                f"  {'baseline ' + BASELINE:32} {statistics.median(base):8.1f} {max(base):8.1f}"
                f"   ({max(wall):.1f})"
            )
            for name, text in HOSTILE.items():
                times, wall = time_calls(call, text, args.repeat)
                hostile_all += times
                hostile_wall += wall
                print(
                    f"  {name:32} {statistics.median(times):8.1f} {max(times):8.1f}"
                    f"   ({max(wall):.1f})"
                )
    finally:
        gc.enable()

    worst = max(hostile_all)
    print(
        f"\nhostile ({len(HOSTILE)} inputs × {len(points)} entry points × {args.repeat}): "
        f"p50 {statistics.median(hostile_all):.1f} µs, p99 {percentile(hostile_all, 0.99):.1f} µs,"
        f" max {worst:.1f} µs"
    )
    print(
        f"baseline {BASELINE!r}: p50 {statistics.median(baseline_all):.1f} µs, "
        f"p99 {percentile(baseline_all, 0.99):.1f} µs, max {max(baseline_all):.1f} µs"
    )
    met = worst < TARGET_US
    print(
        f"hostile wall clock: p99 {percentile(hostile_wall, 0.99):.1f} µs, "
        f"max {max(hostile_wall):.1f} µs (includes time the scheduler gave other processes)"
    )
    print(f"target: every call < {TARGET_US} µs CPU (1 ms): {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
