"""Back-office dashboard figures: computed with a handful of aggregate queries, cached for
everybody (no per-user data: the template decides what each person may see).

The cache holds ``{"figures", "fresh_until"}`` for HARD_TTL seconds, while the figures count
as fresh for FRESH_SECONDS. When they go stale, the first request to win ``cache.add`` on the
lock recomputes; every other request meanwhile gets the stale figures at once instead of
recomputing too (no stampede of identical heavy queries). A Huey task refreshes every five
minutes, so pages rarely see stale figures at all.
"""

import logging
import time
import uuid
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.core.cache import cache
from django.db.models import BigIntegerField, Count, F, Q, Sum
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone

from arrears.models import PortfolioSnapshot
from core.clock import LAGOS, lagos_day_bounds, lagos_today, month_start
from core.db_router import reading_from_replica
from loans.models import Application, ApplicationStatus, Installment, Loan, LoanStatus
from payments.models import Payment, PaymentStatus
from reports.services import PAR30_BUCKETS

logger = logging.getLogger(__name__)

CACHE_KEY = "reports:dashboard:v1"
LOCK_KEY = "reports:dashboard:v1:lock"
FRESH_SECONDS = 10 * 60
HARD_TTL = 60 * 60
LOCK_SECONDS = 120  # longer than any recomputation; a crashed holder frees it by expiry
COLD_WAIT_SECONDS = 3.0
APPLICATION_DAYS = 30
FLOW_MONTHS = 12
PAR_TREND_DAYS = 90

AWAITING_REVIEW = (ApplicationStatus.SUBMITTED, ApplicationStatus.IN_REVIEW)


def basis_points(part: int, whole: int) -> int | None:
    """part/whole in hundredths of a percent, rounded half up (no floats)."""
    if not whole:
        return None
    return int((Decimal(part) * 10000 / Decimal(whole)).quantize(Decimal(1), ROUND_HALF_UP))


def _as_date(value) -> date:
    # Trunc over a DateTimeField with tzinfo gives a Lagos-aware datetime; over a DateField,
    # a date.
    return value.date() if hasattr(value, "date") and callable(value.date) else value


@reading_from_replica()
def compute_dashboard_figures(today: date | None = None) -> dict:
    today = today or lagos_today()

    awaiting = Application.objects.filter(status__in=AWAITING_REVIEW).count()
    active_loans = Loan.objects.filter(status=LoanStatus.ACTIVE).count()
    outstanding = Installment.objects.filter(loan__status=LoanStatus.ACTIVE).aggregate(
        # An expression's sum is numeric (Decimal) on PostgreSQL: keep integer kobo.
        total=Sum(F("principal") - F("paid_principal"), default=0, output_field=BigIntegerField())
    )["total"]

    first_day = today - timedelta(days=APPLICATION_DAYS - 1)
    since, _ = lagos_day_bounds(first_day)
    per_day = dict(
        Application.objects.filter(submitted_at__gte=since)
        .annotate(day=TruncDate("submitted_at", tzinfo=LAGOS))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("day", "n")
    )
    applications_per_day = [
        [(first_day + timedelta(days=i)).isoformat(), per_day.get(first_day + timedelta(days=i), 0)]
        for i in range(APPLICATION_DAYS)
    ]

    first_month = month_start(today, FLOW_MONTHS - 1)
    disbursed = {
        _as_date(month): total
        for month, total in Loan.objects.filter(disbursed_on__gte=first_month)
        .annotate(month=TruncMonth("disbursed_on"))
        .values("month")
        .annotate(total=Sum("disbursed_amount"))
        .order_by()
        .values_list("month", "total")
    }
    month_since, _ = lagos_day_bounds(first_month)
    collected = {
        _as_date(month): total
        for month, total in Payment.objects.filter(
            status=PaymentStatus.SUCCESSFUL, received_at__gte=month_since
        )
        .annotate(month=TruncMonth("received_at", tzinfo=LAGOS))
        .values("month")
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list("month", "total")
    }
    months = [month_start(today, back) for back in range(FLOW_MONTHS - 1, -1, -1)]
    monthly_flows = [
        [m.strftime("%Y-%m"), disbursed.get(m, 0), collected.get(m, 0)] for m in months
    ]

    trend = list(
        PortfolioSnapshot.objects.filter(snapshot_date__gt=today - timedelta(days=PAR_TREND_DAYS))
        .values("snapshot_date")
        .annotate(
            total=Sum("outstanding_principal"),
            at_risk=Sum("outstanding_principal", filter=Q(bucket__in=PAR30_BUCKETS), default=0),
        )
        .order_by("snapshot_date")
        .values_list("snapshot_date", "total", "at_risk")
    )
    par_trend = [[d.isoformat(), basis_points(at_risk, total) or 0] for d, total, at_risk in trend]
    latest = trend[-1] if trend else None

    return {
        "computed_at": timezone.now().isoformat(),
        "today": today.isoformat(),
        "awaiting_review": awaiting,
        "active_loans": active_loans,
        "outstanding_principal": outstanding,
        "par30_bp": basis_points(latest[2], latest[1]) if latest else None,
        "par_snapshot_date": latest[0].isoformat() if latest else None,
        "disbursed_this_month": monthly_flows[-1][1],
        "collected_this_month": monthly_flows[-1][2],
        "applications_per_day": applications_per_day,
        "monthly_flows": monthly_flows,
        "par_trend": par_trend,
    }


def _store(figures: dict) -> dict:
    cache.set(CACHE_KEY, {"figures": figures, "fresh_until": time.time() + FRESH_SECONDS}, HARD_TTL)
    return figures


def _recompute_under_lock() -> dict | None:
    """Recompute and store if this process wins the lock; None if another one holds it."""
    token = uuid.uuid4().hex
    if not cache.add(LOCK_KEY, token, LOCK_SECONDS):
        return None
    try:
        return _store(compute_dashboard_figures())
    finally:
        if cache.get(LOCK_KEY) == token:
            cache.delete(LOCK_KEY)


def dashboard_figures() -> dict:
    entry = cache.get(CACHE_KEY)
    if entry is not None and entry["fresh_until"] > time.time():
        return entry["figures"]
    figures = _recompute_under_lock()
    if figures is not None:
        return figures
    if entry is not None:
        return entry["figures"]  # stale while another process recomputes
    # Nothing cached and another process is computing: wait for its result rather than
    # pile the same queries on the database. Stop waiting as soon as the lock is gone without
    # a result (the holder failed, or the cache is down and every read is a miss).
    deadline = time.monotonic() + COLD_WAIT_SECONDS
    while True:
        held = cache.get(LOCK_KEY) is not None
        entry = cache.get(CACHE_KEY)
        if entry is not None:
            return entry["figures"]
        if not held or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    logger.warning("dashboard figures computed outside the cache (no result from the lock holder)")
    return compute_dashboard_figures()


def refresh_dashboard_figures() -> bool:
    """For the periodic task: recompute now unless someone else already is."""
    return _recompute_under_lock() is not None
