"""Build loans in each state through the real services (no shortcuts around the rules)."""

from datetime import date
from decimal import Decimal

from django.test import TestCase

from loans import services as loan_services
from loans.models import LoanProduct
from payments import services
from tests.factories import MemberFactory, make_finance, make_officer

on_commit = TestCase.captureOnCommitCallbacks


def product(**overrides):
    values = dict(
        name=f"Test product {LoanProduct.objects.count() + 1}",
        min_principal=10_000_00,
        max_principal=500_000_00,
        tenures=[1, 2, 3, 6],
        interest_method="flat",
        monthly_rate=Decimal("0.05"),
        fee_percent=Decimal("0.01"),
        dual_approval_above=10**12,
        late_fee_percent_per_day=Decimal("0.005"),
        late_fee_cap_percent=Decimal("0.10"),
        grace_days=3,
    )
    values.update(overrides)
    return LoanProduct.objects.create(**values)


def approved_loan(*, amount=60_000_00, tenure=3, member=None, officer=None, **product_terms):
    member = member or MemberFactory(passing_out=date(2027, 12, 1), monthly_allowance=300_000_00)
    prod = product(**product_terms)
    application = loan_services.start_application(
        member=member, actor=member.user, product=prod, amount=amount, tenure=tenure
    )
    loan_services.submit_application(
        application=application,
        actor=member.user,
        consent=True,
        shown_hash=application.key_facts_hash,
        ip=None,
        user_agent="",
    )
    loan_services.assess_application(application_id=application.pk)
    application.refresh_from_db()
    loan_services.approve_application(application=application, actor=officer or make_officer())
    member.mark_payout_confirmed(member.full_name)
    member.save()
    return application.loan


def active_loan(**kwargs):
    loan = approved_loan(**kwargs)
    services.record_manual_disbursement(
        loan=loan, actor=make_finance(), bank_reference="FT-TEST-0001"
    )
    loan.refresh_from_db()
    return loan


def schedule_outstanding(loan) -> int:
    return sum(i.outstanding for i in loan.installments.all())
