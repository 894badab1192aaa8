"""Random reporting data and the brute-force answers the reports must match."""

import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import time_machine

from arrears.models import Bucket, PortfolioSnapshot, WriteOff, WriteOffStatus
from core.clock import LAGOS
from loans.models import ApplicationHistory, ApplicationStatus, Loan
from payments.models import Payment, PaymentChannel, PaymentStatus
from tests import factories
from tests.factories import MemberFactory, make_finance

UTC = ZoneInfo("UTC")


def lagos(day: date, hour=12, minute=0, second=0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=LAGOS)


def at(moment: datetime):
    return time_machine.travel(moment, tick=False)


def make_loans(count: int, day: date) -> list[Loan]:
    loans = []
    with at(lagos(day, 10)):
        for _ in range(count):
            member = MemberFactory(
                passing_out=day + timedelta(days=400), monthly_allowance=300_000_00
            )
            loans.append(factories.active_loan(member=member))
    return loans


def random_moment(rng: random.Random, days: list[date]) -> datetime:
    """Somewhere in the window, often right at a Lagos midnight boundary."""
    day = rng.choice(days)
    choice = rng.random()
    if choice < 0.2:
        return lagos(day, 23, 59, 59)
    if choice < 0.4:
        return lagos(day, 0, 0, 0)
    return lagos(day, rng.randrange(24), rng.randrange(60))


def seed_random_activity(rng: random.Random, days: list[date], loans: list[Loan]) -> None:
    finance = make_finance()
    applications = [loan.application for loan in loans]
    for _ in range(60):
        row = ApplicationHistory.objects.create(
            application=rng.choice(applications),
            from_status="",
            to_status=rng.choice(
                [
                    ApplicationStatus.SUBMITTED,
                    ApplicationStatus.APPROVED,
                    ApplicationStatus.REJECTED,
                    ApplicationStatus.CANCELLED,
                    ApplicationStatus.IN_REVIEW,
                ]
            ),
        )
        ApplicationHistory.objects.filter(pk=row.pk).update(created_at=random_moment(rng, days))
    for loan in loans:
        Loan.objects.filter(pk=loan.pk).update(disbursed_on=rng.choice(days))
    for i in range(80):
        Payment.objects.create(
            reference=f"RPT-{i}",
            provider="simulated",
            channel=rng.choice(PaymentChannel.values),
            status=rng.choice(PaymentStatus.values),
            amount=rng.randrange(1, 5_000_000),
            received_at=random_moment(rng, days),
            loan=rng.choice(loans),
        )
    for loan in loans[:3]:
        WriteOff.objects.create(
            loan=loan,
            status=rng.choice([WriteOffStatus.APPROVED, WriteOffStatus.REJECTED]),
            reason="test",
            requested_by=finance,
            amount=rng.randrange(1, 10_000_000),
            decided_by=finance,
            decided_at=random_moment(rng, days),
        )
    for day in days[::2]:
        for bucket in Bucket:
            PortfolioSnapshot.objects.create(
                snapshot_date=day,
                bucket=bucket,
                loans=rng.randrange(10),
                outstanding_principal=rng.randrange(10_000_000),
            )


def lagos_day_of(moment: datetime) -> date:
    return moment.astimezone(LAGOS).date()


def restructured_brute_force(day: date) -> dict:
    """Restructured loans, reported apart, by reading every row in Python."""
    from arrears.models import BUCKET_RANGES
    from loans.models import LoanStatus
    from servicing.models import Restructure

    approved = sum(
        1
        for r in Restructure.objects.all()
        if r.status == "approved" and lagos_day_of(r.decided_at) == day
    )
    buckets = {b.value: {"loans": 0, "outstanding_principal": 0} for b in Bucket}
    for loan in Loan.objects.all():
        if loan.status != LoanStatus.ACTIVE or loan.restructured_at is None:
            continue
        dpd = max((day - loan.arrears_since).days, 0) if loan.arrears_since else 0
        bucket = Bucket.CURRENT.value
        for name, first, last in BUCKET_RANGES:
            if dpd >= first and (last is None or dpd <= last):
                bucket = Bucket(name).value
                break
        buckets[bucket]["loans"] += 1
        buckets[bucket]["outstanding_principal"] += sum(
            i.principal - i.paid_principal for i in loan.installments.all()
        )
    return {
        "approved_today": approved,
        "loans": sum(b["loans"] for b in buckets.values()),
        "outstanding_principal": sum(b["outstanding_principal"] for b in buckets.values()),
        "buckets": buckets,
        "par30_outstanding": sum(
            buckets[b]["outstanding_principal"] for b in ("31-60", "61-90", "90+")
        ),
    }


def brute_force(day: date) -> dict:
    """The same figures by reading every row in Python."""
    apps = {s: set() for s in ("submitted", "approved", "rejected", "cancelled")}
    for row in ApplicationHistory.objects.all():
        if lagos_day_of(row.created_at) == day and row.to_status in apps:
            apps[row.to_status].add(row.application_id)
    loans = [loan for loan in Loan.objects.all() if loan.disbursed_on == day]
    payments = [
        p
        for p in Payment.objects.all()
        if p.status == PaymentStatus.SUCCESSFUL
        and p.channel != PaymentChannel.CREDIT  # money already held, not collected that day
        and p.received_at
        and lagos_day_of(p.received_at) == day
    ]
    by_channel = {
        c: {
            "count": sum(1 for p in payments if p.channel == c),
            "amount": sum(p.amount for p in payments if p.channel == c),
        }
        for c in PaymentChannel.values
        if c != PaymentChannel.CREDIT
    }
    write_offs = [
        w
        for w in WriteOff.objects.all()
        if w.status == WriteOffStatus.APPROVED and lagos_day_of(w.decided_at) == day
    ]
    snaps = {s.bucket: s for s in PortfolioSnapshot.objects.all() if s.snapshot_date == day}
    par = None
    if snaps:
        buckets = {
            b.value: {
                "loans": snaps[b].loans,
                "outstanding_principal": snaps[b].outstanding_principal,
            }
            for b in Bucket
        }
        par = {
            "buckets": buckets,
            "total_outstanding": sum(s.outstanding_principal for s in snaps.values()),
            "par30_outstanding": sum(
                snaps[b].outstanding_principal for b in ("31-60", "61-90", "90+")
            ),
        }
    return {
        "date": day.isoformat(),
        "applications": {k: len(v) for k, v in apps.items()},
        "disbursed": {
            "count": len(loans),
            "principal": sum(loan.principal for loan in loans),
            "paid_out": sum(loan.disbursed_amount for loan in loans),
        },
        "collections": {
            "count": len(payments),
            "amount": sum(p.amount for p in payments),
            "by_channel": by_channel,
        },
        "par": par,
        "restructured": restructured_brute_force(day),
        "write_offs": {"count": len(write_offs), "amount": sum(w.amount for w in write_offs)},
    }
