"""The arithmetic of a hardship restructure (pure: no database, no clock).

From what a loan's installments still owe on ``as_of``, the officer's choice (new number of
monthly installments, payment-holiday months, arrears capitalised or waived) gives the new
schedule of everything unpaid and its key facts, which the member consents to by their hash.

The rules, in the lender's words (the key facts page says the same):

* Arrears are what fell due before ``as_of`` and is unpaid. Their principal always moves into
  the new schedule (forgiving principal is a write-off, not a restructure). Their interest,
  fees and late fees are either *capitalised* (added to the amount the new schedule repays,
  bearing interest) or *waived* (forgiven).
* Installments not yet due are replaced: their principal moves into the new schedule, their
  interest is replaced by the new schedule's interest, an unpaid fee is carried unchanged into
  the first new installment.
* Holiday months: no installment falls due; the first new installment is that many months
  later. Interest runs during the holiday: the new amount × monthly rate × holiday months,
  shared equally between the new installments (rounded half-up to the kobo; the last takes the
  remainder).
* New interest: reducing-balance loans pay the annuity of the new amount over the new
  installments (each month's interest is the opening balance × monthly rate); flat loans pay
  the new amount × monthly rate × months (installments + holiday) in equal parts.
* Due dates keep the loan's due day: the first is at least 15 days after ``as_of``
  (``loans.schedule.due_dates``), moved on by the holiday months.
* The APR is the annual rate at which the new installments repay the new amount on ``as_of``
  (``loans.schedule.annual_percentage_rate``); the total cost of credit is what the new
  schedule repays beyond the new amount.
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from core.money import to_kobo
from loans.schedule import annual_percentage_rate, annuity_payment, due_dates


class OwedInstallment(Protocol):
    number: int
    due_date: date
    principal: int
    interest: int
    fee: int
    late_fee: int
    paid_principal: int
    paid_interest: int
    paid_fee: int
    paid_late_fee: int


CAPITALISE = "capitalise"
WAIVE = "waive"


@dataclass(frozen=True)
class NewInstallment:
    due_date: date
    principal: int
    interest: int
    fee: int

    @property
    def total(self) -> int:
        return self.principal + self.interest + self.fee


@dataclass(frozen=True)
class Owed:
    """What the loan's unpaid installments owe on ``as_of``, split into arrears and later."""

    principal: int
    arrears_principal: int
    arrears_interest: int
    arrears_fee: int
    arrears_late_fee: int
    later_interest: int
    later_fee: int

    @property
    def arrears_charges(self) -> int:
        return self.arrears_interest + self.arrears_fee + self.arrears_late_fee

    @property
    def arrears(self) -> int:
        return self.arrears_principal + self.arrears_charges


def _unpaid(inst: OwedInstallment, field: str) -> int:
    return getattr(inst, field) - getattr(inst, f"paid_{field}")


def owed_on(installments: Sequence[OwedInstallment], as_of: date) -> Owed:
    arrears = [i for i in installments if i.due_date < as_of]
    later = [i for i in installments if i.due_date >= as_of]
    return Owed(
        principal=sum(_unpaid(i, "principal") for i in installments),
        arrears_principal=sum(_unpaid(i, "principal") for i in arrears),
        arrears_interest=sum(_unpaid(i, "interest") for i in arrears),
        arrears_fee=sum(_unpaid(i, "fee") for i in arrears),
        arrears_late_fee=sum(_unpaid(i, "late_fee") for i in arrears),
        later_interest=sum(_unpaid(i, "interest") for i in later),
        later_fee=sum(_unpaid(i, "fee") for i in later),
    )


def fingerprint(installments: Sequence[OwedInstallment]) -> str:
    """What the offer rests on: each installment's scheduled and paid amounts and due date.
    Late fees are left out on purpose: those charged while an offer waits are waived when it
    is approved, so a day passing does not void the member's consent; a payment does (and a
    waiver of late fees, which lowers the installment's late-fee cap)."""
    rows = [
        [
            i.number,
            i.due_date.isoformat(),
            i.principal,
            i.interest,
            i.fee,
            i.paid_principal,
            i.paid_interest,
            i.paid_fee,
            i.paid_late_fee,
            getattr(i, "late_fee_cap", 0),
        ]
        for i in sorted(installments, key=lambda i: i.number)
    ]
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def _split(total: int, n: int) -> list[int]:
    part = total // n
    return [part] * (n - 1) + [total - part * (n - 1)]


def _spread(total: int, n: int) -> list[int]:
    """Equal shares rounded half-up to the kobo, the last taking the remainder."""
    part = to_kobo(Decimal(total) / n, rounding=ROUND_HALF_UP)
    if part * (n - 1) > total:
        return _split(total, n)
    return [part] * (n - 1) + [total - part * (n - 1)]


def _reducing(amount: int, rate: Decimal, n: int) -> list[tuple[int, int]]:
    if rate == 0:
        return [(p, 0) for p in _split(amount, n)]
    payment = annuity_payment(amount, rate, n)
    balance, rows = amount, []
    for number in range(1, n + 1):
        interest = to_kobo(balance * rate, rounding=ROUND_HALF_UP)
        principal = balance if number == n else min(max(payment - interest, 0), balance)
        rows.append((principal, interest))
        balance -= principal
    return rows


def new_schedule(
    *,
    amount: int,
    monthly_rate: Decimal,
    method: str,
    installments: int,
    holiday_months: int,
    as_of: date,
    due_day: int,
    carried_fee: int = 0,
) -> list[NewInstallment]:
    dates = due_dates(as_of, holiday_months + installments, due_day)[holiday_months:]
    if method == "reducing":
        parts = _reducing(amount, monthly_rate, installments)
        holiday = to_kobo(amount * monthly_rate * holiday_months, rounding=ROUND_HALF_UP)
        extra = _spread(holiday, installments) if holiday else [0] * installments
        parts = [(p, i + e) for (p, i), e in zip(parts, extra, strict=True)]
    else:
        months = installments + holiday_months
        interest = to_kobo(amount * monthly_rate * months, rounding=ROUND_HALF_UP)
        parts = list(
            zip(_split(amount, installments), _spread(interest, installments), strict=True)
        )
    return [
        NewInstallment(due, principal, interest, carried_fee if k == 0 else 0)
        for k, (due, (principal, interest)) in enumerate(zip(dates, parts, strict=True))
    ]


@dataclass(frozen=True)
class Plan:
    as_of: date
    owed: Owed
    treatment: str
    holiday_months: int
    new: list[NewInstallment]

    @property
    def capitalised(self) -> int:
        return self.owed.arrears_charges if self.treatment == CAPITALISE else 0

    @property
    def waived(self) -> int:
        return self.owed.arrears_charges if self.treatment == WAIVE else 0

    @property
    def amount(self) -> int:
        """What the new schedule repays as principal: unpaid principal + capitalised arrears."""
        return self.owed.principal + self.capitalised

    @property
    def total_repayable(self) -> int:
        return sum(i.total for i in self.new)

    @property
    def total_interest(self) -> int:
        return sum(i.interest for i in self.new)

    @property
    def cost_of_credit(self) -> int:
        return self.total_repayable - self.amount

    @property
    def apr(self) -> Decimal:
        return annual_percentage_rate(
            self.amount, self.as_of, [(i.due_date, i.total) for i in self.new]
        )

    @property
    def owed_now(self) -> int:
        """What the member would owe on the old schedule (without later late fees)."""
        o = self.owed
        return o.principal + o.arrears_charges + o.later_interest + o.later_fee


def plan_restructure(
    installments: Sequence[OwedInstallment],
    *,
    as_of: date,
    monthly_rate: Decimal,
    method: str,
    new_installments: int,
    holiday_months: int,
    treatment: str,
    due_day: int,
) -> Plan:
    unpaid = [
        i
        for i in installments
        if sum(_unpaid(i, f) for f in ("principal", "interest", "fee", "late_fee")) > 0
    ]
    owed = owed_on(unpaid, as_of)
    amount = owed.principal + (owed.arrears_charges if treatment == CAPITALISE else 0)
    if amount <= 0:
        raise ValueError(
            "Nothing is left to repay on this loan, so there is nothing to restructure."
        )
    new = new_schedule(
        amount=amount,
        monthly_rate=monthly_rate,
        method=method,
        installments=new_installments,
        holiday_months=holiday_months,
        as_of=as_of,
        due_day=due_day,
        carried_fee=owed.later_fee,
    )
    return Plan(as_of, owed, treatment, holiday_months, new)


def key_facts(plan: Plan, *, reference: str, fingerprint_of_loan: str) -> dict:
    """The offer as the member reads it (JSON: kobo as integers, dates ISO); its hash is what
    the member's consent names."""
    o = plan.owed
    return {
        "loan": reference,
        "as_of": plan.as_of.isoformat(),
        "treatment": plan.treatment,
        "holiday_months": plan.holiday_months,
        "installments_count": len(plan.new),
        "owed_now": plan.owed_now,
        "arrears": o.arrears,
        "arrears_principal": o.arrears_principal,
        "arrears_interest": o.arrears_interest,
        "arrears_fee": o.arrears_fee,
        "arrears_late_fee": o.arrears_late_fee,
        "capitalised": plan.capitalised,
        "waived": plan.waived,
        "amount": plan.amount,
        "total_repayable": plan.total_repayable,
        "total_interest": plan.total_interest,
        "cost_of_credit": plan.cost_of_credit,
        "apr": str(plan.apr),
        "monthly_installment": plan.new[0].principal + plan.new[0].interest,
        "first_due": plan.new[0].due_date.isoformat(),
        "last_due": plan.new[-1].due_date.isoformat(),
        "schedule": [
            {
                "due_date": i.due_date.isoformat(),
                "principal": i.principal,
                "interest": i.interest,
                "fee": i.fee,
                "total": i.total,
            }
            for i in plan.new
        ],
        "fingerprint": fingerprint_of_loan,
    }


def terms_hash(facts: dict) -> str:
    canonical = json.dumps(facts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
