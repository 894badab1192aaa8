"""Models to the API's JSON (money through portal.money.api_amount, never a float)."""

from loans.models import Application, Loan, LoanProduct
from payments.models import Payment
from portal.money import api_amount


def _money(kobo):
    return None if kobo is None else api_amount(kobo)


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
    return {
        "reference": a.reference,
        "status": a.status,
        "product": a.product_id,
        "product_name": a.product.name,
        "amount": api_amount(a.amount),
        "tenure_months": a.tenure_months,
        "created_at": a.created_at,
        "submitted_at": a.submitted_at,
        "decided_at": a.decided_at,
        "approved_amount": _money(a.approved_amount),
        "approved_tenure": a.approved_tenure,
        "decision_reason": a.decision_reason,
        "deployment_state": a.deployment_state,
        "applicant_name": a.applicant_name,
        "is_flagged": a.is_flagged,
        "recommendation": a.recommendation,
    }


def application_detail(a: Application, *, loan_reference: str | None) -> dict:
    return {
        **application(a),
        "key_facts_hash": a.key_facts_hash,
        "key_facts": key_facts_schedule(a.key_facts),
        "assessment": [rule(r) for r in a.assessment or []],
        "loan": loan_reference,
    }


def loan(ln: Loan) -> dict:
    return {
        "reference": ln.reference,
        "application": ln.application.reference,
        "status": ln.status,
        "product": ln.product_id,
        "principal": api_amount(ln.principal),
        "tenure_months": ln.tenure_months,
        "interest_method": ln.interest_method,
        "monthly_rate": str(ln.monthly_rate),
        "fee_amount": api_amount(ln.fee_amount),
        "disbursed_amount": api_amount(ln.disbursed_amount),
        "total_interest": api_amount(ln.total_interest),
        "total_repayable": api_amount(ln.total_repayable),
        "apr": str(ln.apr),
        "created_at": ln.created_at,
        "approved_at": ln.approved_at,
        "disbursed_on": ln.disbursed_on,
        "closed_at": ln.closed_at,
        "cooling_off_until": ln.cooling_off_until,
    }


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
    return {
        "reference": p.reference,
        "loan": p.loan.reference if p.loan_id else None,
        "amount": api_amount(p.amount),
        "channel": p.channel,
        "status": p.status,
        "created_at": p.created_at,
        "received_at": p.received_at,
        "reversed_at": p.reversed_at,
    }
