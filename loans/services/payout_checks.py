"""Checks at payout: an approval is a promise for a short time, not for ever.

Eligibility is run again when finance starts a payout — the approval has not expired, the
profile is still verified, the member has no other loan running, and the schedule re-fixed
from the payout day still ends before passing-out — and approvals not paid out within the
product's ``approval_valid_days`` are cancelled by a periodic task that tells the member.
"""

from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from core import audit
from core.clock import LAGOS, lagos_today
from core.errors import Conflict
from core.signals import send_after_commit
from loans import lifecycle, signals
from loans.models import Application, ApplicationStatus, Loan, LoanStatus
from loans.products import LoanProduct
from loans.schedule import build_schedule
from loans.services.booking import payout_started
from loans.services.records import move


def approved_on(loan: Loan) -> date:
    return timezone.localtime(loan.approved_at, LAGOS).date()


def approval_expires_on(loan: Loan) -> date:
    """The last day the approval may be paid out."""
    return approved_on(loan) + timedelta(days=loan.product.approval_valid_days)


def payout_problems(loan: Loan, *, payout_date: date) -> list[str]:
    """Why the loan may not be paid out on ``payout_date``, in plain words (empty: it may)."""
    problems = []
    expires = approval_expires_on(loan)
    if payout_date > expires:
        problems.append(
            f"The approval expired on {expires:%d %b %Y}: it was not paid out within "
            f"{loan.product.approval_valid_days} days. The member can apply again."
        )
    member = loan.member
    if member.kyc_status != "verified":
        problems.append("The member's profile is no longer verified.")
    other = Loan.objects.filter(member=member, status=LoanStatus.ACTIVE).exclude(pk=loan.pk).first()
    if other is not None:
        problems.append(f"The member already has loan {other.reference} running.")
    schedule = build_schedule(
        loan.application.terms(
            start_date=payout_date, amount=loan.principal, tenure=loan.tenure_months
        )
    )
    days_before = loan.product.min_days_before_passing_out
    if member.passing_out is None:
        problems.append("The member's passing-out date is unknown.")
    elif schedule.last_due_date > member.passing_out - timedelta(days=days_before):
        margin = f"fewer than {days_before} days before" if days_before else "after"
        problems.append(
            f"Paid out on {payout_date:%d %b %Y}, the last installment would fall due on "
            f"{schedule.last_due_date:%d %b %Y}, {margin} the member's passing-out on "
            f"{member.passing_out:%d %b %Y}."
        )
    return problems


def check_payout(loan: Loan, *, payout_date: date | None = None) -> None:
    problems = payout_problems(loan, payout_date=payout_date or lagos_today())
    if problems:
        raise Conflict("This loan cannot be paid out: " + " ".join(problems))


def expired_approvals(today: date | None = None) -> list[int]:
    """Loans approved and not paid out whose approval expired before ``today``."""
    today = today or lagos_today()
    ids: list[int] = []
    for product in LoanProduct.objects.only("pk", "approval_valid_days"):
        # Expired when approved_on + valid_days < today, i.e. approved before the start of
        # (today − valid_days) in Lagos.
        first_valid_day = today - timedelta(days=product.approval_valid_days)
        cutoff = datetime.combine(first_valid_day, time.min, tzinfo=LAGOS)
        ids += Loan.objects.filter(
            product=product, status=LoanStatus.PENDING_DISBURSEMENT, approved_at__lt=cutoff
        ).values_list("pk", flat=True)
    return ids


@transaction.atomic
def expire_approval(*, loan_id: int, today: date | None = None) -> bool:
    """Cancel one expired approval and tell the member; False when it is no longer due
    (paid out meanwhile, a payout in flight, or not expired)."""
    today = today or lagos_today()
    loan = Loan.objects.select_for_update().select_related("product").get(pk=loan_id)
    if loan.status != LoanStatus.PENDING_DISBURSEMENT or payout_started(loan):
        return False
    expires = approval_expires_on(loan)
    if today <= expires:
        return False
    application = Application.objects.select_for_update().get(pk=loan.application_id)
    lifecycle.cancel(loan, actor=None)
    audit.record(
        actor=None,
        action="loan.approval_expired",
        obj=loan,
        changes={"approved_on": str(approved_on(loan)), "expired_after": str(expires)},
    )
    move(
        application,
        ApplicationStatus.CANCELLED,
        actor=None,
        reason=f"The approval expired: the loan was not paid out by {expires:%d %b %Y}.",
    )
    send_after_commit(
        signals.application_event,
        Application,
        application_id=application.pk,
        template="approval_expired",
    )
    return True


def expire_approvals(today: date | None = None) -> int:
    return sum(expire_approval(loan_id=pk, today=today) for pk in expired_approvals(today))
