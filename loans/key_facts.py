"""The key facts statement: what a member reads and consents to before applying.

One builder of its ``terms`` (the product's pricing as it stood when the member consented,
read back by disbursement and the late-fee rule), used by the application service and the
seeders; the statement's hash is what the member's consent names.
"""

import hashlib
import json

from loans.models import LoanProduct
from loans.schedule import Schedule
from loans.settlement import CLAUSES, rule_for

KEY_FACTS_VERSION = "kfs-2026-11"
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
    }


def key_facts_hash(key_facts: dict) -> str:
    canonical = json.dumps(key_facts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
