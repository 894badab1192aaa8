"""One batch of members and what their lives leave behind, generated (not yet written)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from core.models import AuditEvent
from devdata.scale_seed.context import (
    BATCH_START_MONTH,
    FIRST_NAMES,
    PHONE_PREFIXES,
    PPAS,
    STATE_WEIGHTS,
    SURNAMES,
    Context,
    member_email,
    month_add,
    weighted,
)
from devdata.scale_seed.loan_rows import add_loan
from devdata.scale_seed.writers import IdAllocator, Table
from loans.key_facts import key_facts_terms
from loans.models import Application, ApplicationHistory, Installment, Loan
from members.banks import BANKS
from members.models import Member, User
from members.validators import NYSC_STATES, make_valid_nuban
from payments.models import Payment, WebhookEvent, WebhookEventKey


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
        state = weighted(rng, states)
        state_code = f"{state}/{year}{batch}{stream or ''}/{serial:05d}"
        start = date(2000 + year, BATCH_START_MONTH[batch], 1) + timedelta(days=rng.randint(0, 20))
        passing_out = month_add(start, 12, start.day)
        created = datetime.combine(start, datetime.min.time(), UTC) + timedelta(
            days=rng.randint(0, 60), seconds=rng.randint(0, 86399)
        )
        created = min(created, ctx.now - timedelta(hours=1))
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"
        email = member_email(index)
        kyc = weighted(
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
    count = weighted(rng, [(0, 15), (1, 45), (2, 28), (3, 12)])
    plans, at = [], joined + timedelta(days=rng.randint(3, 40))
    for n in range(count):
        last = n == count - 1
        if at >= ctx.now:
            break
        weights = [("approved", 64), ("rejected", 20), ("cancelled", 5)]
        if last:
            weights += [("in_review", 7), ("submitted", 2), ("draft", 2)]
        plans.append({"status": weighted(rng, weights), "at": at})
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
        "terms": key_facts_terms(product),
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
        add_loan(ctx, rng, member, app_id, product, amount, tenure, schedule, decided, officer,
                  loans, installments, payments, webhooks, audits, next(loan_ids))  # fmt: skip
