"""Demo loans in every state (fake people): so the collections desk, the dashboard and the
daily report have something to show after ``make run``. Built through the real services; the
loans in arrears are then moved back in time, as if paid out months ago. Idempotent."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from arrears import overdue
from loans import services as loan_services
from loans.models import Loan, LoanProduct
from members.models import KycStatus, Member
from payments.services import disbursement, repayment
from reports.services import generate_daily_report

# (days the first installment is past due, share of it already paid) per demo borrower;
# negative days: not due yet.
PORTFOLIO = [(-20, 0), (-10, 0), (-5, 0), (3, 0), (12, 0.5), (25, 0), (45, 0), (75, 0.3), (120, 0)]


def move_into_arrears(loan: Loan, days_past_due: int, *, today=None) -> None:
    """Move a disbursed loan's schedule back so its first installment fell due
    ``days_past_due`` days before ``today`` (demo data and tests only)."""
    today = today or timezone.localdate()
    first = loan.installments.order_by("number").first()
    shift = (today - timedelta(days=days_past_due)) - first.due_date
    for inst in loan.installments.all():
        inst.due_date += shift
        inst.late_fee_from += shift
        inst.save(update_fields=["due_date", "late_fee_from"])
    Loan.objects.filter(pk=loan.pk).update(disbursed_on=loan.disbursed_on + shift)


def seed(stdout=None):
    users = get_user_model().objects
    officer = users.filter(email="officer@allaweeplus.test").first()
    finance = users.filter(email="finance@allaweeplus.test").first()
    product = LoanProduct.objects.filter(interest_method="flat").order_by("id").first()
    if not (officer and finance and product) or Loan.objects.exists():
        return
    borrowers = Member.objects.filter(
        kyc_status=KycStatus.VERIFIED, user__email__startswith="corper"
    ).order_by("id")[: len(PORTFOLIO)]
    for member, (days_past_due, paid_share) in zip(borrowers, PORTFOLIO, strict=False):
        with transaction.atomic():
            member.passing_out = timezone.localdate() + timedelta(days=300)
            fields = member.mark_payout_confirmed(member.full_name)
            member.save(update_fields=["passing_out", *fields])
            application = loan_services.start_application(
                member=member, actor=member.user, product=product, amount=50_000_00, tenure=3
            )
            loan_services.submit_application(
                application=application,
                actor=member.user,
                consent=True,
                shown_hash=application.key_facts_hash,
                ip="127.0.0.1",
                user_agent="seed_demo",
            )
            loan_services.assess_application(application_id=application.pk)
            application.refresh_from_db()
            loan = loan_services.approve_application(application=application, actor=officer).loan
            disbursement.record_manual_disbursement(
                loan=loan, actor=finance, bank_reference=f"DEMO-{loan.reference}"
            )
            loan.refresh_from_db()
            if days_past_due > 0:
                move_into_arrears(loan, days_past_due)
            if paid_share:
                first = loan.installments.order_by("number").first()
                repayment.record_manual_payment(
                    loan=loan,
                    actor=finance,
                    amount=int(first.outstanding * paid_share),
                    reason="Demo: part payment at the branch",
                )
    overdue.run_overdue()
    generate_daily_report(report_date=timezone.localdate() - timedelta(days=1))
    if stdout is not None:
        stdout.write(f"Demo loans: {Loan.objects.count()} (some in arrears), overdue run done.")
