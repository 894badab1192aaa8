"""The key facts statement: what a member reads and consents to before applying.

One builder of its ``terms`` (the product's pricing as it stood when the member consented,
read back by disbursement and the late-fee rule), used by the application service and the
seeders; the statement's hash is what the member's consent names.
"""

import hashlib
import json
from datetime import date
from decimal import Decimal

from core.clock import lagos_today
from loans.models import Loan, LoanProduct
from loans.schedule import Schedule, annual_percentage_rate
from loans.settlement import CLAUSES, rule_for

# kfs-2026-12: the first month's interest is charged only for its real days (issue 17).
KEY_FACTS_VERSION = "kfs-2026-12"
FIRST_PERIOD_RULE = (
    "Interest for the first month is charged only for the days from payout to your first due "
    "date, at the monthly rate × 12 ÷ 365 a day; every later month is charged its usual "
    "monthly interest. So the day we pay out changes your first installment a little, and "
    "your APR hardly at all."
)
COMPLAINTS = (
    "To complain, write to support@allaweeplus.ng or call 0700 000 0000 (08:00–21:00). "
    "We reply within 5 working days. If you are not satisfied you may contact the Federal "
    "Competition and Consumer Protection Commission (FCCPC)."
)


def key_facts_terms(product: LoanProduct) -> dict:
    """The product's terms as the key facts snapshot keeps them (decimals as strings)."""
    return {
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
        "early_settlement": rule_for(product.interest_method, product.early_settlement_rule),
    }


def build_key_facts(*, product: LoanProduct, schedule: Schedule, amount: int, tenure: int) -> dict:
    """The key facts statement as data. Its hash is what the member consents to."""
    late = (
        f"{product.late_fee_percent_per_day * 100:.2f} % of the overdue installment per "
        f"day after {product.grace_days} grace days, at most "
        f"{product.late_fee_cap_percent * 100:.0f} % of that installment in total."
    )
    return {
        "version": KEY_FACTS_VERSION,
        "product": product.name,
        "principal": amount,
        "tenure_months": tenure,
        "fee": schedule.total_fees,
        "fee_treatment": product.fee_treatment,
        "disbursed_amount": schedule.disbursed_amount,
        "total_interest": schedule.total_interest,
        "total_repayable": schedule.total_repayable,
        "total_cost_of_credit": schedule.total_cost_of_credit,
        "apr": str(schedule.apr),
        "installments": [
            {
                "number": i.number,
                "due_date": i.due_date.isoformat(),
                "principal": i.principal,
                "interest": i.interest,
                "fee": i.fee,
                "total": i.total,
            }
            for i in schedule.installments
        ],
        "late_fee_rule": late,
        "cooling_off": (
            f"You may cancel within {product.cooling_off_days} days after approval "
            "at no cost, as long as the money has not been paid out."
        ),
        "early_repayment": CLAUSES[
            rule_for(product.interest_method, product.early_settlement_rule)
        ],
        "complaints": COMPLAINTS,
        "terms": key_facts_terms(product),
        "dates_note": "Due dates are fixed from the day the money is paid out; if that is "
        "later than today the dates move by the same number of months.",
        "first_period_rule": FIRST_PERIOD_RULE,
    }


def _as_at_payout(loan: Loan) -> list[dict]:
    """The installments as fixed at payout: the live ones, or, once a prepayment or a
    restructure replaced them, the first schedule version kept."""
    if loan.schedule_version > 1:
        first = loan.versions.get(number=1)
        return [
            {**row, "due_date": date.fromisoformat(row["due_date"])} for row in first.installments
        ]
    return [
        {
            "number": i.number,
            "due_date": i.due_date,
            "principal": i.principal,
            "interest": i.interest,
            "fee": i.fee,
        }
        for i in loan.installments.order_by("number")
    ]


def final_key_facts(loan: Loan) -> dict:
    """The key facts of the loan as paid out: the statement the member consented to with the
    figures of the schedule fixed on the payout day (due dates, the first month's interest for
    its real days, totals and the APR of those cash flows)."""
    consented = loan.application.key_facts
    rows = _as_at_payout(loan)
    installments = [
        {
            "number": row["number"],
            "due_date": row["due_date"].isoformat(),
            "principal": row["principal"],
            "interest": row["interest"],
            "fee": row["fee"],
            "total": row["principal"] + row["interest"] + row["fee"],
        }
        for row in rows
    ]
    total_interest = sum(i["interest"] for i in installments)
    total_repayable = sum(i["total"] for i in installments)
    started = loan.disbursed_on
    apr = (
        annual_percentage_rate(
            loan.disbursed_amount,
            started,
            [(r["due_date"], i["total"]) for r, i in zip(rows, installments, strict=True)],
        )
        if started
        else loan.apr
    )
    return {
        **consented,
        "version": KEY_FACTS_VERSION,
        "final": True,
        "paid_out_on": started.isoformat() if started else "",
        "principal": loan.principal,
        "fee": loan.fee_amount,
        "disbursed_amount": loan.disbursed_amount,
        "total_interest": total_interest,
        "total_repayable": total_repayable,
        "total_cost_of_credit": total_repayable - loan.disbursed_amount,
        "apr": str(apr),
        "installments": installments,
        "first_period_rule": FIRST_PERIOD_RULE,
        "consented": {
            "apr": consented.get("apr", ""),
            "total_repayable": consented.get("total_repayable"),
            "total_cost_of_credit": consented.get("total_cost_of_credit"),
        },
    }


def payout_moved_figures(loan: Loan) -> bool:
    """Whether the payout-day schedule's APR or total differ from the key facts consented to
    (then the member is told the final figures: the payout e-mail and the loan page)."""
    if loan.disbursed_on is None:
        return False
    consented = loan.application.key_facts
    return (
        Decimal(consented.get("apr", loan.apr)) != loan.apr
        or consented.get("total_repayable", loan.total_repayable) != loan.total_repayable
    )


def key_facts_hash(key_facts: dict) -> str:
    canonical = json.dumps(key_facts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def shows_final_key_facts(loan: Loan) -> bool:
    """The loan page points the member to the final key facts, from payout until the first
    due date, when the payout moved the figures consented to."""
    if not payout_moved_figures(loan):
        return False
    first = loan.installments.order_by("number").first()
    return first is not None and lagos_today() <= first.due_date
