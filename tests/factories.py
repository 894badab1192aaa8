from datetime import date

import factory
from django.contrib.auth.models import Group
from faker import Faker

from members.models import KycStatus, Member, User
from members.roles import ADMINISTRATORS, FINANCE, LOAN_OFFICERS
from members.services import set_bvn
from members.validators import make_valid_nuban

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
