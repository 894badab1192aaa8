"""A new schedule for the months left after a partial prepayment (pure, no database).

The member pays what is due and the next installment, and ``prepaid`` more, which comes off the
principal of the months after that (``future``: whole installments, none paid yet). Two ways:

* ``LOWER`` — pay less each month: the same number of months, smaller installments;
* ``SHORTER`` — finish sooner: the same installment as before, fewer months (the last smaller).

Reducing-balance loans: each month's interest is the month's opening balance × the monthly rate
(the schedule engine's rule), so the prepaid principal stops earning interest at once. Flat
loans: the interest of the months left falls in proportion to the principal still owed (the
interest on the prepaid part is not charged); both ways keep that same total interest and only
spread it differently. Due dates stay those of the schedule in force.
"""

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from core.money import to_kobo
from loans.schedule import annuity_payment
from loans.settlement import InstallmentLike


class PrepaymentMode(enum.StrEnum):
    SHORTER = "shorter"
    LOWER = "lower"


MODE_LABELS = {
    PrepaymentMode.SHORTER: "Finish sooner (fewer installments, same amount each month)",
    PrepaymentMode.LOWER: "Pay less each month (same number of installments)",
}


@dataclass(frozen=True)
class NewInstallment:
    due_date: date
    principal: int
    interest: int

    @property
    def total(self) -> int:
        return self.principal + self.interest


def _split(total: int, n: int) -> list[int]:
    part = total // n
    return [part] * (n - 1) + [total - part * (n - 1)]


def _reducing(balance: int, rate: Decimal, dates: list[date], payment: int) -> list[tuple]:
    rows = []
    for number, due in enumerate(dates, 1):
        interest = to_kobo(balance * rate, rounding=ROUND_HALF_UP)
        principal = balance if number == len(dates) else min(max(payment - interest, 0), balance)
        rows.append((due, principal, interest))
        balance -= principal
        if balance == 0:
            break
    return rows


def after_prepayment(
    future: Sequence[InstallmentLike],
    *,
    prepaid: int,
    monthly_rate: Decimal,
    method: str,
    mode: str,
) -> list[NewInstallment]:
    mode = PrepaymentMode(mode)
    ordered = sorted(future, key=lambda i: i.number)
    if not ordered:
        raise ValueError("No months are left to prepay.")
    balance = sum(i.principal for i in ordered)
    if not 0 < prepaid < balance:
        raise ValueError("A prepayment is more than zero and less than the principal left.")
    left = balance - prepaid
    dates = [i.due_date for i in ordered]
    n = len(ordered)
    if method == "reducing":
        if mode is PrepaymentMode.LOWER:
            payment = annuity_payment(left, monthly_rate, n)
        else:
            payment = ordered[0].principal + ordered[0].interest
        rows = _reducing(left, monthly_rate, dates, payment)
    else:
        months = n if mode is PrepaymentMode.LOWER else math.ceil(left / ordered[0].principal)
        old_interest = sum(i.interest for i in ordered)
        interest = to_kobo(Decimal(old_interest) * left / balance, rounding=ROUND_HALF_UP)
        if mode is PrepaymentMode.LOWER:
            principals = _split(left, months)
        else:
            part = ordered[0].principal
            principals = [part] * (months - 1) + [left - part * (months - 1)]
        rows = list(zip(dates[:months], principals, _split(interest, months), strict=True))
    return [NewInstallment(due, principal, interest) for due, principal, interest in rows]
