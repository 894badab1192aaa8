"""Repayment schedules: pure arithmetic on integer kobo, no database.

Every amount is an ``int`` of kobo. Rates are ``Decimal`` and every conversion back to kobo
names its rounding rule, so the same terms always give the same schedule to the kobo, and the
schedule shown in the key facts is the one the loan is booked with.
"""

import dataclasses
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Context, Decimal, localcontext
from typing import Any

from core.money import to_kobo

MIN_DAYS_TO_FIRST_DUE = 15
"""The first installment falls due on ``due_day`` of the month after the start date, unless
that is fewer than 15 days away; then it moves one month later. A corps member who borrows a
few days before the allowance lands should not owe a full month's installment at once."""

MAX_TENURE_MONTHS = 60
DAYS_PER_YEAR = Decimal(365)
_APR_PRECISION = 34
_APR_MAX_ITERATIONS = 500


class InterestMethod(enum.StrEnum):
    FLAT = "flat"
    REDUCING = "reducing"


class FeeTreatment(enum.StrEnum):
    DEDUCT = "deduct"
    FIRST_INSTALLMENT = "first_installment"


def _require_int(name: str, value: Any) -> None:
    # bool is an int subclass, and a float would silently lose kobo.
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int of kobo or a count, not {type(value).__name__}")


def _require_decimal(name: str, value: Any) -> None:
    if not isinstance(value, Decimal):
        raise TypeError(f"{name} must be a Decimal (never a float), not {type(value).__name__}")
    if not value.is_finite():
        raise ValueError(f"{name} must be a finite number.")


@dataclass(frozen=True, kw_only=True)
class ScheduleTerms:
    """What a schedule is computed from. Wrong types raise ``TypeError`` (a programming
    error); values out of range raise ``ValueError`` with a message fit to show a person."""

    principal: int
    tenure_months: int
    method: InterestMethod
    monthly_rate: Decimal
    fee_percent: Decimal = Decimal(0)
    fee_fixed: int = 0
    fee_treatment: FeeTreatment = FeeTreatment.DEDUCT
    due_day: int = 28
    start_date: date

    def __post_init__(self) -> None:
        for name in ("principal", "tenure_months", "fee_fixed", "due_day"):
            _require_int(name, getattr(self, name))
        for name in ("monthly_rate", "fee_percent"):
            _require_decimal(name, getattr(self, name))
        if not isinstance(self.start_date, date):
            raise TypeError("start_date must be a date")
        # Coerce the stored strings (the Django model keeps "flat"/"deduct") to the enums.
        object.__setattr__(self, "method", InterestMethod(self.method))
        object.__setattr__(self, "fee_treatment", FeeTreatment(self.fee_treatment))
        if self.principal <= 0:
            raise ValueError("The amount borrowed must be more than zero.")
        if not 1 <= self.tenure_months <= MAX_TENURE_MONTHS:
            raise ValueError(f"The tenure must be between 1 and {MAX_TENURE_MONTHS} months.")
        if not 0 <= self.monthly_rate <= 1:
            raise ValueError("The monthly interest rate must be between 0 and 1 (0 % to 100 %).")
        if not 0 <= self.fee_percent <= 1:
            raise ValueError("The processing fee percent must be between 0 and 1 (0 % to 100 %).")
        if self.fee_fixed < 0:
            raise ValueError("The fixed processing fee cannot be negative.")
        if not 1 <= self.due_day <= 28:
            # Day 28 exists in every month, so a due date never slides with the calendar.
            raise ValueError("The due day must be between 1 and 28.")

    @property
    def fee(self) -> int:
        return to_kobo(self.principal * self.fee_percent, rounding=ROUND_HALF_UP) + self.fee_fixed


@dataclass(frozen=True)
class Installment:
    number: int
    due_date: date
    principal: int
    interest: int
    fee: int
    opening_balance: int
    closing_balance: int

    @property
    def total(self) -> int:
        return self.principal + self.interest + self.fee


@dataclass(frozen=True)
class Schedule:
    installments: tuple[Installment, ...]
    principal: int
    total_interest: int
    total_fees: int
    total_repayable: int
    disbursed_amount: int
    apr: Decimal

    @property
    def total_cost_of_credit(self) -> int:
        return self.total_repayable - self.disbursed_amount

    @property
    def monthly_installment(self) -> int:
        """The regular amount due each month: the second installment (the first also carries
        the fee, if added to it, and interest for its real number of days), or the only one."""
        regular = self.installments[1 if len(self.installments) > 1 else 0]
        return regular.principal + regular.interest

    @property
    def last_due_date(self) -> date:
        return self.installments[-1].due_date


def _add_months(day: date, months: int, due_day: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, due_day)


def first_due_date(start_date: date, due_day: int) -> date:
    first = _add_months(start_date, 1, due_day)
    if (first - start_date).days < MIN_DAYS_TO_FIRST_DUE:
        first = _add_months(start_date, 2, due_day)
    return first


def due_dates(start_date: date, tenure_months: int, due_day: int) -> list[date]:
    first = first_due_date(start_date, due_day)
    return [_add_months(first, k, due_day) for k in range(tenure_months)]


def _equal_principal_parts(principal: int, n: int) -> list[int]:
    # Floor each month so no month overpays; the residue (< n kobo) goes into the last.
    part = principal // n
    return [part] * (n - 1) + [principal - part * (n - 1)]


def _flat_parts(principal: int, rate: Decimal, n: int) -> list[tuple[int, int]]:
    total_interest = to_kobo(principal * rate * n, rounding=ROUND_HALF_UP)
    monthly = to_kobo(principal * rate, rounding=ROUND_HALF_UP)
    if monthly * (n - 1) > total_interest:
        # Only when the monthly interest is a few kobo: rounding it up n-1 times could
        # exceed the total and leave the last month negative. Rounding down never can.
        monthly = to_kobo(principal * rate, rounding=ROUND_FLOOR)
    interests = [monthly] * (n - 1) + [total_interest - monthly * (n - 1)]
    return list(zip(_equal_principal_parts(principal, n), interests, strict=True))


def annuity_payment(principal: int, rate: Decimal, n: int) -> int:
    """P·r / (1 − (1+r)^−n), rounded half-up to the kobo."""
    if rate == 0:
        return to_kobo(Decimal(principal) / n, rounding=ROUND_HALF_UP)
    with localcontext(Context(prec=_APR_PRECISION)):
        exact = principal * rate / (1 - (1 + rate) ** -n)
    return to_kobo(exact, rounding=ROUND_HALF_UP)


def _reducing_parts(principal: int, rate: Decimal, n: int) -> list[tuple[int, int]]:
    if rate == 0:
        return [(part, 0) for part in _equal_principal_parts(principal, n)]
    payment = annuity_payment(principal, rate, n)
    outstanding = principal
    parts = []
    for number in range(1, n + 1):
        interest = to_kobo(outstanding * rate, rounding=ROUND_HALF_UP)
        if number == n:
            # The rounded payment drifts by up to a kobo a month; the last installment
            # settles whatever principal is left so the balance ends at exactly zero.
            part = outstanding
        else:
            part = min(max(payment - interest, 0), outstanding)
        parts.append((part, interest))
        outstanding -= part
    return parts


def annual_percentage_rate(
    disbursed: int, start_date: date, payments: Iterable[tuple[date, int]]
) -> Decimal:
    """Effective annual rate, as a percentage with 2 decimals, of the real cash flows.

    ``payments`` are ``(due_date, amount)`` pairs. We solve
    ``disbursed = Σ amount / (1 + APR)^(days/365)`` — the "annual percentage rate of charge"
    convention (actual days over a 365-day year, compounded annually, as in the EU consumer
    credit directive), because the key facts must show an annualised rate computed from the
    real cash flows (clear pricing before consent), and this one counts the fee, when it is
    paid, and the uneven first period. The unknown is taken as
    x = ln(1 + APR): then f(x) = Σ amount·e^(−x·t) − disbursed is decreasing and convex with
    f(0) = total repaid − disbursed ≥ 0, so Newton's method from x = 0 climbs to the root
    without ever overshooting it, and every value computed is ≥ 0.
    """
    flows = [
        (Decimal((due - start_date).days) / DAYS_PER_YEAR, Decimal(amount))
        for due, amount in payments
        if amount
    ]
    with localcontext(Context(prec=_APR_PRECISION)) as ctx:
        target = Decimal(disbursed)
        if sum(amount for _, amount in flows) <= target:
            return Decimal("0.00")
        x = Decimal(0)
        tolerance = Decimal("1e-25")
        for _ in range(_APR_MAX_ITERATIONS):
            discounted = [(t, amount * (-x * t).exp()) for t, amount in flows]
            value = sum(pv for _, pv in discounted) - target
            slope = sum(t * pv for t, pv in discounted)
            step = value / slope
            x += step
            if step <= tolerance * max(x, Decimal(1)):
                break
        percent = (x.exp() - 1) * 100
        # Absurd terms (a fee eating almost all of the principal) give huge rates: widen
        # the precision so the quantize cannot fail instead of refusing to show them.
        ctx.prec = max(_APR_PRECISION, percent.adjusted() + 4)
        return percent.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def first_period_interest(terms: ScheduleTerms, first_due: date) -> int:
    """Installment 1's interest: only for the days from the start (payout) to the first due
    date, Actual/365 (the monthly rate × 12 ÷ 365 a day, as ``interest_for_days``), on the
    opening balance; a flat loan's opening balance is the principal, so both methods charge it
    on the principal.

    Why: the first period runs from 15 to about 46 days depending on the payout day. A whole
    month's interest for it made the same loan's APR swing between about 36 % and 90 % with the
    day it was paid out; interest for the real days keeps the APR nearly the same all month."""
    return interest_for_days(
        terms.principal, terms.monthly_rate, (first_due - terms.start_date).days
    )


def build_schedule(terms: ScheduleTerms) -> Schedule:
    n = terms.tenure_months
    if terms.method is InterestMethod.FLAT:
        parts = _flat_parts(terms.principal, terms.monthly_rate, n)
    else:
        parts = _reducing_parts(terms.principal, terms.monthly_rate, n)
    dates = due_dates(terms.start_date, n, terms.due_day)
    # Only installment 1's interest follows the real days; the principal parts stay the
    # standard split (the annuity's, or equal parts) and later months keep their interest.
    parts[0] = (parts[0][0], first_period_interest(terms, dates[0]))

    fee = terms.fee
    deducted = terms.fee_treatment is FeeTreatment.DEDUCT
    disbursed = terms.principal - fee if deducted else terms.principal
    if disbursed <= 0:
        raise ValueError("The processing fee would take the whole amount borrowed.")

    installments = []
    balance = terms.principal
    for number, (due, (principal_part, interest)) in enumerate(zip(dates, parts, strict=True), 1):
        installments.append(
            Installment(
                number=number,
                due_date=due,
                principal=principal_part,
                interest=interest,
                fee=fee if number == 1 and not deducted else 0,
                opening_balance=balance,
                closing_balance=balance - principal_part,
            )
        )
        balance -= principal_part

    return Schedule(
        installments=tuple(installments),
        principal=terms.principal,
        total_interest=sum(i.interest for i in installments),
        total_fees=fee,
        # What the member pays back; a deducted fee was already paid out of the principal,
        # so either way the cost of credit (repayable − disbursed) is interest + fee.
        total_repayable=sum(i.total for i in installments),
        disbursed_amount=disbursed,
        apr=annual_percentage_rate(
            disbursed, terms.start_date, [(i.due_date, i.total) for i in installments]
        ),
    )


def rebuild_with_start_date(terms: ScheduleTerms, new_start: date) -> Schedule:
    """The same loan with dates counted from another day (the real disbursement date)."""
    return build_schedule(dataclasses.replace(terms, start_date=new_start))


def max_affordable_installment(monthly_income_kobo: int, max_share: Decimal) -> int:
    """The largest installment within ``max_share`` of income, rounded down so the limit
    is never exceeded by a kobo."""
    _require_int("monthly_income_kobo", monthly_income_kobo)
    _require_decimal("max_share", max_share)
    if monthly_income_kobo < 0:
        raise ValueError("Monthly income cannot be negative.")
    if not 0 <= max_share <= 1:
        raise ValueError("The share of income must be between 0 and 1.")
    return to_kobo(monthly_income_kobo * max_share, rounding=ROUND_FLOOR)


def interest_for_days(balance: int, monthly_rate: Decimal, days: int) -> int:
    """Interest on ``balance`` for ``days`` days, Actual/365 Fixed: the monthly rate × 12 ÷ 365
    a day, rounded half-up to the kobo."""
    _require_int("balance", balance)
    _require_int("days", days)
    _require_decimal("monthly_rate", monthly_rate)
    with localcontext(Context(prec=_APR_PRECISION)):
        exact = Decimal(balance) * monthly_rate * 12 * days / DAYS_PER_YEAR
    return to_kobo(exact, rounding=ROUND_HALF_UP)
