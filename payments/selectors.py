"""Permission-scoped reads for money."""

from django.db.models import QuerySet, Sum

from ledger.selectors import member_credit
from loans.models import Loan, LoanStatus
from payments.models import (
    IN_FLIGHT_REFUND_STATUSES,
    Disbursement,
    DisbursementStatus,
    Payment,
    Refund,
    RefundSource,
)


def disbursement_in_flight(loan) -> bool:
    return Disbursement.objects.filter(
        loan=loan,
        status__in=[
            DisbursementStatus.QUEUED,
            DisbursementStatus.SENT,
            DisbursementStatus.SUCCEEDED,
        ],
    ).exists()


def disbursement_queue(user) -> QuerySet[Loan]:
    """Approved loans waiting for payout, oldest approval first."""
    if not (user.is_staff and user.has_perm("loans.disburse_loan")):
        return Loan.objects.none()
    return (
        Loan.objects.filter(status=LoanStatus.PENDING_DISBURSEMENT)
        .select_related("member")
        .only(
            "reference",
            "disbursed_amount",
            "approved_at",
            "member__full_name",
            "member__account_name_confirmed",
        )
        .order_by("approved_at", "id")
    )


def payments_visible_to(user) -> QuerySet[Payment]:
    if not user.is_authenticated:
        return Payment.objects.none()
    if user.is_staff and user.has_perm("payments.view_payment"):
        return Payment.objects.all()
    return Payment.objects.filter(member__user=user)


def loan_payments(loan) -> QuerySet[Payment]:
    return loan.payments.order_by("-created_at", "-id")


def loan_disbursements(loan) -> QuerySet[Disbursement]:
    return loan.disbursements.select_related("initiated_by").order_by("-created_at")


def reserved_credit(member) -> int:
    """Credit refunds approved and not finished: promised to a transfer."""
    return Refund.objects.filter(
        member=member, source=RefundSource.CREDIT, status__in=IN_FLIGHT_REFUND_STATUSES
    ).aggregate(total=Sum("amount", default=0))["total"]


def available_credit(member) -> int:
    """The member's credit nobody has promised to a refund yet (never below zero). Everything
    that spends credit (installments, settlement, prepayment, refunds) reads this under the
    member's row lock."""
    return max(member_credit(member) - reserved_credit(member), 0)
