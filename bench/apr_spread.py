"""How much the APR of the same loan moves with the day it is paid out: the old first-period
rule against the new one (issue 17, "Final APR at payout").

Usage (no database, a few seconds):

    uv run python bench/apr_spread.py [--months 2027-01 2027-03] [--amount 50000]

For ₦50,000 over 1 and over 3 months on the demo products' settings (``devdata/loans.py``:
the flat product and the reducing-balance one, fees and due day as the products set them;
the bench ignores the products' tenure limits so both methods are compared on both tenures),
and for every payout day of each month given, the APR of the schedule under:

* the OLD rule: installment 1 carries a whole month's interest (flat: principal × rate;
  reducing: opening balance × rate, half-up to the kobo) however long its first period is
  (15 to about 46 days with ``first_due_date``'s minimum-days rule) — reimplemented here as
  the baseline;
* the NEW rule: ``loans.schedule.build_schedule``, installment 1's interest for its real days
  (Actual/365, the monthly rate × 12 ÷ 365 a day).

Prints, per case, the lowest and highest APR over the month's payout days, the spread
(max − min, percentage points) and the ratio new spread ÷ old spread; then, for a loan quoted
(approved) on each day of the month and paid out 28 days later, the largest difference
between the APR quoted and the APR of the schedule actually paid out, under each rule.
"""

import argparse
import calendar
import dataclasses
import os
import sys
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def old_rule_apr(schedule, terms) -> Decimal:
    """The APR the same schedule had under the old rule: installment 1's interest is a whole
    month's (the principal × the monthly rate, half-up to the kobo; for these amounts flat's
    round-down exception for a few kobo never applies), every other figure unchanged."""
    from core.money import to_kobo
    from loans.schedule import annual_percentage_rate

    month = to_kobo(terms.principal * terms.monthly_rate, rounding=ROUND_HALF_UP)
    first = schedule.installments[0]
    flows = [(i.due_date, i.total) for i in schedule.installments]
    flows[0] = (first.due_date, first.total - first.interest + month)
    return annual_percentage_rate(schedule.disbursed_amount, terms.start_date, flows)


def aprs(terms):
    """(old APR, new APR) of ``terms``."""
    from loans.schedule import build_schedule

    schedule = build_schedule(terms)
    return old_rule_apr(schedule, terms), schedule.apr


def days_of(month: str) -> list[date]:
    year, number = (int(part) for part in month.split("-"))
    last = calendar.monthrange(year, number)[1]
    return [date(year, number, day) for day in range(1, last + 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--months", nargs="+", default=["2027-01", "2027-03"])
    parser.add_argument("--amount", type=int, default=50_000, help="naira")
    args = parser.parse_args()
    setup()
    from devdata.loans import PRODUCTS
    from loans.schedule import FeeTreatment, InterestMethod, ScheduleTerms

    print(f"APR spread over payout days, ₦{args.amount:,} (old rule → new rule)\n")
    header = (
        f"{'product':<44} {'months':>6} {'payout month':>12} {'old min–max':>17} "
        f"{'old spread':>10} {'new min–max':>17} {'new spread':>10} {'new/old':>8}"
    )
    print(header)
    print("-" * len(header))
    worst_ratio = Decimal(0)
    quote_rows = []
    # The products as they are, then without their fee: what is left of the spread with the
    # fee is the fee's own (a fixed fee over 15 days weighs more than over 46 days).
    cases = [*PRODUCTS, *({**p, "name": f"{p['name']}, no fee"} for p in PRODUCTS)]
    for spec in cases:
        fees = "no fee" not in spec["name"]
        for tenure in (1, 3):
            base = ScheduleTerms(
                principal=args.amount * 100,
                tenure_months=tenure,
                method=InterestMethod(spec["interest_method"]),
                monthly_rate=spec["monthly_rate"],
                fee_percent=spec["fee_percent"] if fees else Decimal(0),
                fee_fixed=spec["fee_fixed"] if fees else 0,
                fee_treatment=FeeTreatment(spec["fee_treatment"]),
                due_day=spec.get("due_day", 28),
                start_date=date(2027, 1, 1),
            )
            quote_old = quote_new = Decimal(0)
            for month in args.months:
                olds, news = [], []
                for day in days_of(month):
                    old, new = aprs(dataclasses.replace(base, start_date=day))
                    olds.append(old)
                    news.append(new)
                    # Quoted (approved) on ``day``, paid out four weeks later.
                    paid_old, paid_new = aprs(
                        dataclasses.replace(base, start_date=day + timedelta(days=28))
                    )
                    quote_old = max(quote_old, abs(paid_old - old))
                    quote_new = max(quote_new, abs(paid_new - new))
                old_spread = max(olds) - min(olds)
                new_spread = max(news) - min(news)
                ratio = new_spread / old_spread if old_spread else Decimal(0)
                worst_ratio = max(worst_ratio, ratio)
                print(
                    f"{spec['name']:<44} {tenure:>6} {month:>12} "
                    f"{f'{min(olds)}–{max(olds)} %':>17} {old_spread:>10} "
                    f"{f'{min(news)}–{max(news)} %':>17} {new_spread:>10} {ratio:>8.3f}"
                )
            quote_rows.append((spec["name"], tenure, quote_old, quote_new))
    print(f"\nWorst ratio new spread / old spread: {worst_ratio:.3f}")
    print("\nQuoted on any day of those months, paid out 28 days later: largest APR change")
    print(f"{'product':<44} {'months':>6} {'old rule':>10} {'new rule':>10}")
    for name, tenure, old, new in quote_rows:
        print(f"{name:<44} {tenure:>6} {f'{old} pts':>10} {f'{new} pts':>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
