"""Models to the API's JSON (money through core.money.api_amount, never a float)."""

from core.money import api_amount
from loans.models import Application, Loan, LoanProduct
from payments.models import Payment


def _money(kobo):
    return None if kobo is None else api_amount(kobo)


def _text(value):
    return str(value)


class Shape:
    """One list item's JSON, written once, read from a model instance or from a
    ``values()`` row (the lists use rows: no model instances, no per-row validation).

    Each field is a column path (``product__name``) or ``(path, convert)``.
    """

    def __init__(self, **fields):
        self.fields = [
            (name, spec, None) if isinstance(spec, str) else (name, *spec)
            for name, spec in fields.items()
        ]
        self.columns = tuple(dict.fromkeys(path for _, path, _ in self.fields))

    def from_row(self, row: dict) -> dict:
        return {
            name: row[path] if convert is None else convert(row[path])
            for name, path, convert in self.fields
        }

    def from_object(self, obj) -> dict:
        return self.from_row({path: _resolve(obj, path) for path in self.columns})


def _resolve(obj, path: str):
    for part in path.split("__"):
        if obj is None:
            return None
        obj = getattr(obj, part)
    return obj


APPLICATION = Shape(
    reference="reference",
    status="status",
    product="product_id",
    product_name="product__name",
    amount=("amount", api_amount),
    tenure_months="tenure_months",
    created_at="created_at",
    submitted_at="submitted_at",
    decided_at="decided_at",
    approved_amount=("approved_amount", _money),
    approved_tenure="approved_tenure",
    decision_reason="decision_reason",
    deployment_state="deployment_state",
    applicant_name="applicant_name",
    is_flagged="is_flagged",
    recommendation="recommendation",
)

LOAN = Shape(
    reference="reference",
    application="application__reference",
    status="status",
    product="product_id",
    principal=("principal", api_amount),
    tenure_months="tenure_months",
    interest_method="interest_method",
    monthly_rate=("monthly_rate", _text),
    fee_amount=("fee_amount", api_amount),
    disbursed_amount=("disbursed_amount", api_amount),
    total_interest=("total_interest", api_amount),
    total_repayable=("total_repayable", api_amount),
    apr=("apr", _text),
    created_at="created_at",
    approved_at="approved_at",
    disbursed_on="disbursed_on",
    closed_at="closed_at",
    cooling_off_until="cooling_off_until",
)

PAYMENT = Shape(
    reference="reference",
    loan="loan__reference",
    amount=("amount", api_amount),
    channel="channel",
    status="status",
    created_at="created_at",
    received_at="received_at",
    reversed_at="reversed_at",
)


def product(p: LoanProduct) -> dict:
    return {
        "id": p.pk,
        "name": p.name,
        "description": p.description,
        "is_active": p.is_active,
        "min_principal": api_amount(p.min_principal),
        "max_principal": api_amount(p.max_principal),
        "tenures": list(p.tenures or []),
        "interest_method": p.interest_method,
        "monthly_rate": str(p.monthly_rate),
        "fee_percent": str(p.fee_percent),
        "fee_fixed": api_amount(p.fee_fixed),
        "fee_treatment": p.fee_treatment,
        "late_fee_percent_per_day": str(p.late_fee_percent_per_day),
        "late_fee_cap_percent": str(p.late_fee_cap_percent),
        "grace_days": p.grace_days,
        "due_day": p.due_day,
        "max_income_share": str(p.max_income_share),
        "cooling_off_days": p.cooling_off_days,
    }


def rule(r) -> dict:
    if isinstance(r, dict):
        return {
            "rule": str(r.get("rule", "")),
            "passed": bool(r.get("passed")),
            "reason": str(r.get("reason", "")),
            "warning": bool(r.get("warning", False)),
        }
    return {"rule": r.rule, "passed": r.passed, "reason": r.reason, "warning": r.warning}


def schedule(s) -> dict:
    return {
        "principal": api_amount(s.principal),
        "fee": api_amount(s.total_fees),
        "disbursed_amount": api_amount(s.disbursed_amount),
        "total_interest": api_amount(s.total_interest),
        "total_repayable": api_amount(s.total_repayable),
        "total_cost_of_credit": api_amount(s.total_cost_of_credit),
        "apr": str(s.apr),
        "installments": [
            {
                "number": i.number,
                "due_date": i.due_date.isoformat(),
                "principal": api_amount(i.principal),
                "interest": api_amount(i.interest),
                "fee": api_amount(i.fee),
                "total": api_amount(i.total),
            }
            for i in s.installments
        ],
    }


def key_facts_schedule(facts: dict) -> dict | None:
    """The schedule the member consented to, from the frozen key facts."""
    if not facts or "installments" not in facts:
        return None
    return {
        "principal": api_amount(facts["principal"]),
        "fee": api_amount(facts["fee"]),
        "disbursed_amount": api_amount(facts["disbursed_amount"]),
        "total_interest": api_amount(facts["total_interest"]),
        "total_repayable": api_amount(facts["total_repayable"]),
        "total_cost_of_credit": api_amount(facts["total_cost_of_credit"]),
        "apr": str(facts["apr"]),
        "installments": [
            {
                "number": i["number"],
                "due_date": i["due_date"],
                "principal": api_amount(i["principal"]),
                "interest": api_amount(i["interest"]),
                "fee": api_amount(i["fee"]),
                "total": api_amount(i["total"]),
            }
            for i in facts["installments"]
        ],
    }


def quote(q, *, personalised: bool) -> dict:
    return {
        "product": q.product.pk,
        "amount": api_amount(q.amount),
        "tenure_months": q.tenure,
        "can_apply": q.can_apply,
        "personalised": personalised,
        "problems": [rule(r) for r in q.problems],
        "schedule": schedule(q.schedule) if q.schedule is not None else None,
    }


def application(a: Application) -> dict:
    return APPLICATION.from_object(a)


def application_detail(a: Application, *, loan_reference: str | None) -> dict:
    return {
        **application(a),
        "key_facts_hash": a.key_facts_hash,
        "key_facts": key_facts_schedule(a.key_facts),
        "assessment": [rule(r) for r in a.assessment or []],
        "loan": loan_reference,
    }


def loan(ln: Loan) -> dict:
    return LOAN.from_object(ln)


def loan_detail(ln: Loan, *, balance: int) -> dict:
    return {
        **loan(ln),
        "balance": api_amount(balance),
        "installments": [
            {
                "number": i.number,
                "due_date": i.due_date,
                "status": i.status,
                "principal": api_amount(i.principal),
                "interest": api_amount(i.interest),
                "fee": api_amount(i.fee),
                "late_fee": api_amount(i.late_fee),
                "total_due": api_amount(i.total_due),
                "total_paid": api_amount(i.total_paid),
                "outstanding": api_amount(i.outstanding),
            }
            for i in ln.installments.all()
        ],
    }


def payment(p: Payment) -> dict:
    return PAYMENT.from_object(p)
