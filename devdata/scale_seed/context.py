"""The fixed data a scale seed draws from: names, states, products, officers (``Context``)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from core.crypto import bvn_blind_index, pii_cipher
from devdata import loans as loan_demo
from loans.key_facts import key_facts_hash
from loans.models import LoanProduct
from loans.schedule import build_schedule
from members.models import User
from members.roles import LOAN_OFFICERS

EMAIL_DOMAIN = "members.allaweeplus.test"
OFFICER_DOMAIN = "staff.allaweeplus.test"
SEED_PASSWORD = "allawee-scale-2026"  # noqa: S105 - fake accounts for load tests only
OFFICERS = 12

FIRST_NAMES = (
    "Adebayo Adaeze Aisha Abubakar Chiamaka Chukwuemeka Emeka Fatima Folake Ibrahim Ifeoma "
    "Kelechi Kemi Musa Ngozi Nnamdi Oluwaseun Olamide Tunde Yetunde Zainab Babatunde Chinedu "
    "Amina Usman Temitope Chidinma Obinna Halima Sadiq Bukola Ikechukwu Nneka Segun Hauwa "
    "Uchenna Damilola Aminu Precious Blessing Godwin Efosa Osagie Ebube Tobiloba Yakubu Jumoke "
    "Funmilayo Ahmed Maryam Somtochukwu Eniola Oghenekaro Ejiro Tamuno Ibiere Nkechi Ayodele"
).split()
SURNAMES = (
    "Adeyemi Okafor Bello Abdullahi Eze Okonkwo Ogunleye Mohammed Nwosu Balogun Adewale Ibekwe "
    "Danjuma Olaniyan Chukwu Yusuf Obi Oyelaran Garba Nwachukwu Akinola Umeh Lawal Ojo Aliyu "
    "Okoro Salami Ikenna Fashola Anyanwu Suleiman Ogbonna Ajayi Iwu Shehu Ezeh Oladipo Nnadi "
    "Tijani Emenike Idowu Onyeka Ahmadu Uzor Babangida Okeke Ekpo Bassey Effiong Edet Amadi "
    "Oputa Igwe Osagie Omoregie Ighodaro Agbaje Ogundipe Danladi Kalu Orji Ukpabi Ndukwe"
).split()
PPAS = (
    "Government Secondary School",
    "Community High School",
    "General Hospital",
    "Primary Health Centre",
    "Local Government Secretariat",
    "Ministry of Education",
    "Federal Medical Centre",
    "State Polytechnic",
    "Model College",
    "Comprehensive High School",
)
PHONE_PREFIXES = ("703", "706", "803", "806", "810", "813", "816", "903", "906", "913")
# Where corps members are posted is not uniform: Lagos, FCT and the big southern and northern
# states take more of each batch.
STATE_WEIGHTS = {"LA": 9, "FC": 6, "OY": 4, "RV": 4, "KN": 4, "KD": 3, "OG": 3, "ED": 3, "DT": 3}
BATCH_START_MONTH = {"A": 3, "B": 7, "C": 11}


def weighted(rng: random.Random, choices: list[tuple[object, float]]):
    return rng.choices([c for c, _ in choices], [w for _, w in choices])[0]


# --- Tables and writers -------------------------------------------------------------------


@dataclass
class Context:
    """Everything a batch needs that does not change between batches."""

    now: datetime
    today: date
    products: list
    officers: list[int]
    password_hash: str
    cipher: object
    blind_index: object
    schedules: dict = field(default_factory=dict)
    hashes: dict = field(default_factory=dict)

    def facts_hash(self, facts: dict) -> str:

        key = (facts["product"], facts["principal"], facts["tenure_months"])
        if key not in self.hashes:
            self.hashes[key] = key_facts_hash(facts)
        return self.hashes[key]

    def schedule(self, product, amount: int, tenure: int):
        """Amounts are whole ₦5,000 steps, so there are few distinct schedules: build each
        once with the real engine and reuse its kobo figures."""
        key = (product.pk, amount, tenure)
        if key not in self.schedules:
            schedule = build_schedule(
                product.terms(principal=amount, tenure_months=tenure, start_date=date(2026, 1, 5))
            )
            self.schedules[key] = schedule
        return self.schedules[key]


def member_email(index: int) -> str:
    return f"corper{index:07d}@{EMAIL_DOMAIN}"


def build_context(now: datetime | None = None) -> Context:
    from allauth.account.models import EmailAddress
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    loan_demo.seed()
    products = list(LoanProduct.objects.filter(is_active=True).order_by("pk"))
    group = Group.objects.filter(name=LOAN_OFFICERS).first()
    officers = []
    for n in range(1, OFFICERS + 1):
        user, created = User.objects.get_or_create(
            email=f"officer{n:02d}@{OFFICER_DOMAIN}",
            defaults={"is_staff": True, "display_name": f"Scale officer {n}"},
        )
        if created:
            user.set_password(SEED_PASSWORD)
            user.save(update_fields=["password"])
            if group is not None:
                user.groups.add(group)
        # A verified address, as staff made by an administrator have: with mandatory
        # verification an unverified officer would be sent a confirmation at every sign-in.
        EmailAddress.objects.update_or_create(
            user=user, email=user.email, defaults={"verified": True, "primary": True}
        )
        officers.append(user.pk)
    now = now or datetime.now(UTC)
    return Context(
        now=now,
        today=now.date(),
        products=products,
        officers=officers,
        # One Argon2 hash shared by every seeded member, so a load test can log any of them
        # in; hashing 500,000 passwords separately would take hours and prove nothing.
        password_hash=make_password(SEED_PASSWORD),
        cipher=pii_cipher(),
        blind_index=bvn_blind_index,
    )


def month_add(day: date, months: int, due_day: int) -> date:
    month = day.month - 1 + months
    return date(day.year + month // 12, month % 12 + 1, due_day)
