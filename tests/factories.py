"""Test data: users, staff, members, and loans in each state through the real services (no
shortcuts around the rules): ``eligible_member`` → ``submitted_application`` (in review) →
``approved_loan`` (approved by an officer, payout account confirmed) → ``active_loan``
(disbursed by finance). Tests and benches build their loans here."""

from datetime import date
from decimal import Decimal

import factory
from django.contrib.auth.models import Group
from django.test import TestCase
from faker import Faker

from loans import services as loan_services
from loans.models import Application, Loan, LoanProduct
from members.models import KycStatus, Member, User
from members.roles import ADMINISTRATORS, FINANCE, LOAN_OFFICERS
from members.services import set_bvn
from members.validators import make_valid_nuban
from payments import services as payment_services

fake = Faker("en_NG")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.ng")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def verified_email(self, create, extracted, **kwargs):
        if create:
            from allauth.account.models import EmailAddress

            EmailAddress.objects.get_or_create(
                user=self, email=self.email, defaults={"verified": True, "primary": True}
            )
            self.save()


def give_staff_identity(user, *, bvn=None, phone=None, bank_code="044", account_number=None):
    """A staff identity that matches no factory member (BVN 33…, phone +234909…, bank 044)
    unless told otherwise; written directly (the service refuses tests' self-made staff)."""
    from core.crypto import bvn_blind_index, pii_cipher
    from members.models import StaffIdentity

    bvn = bvn or f"33{user.pk:09d}"
    identity, _ = StaffIdentity.objects.update_or_create(
        user=user,
        defaults={
            "bvn_encrypted": pii_cipher().encrypt(bvn),
            "bvn_hash": bvn_blind_index(bvn),
            "bvn_last4": bvn[-4:],
            "phone": phone or f"+234909{user.pk:07d}",
            "bank_code": bank_code,
            "account_number": account_number or make_valid_nuban(bank_code, f"7{user.pk:08d}"),
        },
    )
    return identity


def _staff(role):
    def make(*, identity=True, **kwargs):
        user = UserFactory(is_staff=True, **kwargs)
        user.groups.add(Group.objects.get(name=role))
        if identity:
            give_staff_identity(user)
        return User.objects.get(pk=user.pk)  # fresh permission cache

    return make


make_officer = _staff(LOAN_OFFICERS)
make_finance = _staff(FINANCE)
make_admin = _staff(ADMINISTRATORS)


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    full_name = factory.LazyFunction(lambda: f"{fake.first_name()} {fake.last_name()}")
    date_of_birth = date(2000, 5, 17)
    phone = factory.Sequence(lambda n: f"+234803{n:07d}")
    state_code = factory.Sequence(lambda n: f"LA/25A/{n + 1000:04d}")
    batch = "A"
    deployment_state = "LA"
    ppa_name = "Government Secondary School, Ikeja"
    service_start = date(2025, 3, 1)
    passing_out = date(2026, 3, 1)
    bank_code = "058"
    account_number = factory.Sequence(lambda n: make_valid_nuban("058", f"{n:09d}"))
    kyc_status = KycStatus.VERIFIED

    @factory.post_generation
    def bvn(self, create, extracted, **kwargs):
        set_bvn(self, extracted or f"22{self.pk or 0:09d}"[-11:].rjust(11, "2"))
        if create:
            self.save()


# --- Loans through the real services -----------------------------------------------------

on_commit = TestCase.captureOnCommitCallbacks


def product(**overrides) -> LoanProduct:
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


def eligible_member(**overrides) -> Member:
    """A verified member the assessment passes: serving until late 2027, a large allowance."""
    values = {"passing_out": date(2027, 12, 1), "monthly_allowance": 300_000_00, **overrides}
    return MemberFactory(**values)


def submitted_application(
    *,
    member: Member | None = None,
    loan_product: LoanProduct | None = None,
    amount: int = 60_000_00,
    tenure: int = 3,
    assess: bool = True,
    user_agent: str = "",
    **product_terms,
) -> Application:
    """An application the member started and submitted with consent to its key facts;
    assessed (in review) unless ``assess=False``. A new ``product(**product_terms)`` unless
    ``loan_product`` is given."""
    member = member or eligible_member()
    application = loan_services.start_application(
        member=member,
        actor=member.user,
        product=loan_product or product(**product_terms),
        amount=amount,
        tenure=tenure,
    )
    loan_services.submit_application(
        application=application,
        actor=member.user,
        consent=True,
        shown_hash=application.key_facts_hash,
        ip=None,
        user_agent=user_agent,
    )
    if assess:
        loan_services.assess_application(application_id=application.pk)
    application.refresh_from_db()
    return application


def approved_loan(*, amount=60_000_00, tenure=3, member=None, officer=None, **terms) -> Loan:
    """A loan an officer approved, with the member's payout account confirmed (ready to pay
    out). ``terms``: ``loan_product`` or the product's terms, as ``submitted_application``."""
    member = member or eligible_member()
    application = submitted_application(member=member, amount=amount, tenure=tenure, **terms)
    loan_services.approve_application(application=application, actor=officer or make_officer())
    member.mark_payout_confirmed(member.full_name)
    member.save()
    return application.loan


def active_loan(*, finance=None, bank_reference="FT-TEST-0001", **kwargs) -> Loan:
    """An approved loan paid out by finance (recorded as a manual disbursement)."""
    loan = approved_loan(**kwargs)
    payment_services.record_manual_disbursement(
        loan=loan, actor=finance or make_finance(), bank_reference=bank_reference
    )
    loan.refresh_from_db()
    return loan


def schedule_outstanding(loan) -> int:
    return sum(i.outstanding for i in loan.installments.all())
