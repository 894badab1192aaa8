"""Fake but realistic demo people. Never real people: names come from Faker's en_NG locale."""

import random
from datetime import date, timedelta

from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.db import transaction
from faker import Faker

from core.clock import lagos_today
from core.crypto import bvn_blind_index, pii_cipher
from members.models import KycStatus, Member, StaffIdentity, User
from members.roles import ADMINISTRATORS, FINANCE, LOAN_OFFICERS
from members.service_year import ServiceBatch
from members.services import set_bvn
from members.validators import NYSC_STATES, make_valid_nuban

DEMO_PASSWORD = "allawee-demo-2026"  # noqa: S105 - printed for the local demo only
STAFF = [
    ("officer@allaweeplus.test", "Ngozi Okafor (loan officer)", [LOAN_OFFICERS], False),
    ("officer2@allaweeplus.test", "Tunde Bakare (loan officer)", [LOAN_OFFICERS], False),
    ("finance@allaweeplus.test", "Aisha Bello (finance)", [FINANCE], False),
    ("admin@allaweeplus.test", "Emeka Eze (administrator)", [ADMINISTRATORS], True),
]
DEMO_MEMBER = "member@allaweeplus.test"
PPAS = [
    "Government Secondary School",
    "General Hospital",
    "Local Government Secretariat",
    "Community Health Centre",
    "Federal Ministry of Agriculture office",
    "Model Primary School",
]
BANK_CODES = ["044", "058", "033", "057", "011", "070", "232", "035", "214", "032"]


def _user(email, password, *, name="", staff=False, superuser=False):
    user, created = User.objects.get_or_create(
        email=email, defaults={"display_name": name, "is_staff": staff, "is_superuser": superuser}
    )
    if created:
        user.set_password(password)
        user.save()
    EmailAddress.objects.get_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


def _staff_identity(user, index):
    """Fake staff identities (BVN 9…, phone +234905…, bank 011) that no demo member shares,
    so the demo officers and finance user may decide (maker-checker needs an identity)."""

    bvn = f"9{index:010d}"
    StaffIdentity.objects.get_or_create(
        user=user,
        defaults={
            "bvn_encrypted": pii_cipher().encrypt(bvn),
            "bvn_hash": bvn_blind_index(bvn),
            "bvn_last4": bvn[-4:],
            "phone": f"+234905{index:07d}",
            "bank_code": "011",
            "account_number": make_valid_nuban("011", f"9{index:08d}"),
        },
    )


def estimate_calendar_through(day: date) -> None:
    """Make sure the calendar reaches ``day``: past the shipped years, each new year repeats
    the last known year's pattern (same months, same streams), marked unannounced, so a demo
    run years from now still has batches serving and batches that have passed out."""
    while True:
        last = ServiceBatch.objects.order_by("-year").values_list("year", flat=True).first()
        if last is None or ServiceBatch.objects.filter(passing_out__gte=day).exists():
            return
        for entry in ServiceBatch.objects.filter(year=last):
            ServiceBatch.objects.get_or_create(
                year=last + 1,
                batch=entry.batch,
                stream=entry.stream,
                defaults={
                    "orientation_start": _next_year(entry.orientation_start),
                    "passing_out": _next_year(entry.passing_out),
                },
            )


def _next_year(day: date) -> date:
    return day.replace(year=day.year + 1, day=min(day.day, 28) if day.month == 2 else day.day)


def _serving_batches(today: date, *, demo: bool) -> list[ServiceBatch]:
    """Calendar entries of corps members serving today. The demo member is in the batch that
    started last, so they can take the longest demo loan on any day: it passes out 9 to 12
    months ahead (10 or more, except between December's and March's orientations, the
    calendar's longest gap). The others pass out anywhere from 2 to 13 months ahead."""
    estimate_calendar_through(today + timedelta(days=400))
    serving = ServiceBatch.objects.filter(
        orientation_start__lte=today,
        passing_out__gte=today + timedelta(days=60),
        passing_out__lte=today + timedelta(days=400),
    ).order_by("-orientation_start")
    return list(serving[:1] if demo else serving)


def assign_batch(member: Member, service: ServiceBatch, *, serial: int) -> None:
    """Put a demo member in ``service``'s batch: the state code, the batch letter and stream,
    and the service dates all come from the calendar entry (nothing typed by hand)."""
    year = service.year % 100
    member.state_code = (
        f"{member.deployment_state}/{year:02d}{service.batch}{service.stream}/{serial:04d}"
    )
    member.batch = service.batch
    member.stream = service.stream
    member.service_batch = service
    member.service_start = service.orientation_start
    member.passing_out = service.passing_out


def _fill_member(member, fake, rng, index, status):
    state = rng.choice(list(NYSC_STATES))
    service = rng.choice(_serving_batches(lagos_today(), demo=index == 1))
    member.full_name = f"{fake.first_name()} {fake.last_name()}"
    member.date_of_birth = date(1997, 1, 1) + timedelta(days=rng.randrange(0, 2500))
    prefix = rng.choice(["803", "806", "813", "816", "703", "706", "810", "903", "907", "915"])
    member.phone = f"+234{prefix}{index:07d}"
    member.deployment_state = state
    member.ppa_name = f"{rng.choice(PPAS)}, {NYSC_STATES[state]}"
    assign_batch(member, service, serial=1000 + index)
    member.other_income = rng.choice([0, 0, 0, 20_000_00, 50_000_00])
    member.bank_code = rng.choice(BANK_CODES)
    member.account_number = make_valid_nuban(member.bank_code, f"{index:09d}")
    set_bvn(member, f"2{index:010d}")
    member.kyc_status = status
    if status == KycStatus.REJECTED:
        member.kyc_rejection_reason = "The call-up letter is not readable; upload a clearer scan."
    member.save()


@transaction.atomic
def seed_members(*, count: int = 24, stdout=None) -> list[tuple[str, str]]:
    fake = Faker("en_NG")
    Faker.seed(2026)
    rng = random.Random(2026)
    logins = []
    for index, (email, name, roles, superuser) in enumerate(STAFF, start=1):
        user = _user(email, DEMO_PASSWORD, name=name, staff=True, superuser=superuser)
        user.groups.add(*Group.objects.filter(name__in=roles))
        _staff_identity(user, index)
        logins.append((email, ", ".join(roles)))

    demo = _user(DEMO_MEMBER, DEMO_PASSWORD)
    member, created = Member.objects.get_or_create(user=demo)
    if created or not member.full_name:
        _fill_member(member, fake, rng, 1, KycStatus.VERIFIED)
    logins.append((DEMO_MEMBER, "Member (KYC verified)"))

    statuses = (
        [KycStatus.VERIFIED] * 12
        + [KycStatus.SUBMITTED] * 5
        + [KycStatus.REJECTED] * 2
        + [KycStatus.INCOMPLETE] * 5
    )
    for index in range(2, count + 2):
        email = f"corper{index:03d}@allaweeplus.test"
        user = _user(email, DEMO_PASSWORD)
        member, created = Member.objects.get_or_create(user=user)
        if created:
            status = statuses[(index - 2) % len(statuses)]
            if status == KycStatus.INCOMPLETE and index % 2:
                member.full_name = f"{fake.first_name()} {fake.last_name()}"
                member.save()
            else:
                _fill_member(member, fake, rng, index, status)
    return logins
