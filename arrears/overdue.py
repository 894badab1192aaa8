"""The daily overdue run: mark overdue installments, charge late fees, post them to the
ledger and snapshot portfolio at risk — set-based, one statement per step, whatever the
number of installments (no Python loop over rows).

Idempotent per Lagos day: each day is one ``OverdueRun`` row (unique date) written in the
same transaction as its charges, and each charge is unique per (installment, day). A missed
day is caught up: a run processes every day since the last completed one, in order. Two runs
at once: a Huey lock lets one work while the other exits.

A catch-up day uses the amounts unpaid now, not as they were on that day; payments recorded
since are already allocated, so this can only charge less than a run on time would have.
"""

import logging
import time
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Case, CharField, Count, F, Sum, Value, When
from django.utils import timezone
from huey.contrib.djhuey import HUEY
from huey.exceptions import TaskLockedException

from arrears.models import (
    BUCKET_RANGES,
    AllowanceDelay,
    Bucket,
    LateFeeCharge,
    OverdueRun,
    PortfolioSnapshot,
)
from core import audit
from core.clock import lagos_today
from core.errors import Conflict, DomainError
from ledger import chart
from ledger.models import EntryKind
from ledger.posting import post_loan_entries
from loans import lifecycle
from loans.models import (
    Installment,
    InstallmentStatus,
    Loan,
    LoanStatus,
)

logger = logging.getLogger(__name__)

LOCK_NAME = "arrears.overdue-run"
MAX_CATCH_UP_DAYS = 400


class RunInProgress(Conflict):
    pass


@dataclass
class DayOutcome:
    run: OverdueRun
    created: bool
    seconds: dict[str, float] = field(default_factory=dict)  # per step, for logs and benches


class _Stopwatch:
    def __init__(self):
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.seconds[step] = round(now - self._last, 3)
        self._last = now


def run_overdue(*, run_date: date | None = None) -> list[DayOutcome]:
    """Run (and catch up to) ``run_date``, today in Lagos by default."""
    today = lagos_today()
    run_date = run_date or today
    if run_date > today:
        raise DomainError(
            f"The overdue run cannot run for {run_date:%d %b %Y}: that day has not come yet."
        )
    try:
        with HUEY.lock_task(LOCK_NAME):
            return [run_overdue_day(day) for day in days_to_run(run_date)]
    except TaskLockedException:
        raise RunInProgress(
            "Another overdue run is in progress; this one stopped without changing anything."
        ) from None


def days_to_run(run_date: date) -> list[date]:
    """Every day from the one after the last completed run up to ``run_date``."""
    last = (
        OverdueRun.objects.filter(run_date__lte=run_date)
        .order_by("-run_date")
        .values_list("run_date", flat=True)
        .first()
    )
    if last == run_date:
        return [run_date]  # already done: reported as such, changes nothing
    start = last + timedelta(days=1) if last else run_date
    start = max(start, run_date - timedelta(days=MAX_CATCH_UP_DAYS))
    return [start + timedelta(days=n) for n in range((run_date - start).days + 1)]


def run_overdue_day(day: date) -> DayOutcome:
    existing = OverdueRun.objects.filter(run_date=day).first()
    if existing is not None:
        return DayOutcome(existing, created=False)
    started = timezone.now()
    watch = _Stopwatch()
    try:
        with transaction.atomic():
            # The row first: a concurrent run of the same day waits on it, then fails here.
            run = OverdueRun.objects.create(run_date=day, started_at=started, finished_at=started)
            run.fees_paused = fees_paused_on(day)
            run.installments_marked_overdue = lifecycle.mark_overdue(day)
            watch.lap("mark_overdue")
            if not run.fees_paused:
                run.fees_charged, run.fees_total = charge_late_fees(day)
            watch.lap("charge_and_post")
            lifecycle.update_arrears_since()
            watch.lap("arrears_dates")
            snapshot_portfolio(day)
            watch.lap("par_snapshot")
            run.finished_at = timezone.now()
            run.save()
            audit.record(
                actor=None,
                action="arrears.overdue_run",
                obj=run,
                changes={
                    "date": day.isoformat(),
                    "marked_overdue": run.installments_marked_overdue,
                    "fees_charged": run.fees_charged,
                    "fees_total": run.fees_total,
                    "fees_paused": run.fees_paused,
                },
            )
        watch.lap("commit")  # includes the deferred ledger balance checks on PostgreSQL
    except IntegrityError:
        existing = OverdueRun.objects.filter(run_date=day).first()
        if existing is None:
            raise
        return DayOutcome(existing, created=False)
    logger.info(
        "overdue run finished",
        extra={
            "event": "arrears.overdue_run",
            "run_date": day.isoformat(),
            "marked_overdue": run.installments_marked_overdue,
            "fees_charged": run.fees_charged,
            "seconds": watch.seconds,
        },
    )
    return DayOutcome(run, created=True, seconds=watch.seconds)


def fees_paused_on(day: date) -> bool:
    return AllowanceDelay.objects.filter(
        cancelled_at__isnull=True, starts_on__lte=day, ends_on__gte=day
    ).exists()


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def charge_late_fees(day: date) -> tuple[int, int]:
    """One day's late fee on every overdue installment past its grace days: the daily rate
    of the unpaid amount (half-up to the kobo), never past the installment's cap. Three
    statements for the charges and the installments and one bulk posting, whatever the row
    count."""
    least = "LEAST" if connection.vendor == "postgresql" else "MIN"
    installment, loan, charge = _table(Installment), _table(Loan), _table(LateFeeCharge)
    unpaid = "(i.principal + i.interest + i.fee - i.paid_principal - i.paid_interest - i.paid_fee)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {charge} (installment_id, loan_id, charge_date, amount)
            SELECT id, loan_id, %s, amount FROM (
                SELECT i.id, i.loan_id,
                       {least}(i.late_fee + ({unpaid} * i.late_fee_daily_ppm + 500000) / 1000000,
                               i.late_fee_cap) - i.late_fee AS amount
                FROM {installment} i JOIN {loan} l ON l.id = i.loan_id
                WHERE l.status = %s AND i.status = %s AND i.late_fee_from <= %s
                  AND i.late_fee < i.late_fee_cap AND {unpaid} > 0
            ) due WHERE amount > 0
            """,  # noqa: S608 - table names from the models, values as parameters
            [day, LoanStatus.ACTIVE, InstallmentStatus.OVERDUE, day],
        )
        cursor.execute(
            f"SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM {charge} WHERE charge_date = %s",  # noqa: S608
            [day],
        )
        count, total = cursor.fetchone()
        count, total = int(count), int(total)  # PostgreSQL sums bigint as numeric
        if not count:
            return 0, 0
        cursor.execute(
            f"""
            UPDATE {installment} SET late_fee = {installment}.late_fee + c.amount
            FROM {charge} c WHERE c.installment_id = {installment}.id AND c.charge_date = %s
            """,  # noqa: S608
            [day],
        )
    # One balanced entry per loan (receivable up, late-fee income up): a loan's ledger balance
    # keeps equalling what its schedule says is owed. Set-based, in the ledger app.
    post_loan_entries(
        kind=EntryKind.LATE_FEE,
        event="late_fee",
        effective_date=day,
        memo=f"Late fees for {day:%d %b %Y}",
        amounts=LateFeeCharge.objects.filter(charge_date=day)
        .order_by()
        .values_list("loan_id")
        .annotate(total=Sum("amount")),
        debit_account=chart.LOANS_PENALTIES,
        credit_account=chart.PENALTY_INCOME,
    )
    return count, total


def bucket_of(arrears_since_field: str, day: date) -> Case:
    """SQL CASE giving the PAR bucket from the oldest overdue due date, relative to ``day``."""
    whens = [
        When(**{f"{arrears_since_field}__isnull": True}, then=Value(Bucket.CURRENT)),
        When(**{f"{arrears_since_field}__gte": day}, then=Value(Bucket.CURRENT)),
    ]
    for bucket, _first, last in BUCKET_RANGES[1:]:
        if last is None:
            continue
        # days past due = day - arrears_since ≤ last  ⇔  arrears_since ≥ day - last
        whens.append(
            When(**{f"{arrears_since_field}__gte": day - timedelta(days=last)}, then=Value(bucket))
        )
    return Case(*whens, default=Value(Bucket.DPD_90_PLUS), output_field=CharField())


def portfolio_at_risk(day: date) -> dict[str, dict[str, int]]:
    """Active loans and outstanding principal per bucket, in one grouped query."""
    rows = (
        Installment.objects.filter(loan__status=LoanStatus.ACTIVE)
        .annotate(bucket=bucket_of("loan__arrears_since", day))
        .values("bucket")
        .annotate(
            loans=Count("loan_id", distinct=True),
            principal=Sum(F("principal") - F("paid_principal")),
        )
    )
    result = {b.value: {"loans": 0, "outstanding_principal": 0} for b in Bucket}
    for row in rows:
        result[row["bucket"]] = {
            "loans": row["loans"],
            "outstanding_principal": row["principal"] or 0,
        }
    return result


def snapshot_portfolio(day: date) -> None:
    for bucket, figures in portfolio_at_risk(day).items():
        PortfolioSnapshot.objects.update_or_create(
            snapshot_date=day, bucket=bucket, defaults=figures
        )
