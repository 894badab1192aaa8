"""A seeded loan: its schedule, its repayments (checkout payments arrive as webhook events)
and their audit rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from devdata.scale_seed.context import (
    weighted,
)
from loans.schedule import due_dates


def add_loan(ctx, rng, member, app_id, product, amount, tenure, schedule, approved_at, officer,
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
    behaviour = weighted(rng, [("good", 80), ("late", 13), ("default", 7)])
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
            add_payment(ctx, rng, member, loan_id, total, paid_at, payments, webhooks, audits)
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


def add_payment(ctx, rng, member, loan_id, amount, paid_at, payments, webhooks, audits):
    channel = weighted(
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
