"""Fake but realistic data at scale, written fast: PostgreSQL ``COPY``, ``bulk_create`` elsewhere.

``manage.py seed_scale --members N`` builds N corps members and what their lives with us
leave behind: verified e-mail addresses, loan applications with their history, loans with
their schedules, repayments (checkout payments arrive as webhook events) and the audit trail.
Nobody here is a real person: names come from hand lists of common Nigerian first names and
surnames, e-mail addresses end in ``.test``, BVNs are sequential numbers encrypted with the
configured PII keys exactly as sign-up stores them.

Members are written in batches of ``batch_size``; each batch is one transaction, generated
from a random number generator seeded with the batch number, and recognised by the e-mail
address of its first member. A batch already in the database is skipped, so a run that was
interrupted continues where it stopped, and a second run (or a run with a larger N) adds only
what is missing.

What is simplified: the ledger is not seeded (journal entries and postings would double the
row count; the ledger has its own benchmarks), and the key facts snapshot leaves out the
boilerplate paragraphs (late-fee wording, complaints) the real statement carries.
"""

from __future__ import annotations

import json
import random
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db import connection, models, transaction

from core import partitions
from core.crypto import bvn_blind_index, pii_cipher
from core.models import AuditEvent
from devdata import loans as loan_demo
from loans.models import Application, ApplicationHistory, Installment, Loan, LoanProduct
from loans.schedule import build_schedule, due_dates
from loans.services import key_facts_hash
from members.banks import BANKS
from members.models import Member, User
from members.roles import LOAN_OFFICERS
from members.validators import NYSC_STATES, make_valid_nuban
from payments.models import Payment, WebhookEvent, WebhookEventKey

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


def _weighted(rng: random.Random, choices: list[tuple[object, float]]):
    return rng.choices([c for c, _ in choices], [w for _, w in choices])[0]


# --- Tables and writers -------------------------------------------------------------------


@dataclass
class Table:
    """The rows of one model for one batch, as dicts of column values (attnames)."""

    model: type[models.Model]
    rows: list[dict] = field(default_factory=list)

    def __post_init__(self):
        meta = self.model._meta
        self.columns = [f.attname for f in meta.concrete_fields]
        self.json_columns = {f.attname for f in meta.concrete_fields if _is_json(f)}
        self.defaults = {}
        for f in meta.concrete_fields:
            if f.has_default():
                default = f.get_default()
                self.defaults[f.attname] = default
            elif f.null:
                self.defaults[f.attname] = None
            elif isinstance(f, (models.CharField, models.TextField)):
                self.defaults[f.attname] = ""

    def add(self, **values) -> dict:
        row = {**self.defaults, **values}
        self.rows.append(row)
        return row


def _is_json(f) -> bool:
    return isinstance(f, models.JSONField)


class IdAllocator:
    """Primary keys handed out before the rows are written, so foreign keys can point at
    rows of the same batch. PostgreSQL: from the table's own sequence (safe alongside
    concurrent inserts); SQLite (one writer): after the current maximum."""

    def __init__(self):
        self._next: dict[str, int] = {}

    def take(self, model, count: int) -> list[int]:
        if count == 0:
            return []
        table = model._meta.db_table
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                    [table, count],
                )
                return [row[0] for row in cursor.fetchall()]
            if table not in self._next:
                cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608
                self._next[table] = cursor.fetchone()[0] + 1
        first = self._next[table]
        self._next[table] = first + count
        return list(range(first, first + count))

    def forget(self):
        self._next.clear()


def write_copy(tables: list[Table]) -> int:
    """PostgreSQL ``COPY … FROM STDIN`` (psycopg 3), one stream per table, in FK order."""
    written = 0
    with connection.cursor() as cursor:
        for table in tables:
            if not table.rows:
                continue
            columns = table.columns
            names = ", ".join(connection.ops.quote_name(c) for c in _db_columns(table))
            quoted = connection.ops.quote_name(table.model._meta.db_table)
            json_idx = [i for i, c in enumerate(columns) if c in table.json_columns]
            with cursor.cursor.copy(f"COPY {quoted} ({names}) FROM STDIN") as copy:
                for row in table.rows:
                    values = [row[c] for c in columns]
                    for i in json_idx:
                        values[i] = json.dumps(values[i])
                    copy.write_row(values)
            written += len(table.rows)
    return written


def _db_columns(table: Table) -> list[str]:
    by_attname = {f.attname: f.column for f in table.model._meta.concrete_fields}
    return [by_attname[c] for c in table.columns]


def write_bulk(tables: list[Table], batch_size: int = 2000) -> int:
    """``bulk_create`` of model instances (SQLite, and the baseline the COPY path is
    measured against)."""
    written = 0
    for table in tables:
        if not table.rows:
            continue
        table.model.objects.bulk_create(
            [table.model(**row) for row in table.rows], batch_size=batch_size
        )
        written += len(table.rows)
    return written


@contextmanager
def explicit_timestamps(*model_classes):
    """``bulk_create`` fills ``auto_now``/``auto_now_add`` with the current time; seeded rows
    carry their own history, so switch that off while they are written."""
    saved = []
    for model in model_classes:
        for f in model._meta.concrete_fields:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                saved.append((f, f.auto_now, f.auto_now_add))
                f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


# --- What one batch of members looks like --------------------------------------------------


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


def _month_add(day: date, months: int, due_day: int) -> date:
    month = day.month - 1 + months
    return date(day.year + month // 12, month % 12 + 1, due_day)


def build_batch(ctx: Context, ids: IdAllocator, first: int, count: int) -> list[Table]:
    """Rows for members ``first … first + count - 1``, in the order they must be written."""
    from allauth.account.models import EmailAddress

    rng = random.Random(first)  # the same batch always gets the same people
    users, emails, members = Table(User), Table(EmailAddress), Table(Member)
    applications, history = Table(Application), Table(ApplicationHistory)
    loans, installments = Table(Loan), Table(Installment)
    payments, webhooks, audits = Table(Payment), Table(WebhookEvent), Table(AuditEvent)

    states = [(code, STATE_WEIGHTS.get(code, 1)) for code in NYSC_STATES]
    banks = [b for b in BANKS if b.has_nuban_check_digit]
    user_ids = ids.take(User, count)
    member_ids = ids.take(Member, count)
    email_ids = ids.take(EmailAddress, count)

    plans = []  # (member row, user id, [application plans])
    for n in range(count):
        index = first + n
        user_id, member_id = user_ids[n], member_ids[n]
        # Unique by construction for the first 18 million indexes: the serial, the
        # year/batch and the stream digit all come from the index; the state is drawn.
        block, serial = divmod(index, 100_000)
        year = 20 + (block % 18) // 3
        batch = "ABC"[block % 3]
        stream = block // 18
        state = _weighted(rng, states)
        state_code = f"{state}/{year}{batch}{stream or ''}/{serial:05d}"
        start = date(2000 + year, BATCH_START_MONTH[batch], 1) + timedelta(days=rng.randint(0, 20))
        passing_out = _month_add(start, 12, start.day)
        created = datetime.combine(start, datetime.min.time(), UTC) + timedelta(
            days=rng.randint(0, 60), seconds=rng.randint(0, 86399)
        )
        created = min(created, ctx.now - timedelta(hours=1))
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"
        email = member_email(index)
        kyc = _weighted(
            rng, [("verified", 72), ("submitted", 8), ("incomplete", 15), ("rejected", 5)]
        )
        users.add(
            id=user_id,
            password=ctx.password_hash,
            email=email,
            display_name=name,
            is_active=True,
            is_staff=False,
            is_superuser=False,
            date_joined=created,
            last_login=created + timedelta(days=rng.randint(0, 200)),
        )
        emails.add(id=email_ids[n], user_id=user_id, email=email, verified=True, primary=True)
        bvn = f"22{index:09d}"
        bank = rng.choice(banks)
        complete = kyc != "incomplete"
        member = members.add(
            id=member_id,
            user_id=user_id,
            created_at=created,
            updated_at=created + timedelta(days=rng.randint(0, 30)),
            full_name=name,
            date_of_birth=date(2000 + year - rng.randint(22, 29), rng.randint(1, 12), 15),
            phone=f"+234{PHONE_PREFIXES[index % len(PHONE_PREFIXES)]}{index:07d}",
            bvn_encrypted=ctx.cipher.encrypt(bvn) if complete else "",
            bvn_hash=ctx.blind_index(bvn) if complete else None,
            bvn_last4=bvn[-4:] if complete else "",
            state_code=state_code,
            batch=batch,
            stream=stream or None,
            deployment_state=state,
            ppa_name=f"{rng.choice(PPAS)}, {NYSC_STATES[state]}" if complete else "",
            service_start=start,
            passing_out=passing_out,
            monthly_allowance=(77_000_00 if year >= 25 else 33_000_00),
            other_income=rng.choice((0, 0, 0, 20_000_00, 50_000_00)),
            bank_code=bank.code if complete else "",
            account_number=make_valid_nuban(bank.code, f"{index:09d}") if complete else "",
            account_name=name.upper() if complete else "",
            account_name_confirmed=complete,
            confirmed_bank_code=bank.code if complete else "",
            confirmed_account_number=make_valid_nuban(bank.code, f"{index:09d}")
            if complete
            else "",
            kyc_status=kyc,
            kyc_reviewed_by_id=rng.choice(ctx.officers)
            if kyc in ("verified", "rejected")
            else None,
            kyc_reviewed_at=created + timedelta(days=2)
            if kyc in ("verified", "rejected")
            else None,
            kyc_rejection_reason="ID card unreadable" if kyc == "rejected" else "",
        )
        plans.append((member, user_id, _application_plans(rng, ctx, kyc, created, passing_out)))

    app_ids = ids.take(Application, sum(len(p[2]) for p in plans))
    loan_count = sum(1 for p in plans for a in p[2] if a["status"] == "approved")
    loan_ids = iter(ids.take(Loan, loan_count))
    app_iter = iter(app_ids)
    for member, user_id, app_plans in plans:
        for plan in app_plans:
            app_id = next(app_iter)
            _add_application(
                ctx, rng, member, user_id, app_id, plan, applications, history, audits, loans,
                installments, payments, webhooks, loan_ids,
            )  # fmt: skip
    # Children reference ids known only now (history, installments, payments, events).
    for table in (history, installments, payments, webhooks, audits):
        for row, pk in zip(table.rows, ids.take(table.model, len(table.rows)), strict=True):
            row["id"] = pk
    for row in audits.rows:
        target = row.pop("_object", None)
        if target is not None:
            row["object_id"] = str(target["id"])
    # Each stored event's key (its uniqueness, see payments.models.WebhookEventKey).
    webhook_keys = Table(WebhookEventKey)
    for row, pk in zip(webhooks.rows, ids.take(WebhookEventKey, len(webhooks.rows)), strict=True):
        webhook_keys.add(
            id=pk, provider=row["provider"], event_id=row["event_id"], webhook_id=row["id"],
            received_at=row["received_at"],
        )  # fmt: skip
    return [users, emails, members, applications, history, loans, installments, payments,
            webhooks, webhook_keys, audits]  # fmt: skip


def _application_plans(rng, ctx: Context, kyc, joined: datetime, passing_out: date):
    """Zero to three applications, oldest first; only the newest may still be open."""
    if kyc != "verified":
        return [{"status": "draft", "at": joined + timedelta(days=1)}] if rng.random() < 0.3 else []
    count = _weighted(rng, [(0, 15), (1, 45), (2, 28), (3, 12)])
    plans, at = [], joined + timedelta(days=rng.randint(3, 40))
    for n in range(count):
        last = n == count - 1
        if at >= ctx.now:
            break
        weights = [("approved", 64), ("rejected", 20), ("cancelled", 5)]
        if last:
            weights += [("in_review", 7), ("submitted", 2), ("draft", 2)]
        plans.append({"status": _weighted(rng, weights), "at": at})
        at += timedelta(days=rng.randint(70, 150))
    return plans


def _add_application(
    ctx, rng, member, user_id, app_id, plan, applications, history, audits, loans,
    installments, payments, webhooks, loan_ids,
):  # fmt: skip
    product = rng.choice(ctx.products)
    tenures = list(product.tenures)
    tenure = rng.choice(tenures)
    steps = (product.max_principal - product.min_principal) // 5_000_00
    amount = product.min_principal + 5_000_00 * min(int(rng.expovariate(1 / (steps / 3))), steps)
    schedule = ctx.schedule(product, amount, tenure)
    status, created = plan["status"], plan["at"]
    submitted = created + timedelta(minutes=rng.randint(2, 90)) if status != "draft" else None
    decided = (
        submitted + timedelta(hours=rng.randint(1, 72))
        if status in ("approved", "rejected", "cancelled")
        else None
    )
    officer = rng.choice(ctx.officers)
    reference = f"AS{app_id:09d}"
    flagged = rng.random() < 0.04
    facts = {
        "version": 1,
        "product": product.name,
        "principal": amount,
        "tenure_months": tenure,
        "fee": schedule.total_fees,
        "disbursed_amount": schedule.disbursed_amount,
        "total_interest": schedule.total_interest,
        "total_repayable": schedule.total_repayable,
        "apr": str(schedule.apr),
        "terms": {
            "method": product.interest_method,
            "monthly_rate": str(product.monthly_rate),
            "fee_percent": str(product.fee_percent),
            "fee_fixed": product.fee_fixed,
            "fee_treatment": product.fee_treatment,
            "due_day": product.due_day,
            "late_fee_percent_per_day": str(product.late_fee_percent_per_day),
            "late_fee_cap_percent": str(product.late_fee_cap_percent),
            "grace_days": product.grace_days,
            "cooling_off_days": product.cooling_off_days,
        },
    }
    recommendation = (
        ""
        if status in ("draft", "submitted")
        else rng.choice(("approve", "approve", "approve", "refer", "reject"))
    )
    applications.add(
        id=app_id,
        reference=reference,
        member_id=member["id"],
        product_id=product.pk,
        amount=amount,
        tenure_months=tenure,
        status=status,
        created_at=created,
        updated_at=decided or submitted or created,
        submitted_at=submitted,
        decided_at=decided,
        key_facts=facts,
        key_facts_hash=ctx.facts_hash(facts),
        consent_at=submitted,
        consent_ip=f"102.89.32.{rng.randint(1, 254)}" if submitted else None,
        consent_user_agent="Mozilla/5.0 (Linux; Android 13) Mobile" if submitted else "",
        assessment=[] if recommendation == "" else [{"rule": "kyc_verified", "passed": True}],
        recommendation=recommendation,
        flags=["same_phone"] if flagged else [],
        is_flagged=flagged,
        assessed_at=submitted + timedelta(seconds=2) if recommendation else None,
        approved_amount=amount if status == "approved" else None,
        approved_tenure=tenure if status == "approved" else None,
        decision_reason="Installment above a third of your income." if status == "rejected" else "",
        deployment_state=member["deployment_state"],
        applicant_name=member["full_name"],
    )
    chain = {
        "draft": ["draft"],
        "submitted": ["draft", "submitted"],
        "in_review": ["draft", "submitted", "in_review"],
        "approved": ["draft", "submitted", "in_review", "approved"],
        "rejected": ["draft", "submitted", "in_review", "rejected"],
        "cancelled": ["draft", "submitted", "in_review", "cancelled"],
    }[status]
    previous = ""
    for step, to_status in enumerate(chain):
        at = {0: created, 1: submitted, 2: (submitted or created) + timedelta(seconds=2)}.get(
            step, decided
        )
        actor = user_id if to_status in ("draft", "submitted", "cancelled") else None
        actor = officer if to_status in ("approved", "rejected") else actor
        history.add(
            application_id=app_id, created_at=at, actor_id=actor, from_status=previous,
            to_status=to_status,
        )  # fmt: skip
        if to_status != "in_review":
            audits.add(
                created_at=at, actor_id=actor, action=f"application.{to_status}",
                object_type="loans.application", object_id=str(app_id), object_repr=reference,
                changes={"from": previous, "to": to_status},
            )  # fmt: skip
        previous = to_status
    if status == "approved":
        _add_loan(ctx, rng, member, app_id, product, amount, tenure, schedule, decided, officer,
                  loans, installments, payments, webhooks, audits, next(loan_ids))  # fmt: skip


def _add_loan(ctx, rng, member, app_id, product, amount, tenure, schedule, approved_at, officer,
              loans, installments, payments, webhooks, audits, loan_id):  # fmt: skip

    disbursed_at = approved_at + timedelta(hours=rng.randint(2, 30))
    pending = (
        disbursed_at >= ctx.now
        or rng.random() < 0.01
        and approved_at > ctx.now - timedelta(days=10)
    )
    disbursed_on = None if pending else disbursed_at.date()
    start = disbursed_on or ctx.today
    dues = due_dates(start, tenure, product.due_day)
    # How this borrower repays: most on time, some late, a few stop paying.
    behaviour = _weighted(rng, [("good", 80), ("late", 13), ("default", 7)])
    reference = f"LS{loan_id:09d}"
    status, arrears_since, closed_at = "pending_disbursement", None, None
    inst_rows = []
    for k, parts in enumerate(schedule.installments):
        due = dues[k]
        total = parts.principal + parts.interest + parts.fee
        row = {
            "loan_id": loan_id, "number": k + 1, "due_date": due, "principal": parts.principal,
            "interest": parts.interest, "fee": parts.fee, "status": "pending",
            "late_fee_from": due + timedelta(days=product.grace_days + 1),
            "late_fee_daily_ppm": int(product.late_fee_percent_per_day * 1_000_000),
            "late_fee_cap": int(Decimal(total) * product.late_fee_cap_percent),
        }  # fmt: skip
        paid_at = None
        if not pending and due < ctx.today:
            stops = behaviour == "default" and k >= tenure // 2
            if stops:
                row["status"] = "overdue"
                days_late = (ctx.today - row["late_fee_from"]).days
                if days_late > 0:
                    daily = total * row["late_fee_daily_ppm"] // 1_000_000
                    row["late_fee"] = min(daily * days_late, row["late_fee_cap"])
                arrears_since = arrears_since or due
            else:
                late_days = rng.randint(1, 20) if behaviour == "late" else rng.randint(-5, 0)
                paid_at = datetime.combine(due, datetime.min.time(), UTC) + timedelta(
                    days=late_days, hours=rng.randint(7, 21)
                )
                paid_at = min(paid_at, ctx.now - timedelta(minutes=5))
                row.update(
                    status="paid", paid_at=paid_at, paid_principal=parts.principal,
                    paid_interest=parts.interest, paid_fee=parts.fee,
                )  # fmt: skip
        inst_rows.append(row)
        if paid_at is not None:
            _add_payment(ctx, rng, member, loan_id, total, paid_at, payments, webhooks, audits)
    if not pending:
        all_paid = all(r["status"] == "paid" for r in inst_rows)
        status = "closed" if all_paid else "active"
        if status == "active" and arrears_since and (ctx.today - arrears_since).days > 180:
            status = "written_off"
        if all_paid:
            closed_at = max(r["paid_at"] for r in inst_rows)
    for row in inst_rows:
        installments.add(**row)
    loans.add(
        id=loan_id, reference=reference, application_id=app_id, member_id=member["id"],
        product_id=product.pk, principal=amount, tenure_months=tenure,
        interest_method=product.interest_method, monthly_rate=product.monthly_rate,
        fee_amount=schedule.total_fees, fee_treatment=product.fee_treatment,
        disbursed_amount=schedule.disbursed_amount, total_interest=schedule.total_interest,
        total_repayable=schedule.total_repayable, apr=schedule.apr, status=status,
        created_at=approved_at, approved_at=approved_at,
        disbursed_at=None if pending else disbursed_at, disbursed_on=disbursed_on,
        closed_at=closed_at, cooling_off_until=approved_at.date() + timedelta(days=3),
        officer_id=officer, arrears_since=arrears_since if status == "active" else None,
    )  # fmt: skip
    audits.add(
        created_at=approved_at, actor_id=officer, action="loan.created",
        object_type="loans.loan", object_id=str(loan_id), object_repr=reference,
        changes={"principal": amount, "total_repayable": schedule.total_repayable},
    )  # fmt: skip
    if not pending:
        audits.add(
            created_at=disbursed_at, actor_id=None, action="loan.disbursed",
            object_type="loans.loan", object_id=str(loan_id), object_repr=reference,
            changes={"amount": schedule.disbursed_amount},
        )  # fmt: skip


def _add_payment(ctx, rng, member, loan_id, amount, paid_at, payments, webhooks, audits):
    channel = _weighted(
        rng, [("checkout", 50), ("allowance", 30), ("bank_transfer", 15), ("manual", 5)]
    )
    provider = {"checkout": "paystack", "allowance": "remita"}.get(channel, "manual")
    # A failed checkout attempt before some successful ones (card declined, then retried).
    attempts = (
        ["failed", "successful"]
        if channel == "checkout" and rng.random() < 0.08
        else ["successful"]
    )
    for status in attempts:
        reference = f"SP{loan_id:09d}{len(payments.rows):06d}{rng.randint(0, 99999):05d}"
        payment = payments.add(
            reference=reference, provider=provider, channel=channel, loan_id=loan_id,
            member_id=member["id"], amount=amount, status=status,
            raw_payload={"reference": reference, "status": status} if provider == "paystack"
            else {},
            created_at=paid_at - timedelta(minutes=3), received_at=paid_at,
            evidence=f"TRF/{rng.randint(10**9, 10**10 - 1)}" if channel == "manual" else "",
            reason="Transfer seen on the statement" if channel == "manual" else "",
        )  # fmt: skip
        if channel == "checkout":
            event = "charge.success" if status == "successful" else "charge.failed"
            webhooks.add(
                provider="paystack", event_id=f"evt_{reference.lower()}", event_type=event,
                reference=reference,
                payload={"event": event, "data": {"reference": reference, "amount": amount}},
                received_at=paid_at + timedelta(seconds=rng.randint(1, 30)),
                processed_at=paid_at + timedelta(seconds=rng.randint(31, 60)),
                status="processed", attempts=1,
            )  # fmt: skip
        if status == "successful":
            audits.add(
                created_at=paid_at, actor_id=None, action="payment.confirmed",
                object_type="payments.payment", object_id="", object_repr=payment["reference"],
                changes={"amount": amount}, _object=payment,
            )  # fmt: skip


# --- Running ------------------------------------------------------------------------------


@dataclass
class SeedResult:
    batches_written: int = 0
    batches_skipped: int = 0
    rows: int = 0
    seconds: float = 0.0
    by_table: dict = field(default_factory=dict)


def batch_exists(first: int) -> bool:

    return User.objects.filter(email=member_email(first)).exists()


def seed(
    *, members: int, batch_size: int = 5000, method: str = "auto", progress=None, ctx=None
) -> SeedResult:

    if method == "auto":
        method = "copy" if connection.vendor == "postgresql" else "bulk"
    if method == "copy" and connection.vendor != "postgresql":
        raise ValueError("COPY needs PostgreSQL; use --method bulk")
    ctx = ctx or build_context()
    ids = IdAllocator()
    result = SeedResult()
    started = time.perf_counter()
    timestamped = (User, Member, Application, ApplicationHistory, Loan, Payment, WebhookEvent,
                   AuditEvent)  # fmt: skip
    # Seeded history goes back to the 2020 batches: make those months' partitions first so
    # COPY routes the rows straight into them instead of into the DEFAULT partitions.
    partitions.ensure_partitions(since=date(2020, 1, 1))
    for first in range(0, members, batch_size):
        count = min(batch_size, members - first)
        if batch_exists(first):
            result.batches_skipped += 1
        else:
            with transaction.atomic(), explicit_timestamps(*timestamped):
                tables = build_batch(ctx, ids, first, count)
                result.rows += (write_copy if method == "copy" else write_bulk)(tables)
            for table in tables:
                name = table.model._meta.label
                result.by_table[name] = result.by_table.get(name, 0) + len(table.rows)
            result.batches_written += 1
        if progress:
            progress(first + count, members, result)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    result.seconds = time.perf_counter() - started
    return result


class _Rollback(Exception):
    pass


def compare_writers(*, members: int = 2000, ctx=None) -> dict:
    """Write the same generated rows with ``bulk_create`` and with ``COPY``, each in a
    transaction that is rolled back, and return rows, seconds and µs per row of both."""

    ctx = ctx or build_context()
    ids = IdAllocator()
    # An index range no real run reaches, so the sample never collides with seeded rows.
    tables = build_batch(ctx, ids, 9_000_000, members)
    rows = sum(len(t.rows) for t in tables)
    timings = {}
    writers = {"bulk_create": write_bulk}
    if connection.vendor == "postgresql":
        writers["copy"] = write_copy
    timestamped = (User, Member, Application, ApplicationHistory, Loan, Payment, WebhookEvent,
                   AuditEvent)  # fmt: skip
    for name, writer in writers.items():
        try:
            with transaction.atomic(), explicit_timestamps(*timestamped):
                began = time.perf_counter()
                writer(tables)
                with connection.cursor() as cursor:
                    cursor.execute("SELECT 1")  # the writes have reached the server
                timings[name] = time.perf_counter() - began
                raise _Rollback
        except _Rollback:
            pass
        ids.forget()
    return {
        "rows": rows,
        "seconds": timings,
        "us_per_row": {k: v * 1e6 / rows for k, v in timings.items()},
        "ratio": timings["bulk_create"] / timings["copy"] if "copy" in timings else None,
    }
