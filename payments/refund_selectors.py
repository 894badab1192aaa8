"""Reads for the refund pages and API: permission-scoped, with their related rows decided
here."""

from django.db.models import QuerySet

from payments.models import LIVE_REFUND_STATUSES, Refund, RefundStatus

_RELATED = ("member", "loan", "statement_line", "requested_by", "decided_by")


def refunds_visible_to(user) -> QuerySet[Refund]:
    """A member's own refunds; every refund for finance who may approve them."""
    if not user.is_authenticated:
        return Refund.objects.none()
    qs = Refund.objects.select_related(*_RELATED)
    if user.is_staff and user.has_perm("payments.approve_refund"):
        return qs
    return qs.filter(member__user=user)


def refunds_waiting() -> QuerySet[Refund]:
    """Requests waiting for a second person, oldest first."""
    return (
        Refund.objects.filter(status=RefundStatus.REQUESTED)
        .select_related(*_RELATED)
        .order_by("created_at", "id")
    )


def refunds_decided() -> QuerySet[Refund]:
    return (
        Refund.objects.exclude(status=RefundStatus.REQUESTED)
        .select_related(*_RELATED)
        .order_by("-updated_at", "-id")
    )


def member_refunds(member) -> QuerySet[Refund]:
    return Refund.objects.filter(member=member).order_by("-created_at", "-id")


def live_refunds_by_line(lines) -> dict[int, Refund]:
    return {
        refund.statement_line_id: refund
        for refund in Refund.objects.filter(
            statement_line__in=[line.pk for line in lines], status__in=LIVE_REFUND_STATUSES
        )
    }
