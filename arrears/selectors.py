"""Reads for arrears: the collections worklist and a loan's collections file."""

from datetime import date, timedelta

from django.db.models import OuterRef, QuerySet, Subquery, Sum

from arrears.models import BUCKET_RANGES, Bucket, CollectionContact, PortfolioSnapshot
from core.clock import lagos_today
from loans.models import (
    INSTALLMENT_OUTSTANDING,
    Installment,
    InstallmentStatus,
    Loan,
    LoanStatus,
)


def bucket_dates(bucket: str, today: date) -> tuple[date | None, date | None]:
    """The ``arrears_since`` range (inclusive) of a PAR bucket on ``today``."""
    for name, first, last in BUCKET_RANGES:
        if name == bucket and name != Bucket.CURRENT:
            latest = today - timedelta(days=first)
            earliest = today - timedelta(days=last) if last is not None else None
            return earliest, latest
    raise ValueError(f"Not a bucket in arrears: {bucket}")


def bucket_for(days_past_due: int) -> str:
    for name, first, last in BUCKET_RANGES:
        if days_past_due >= first and (last is None or days_past_due <= last):
            return name
    return Bucket.CURRENT


def collections_worklist(user) -> QuerySet[Loan]:
    """Active loans in arrears, oldest arrears first, with the figures the list shows."""
    if not (user.is_staff and user.has_perm("arrears.view_collections")):
        return Loan.objects.none()
    overdue_amount = (
        Installment.objects.filter(loan=OuterRef("pk"), status=InstallmentStatus.OVERDUE)
        .values("loan")
        .annotate(owed=Sum(INSTALLMENT_OUTSTANDING))
        .values("owed")
    )
    last_contact = CollectionContact.objects.filter(loan=OuterRef("pk")).order_by("-created_at")
    return (
        Loan.objects.filter(status=LoanStatus.ACTIVE, arrears_since__isnull=False)
        .select_related("product", "application", "officer")
        .only(
            "reference",
            "arrears_since",
            "product__name",
            "application__applicant_name",
            "application__deployment_state",
            "officer__email",
        )
        .annotate(
            overdue_amount=Subquery(overdue_amount),
            last_contact_at=Subquery(last_contact.values("created_at")[:1]),
            promise_date=Subquery(last_contact.values("promise_date")[:1]),
        )
        .order_by("arrears_since", "id")
    )


def days_past_due(loan: Loan, today: date | None = None) -> int:
    if loan.arrears_since is None:
        return 0
    return ((today or lagos_today()) - loan.arrears_since).days


def loan_contacts(loan: Loan):
    return loan.contacts.select_related("staff").order_by("-created_at", "-id")


def par_trend(days: int = 90) -> list[PortfolioSnapshot]:
    since = lagos_today() - timedelta(days=days)
    return list(
        PortfolioSnapshot.objects.filter(snapshot_date__gte=since).order_by("snapshot_date")
    )
