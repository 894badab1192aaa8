"""Early settlement: what a member pays to close a loan on a given day (pure, no database).

The figure is what the schedule still holds, less the interest not yet earned on the day:

* principal still unpaid, fees and late fees still unpaid, in full;
* interest: each installment keeps the interest earned by the settlement day under the rule
  the member consented to in the key facts (``SettlementRule``); scheduled interest beyond that
  is not charged (``rebate``), and interest already paid beyond it (an installment paid before
  its month ended) is given back (``refund``, as member credit);
* minus the member's credit (money we hold for them).

Day count (``DAILY``): Actual/365 Fixed. Interest for the running period accrues each day on the
period's opening balance at the monthly rate × 12 ÷ 365, and never exceeds the period's
scheduled interest; periods that have ended are earned in full, periods not yet begun earn
nothing. The same function gives the quote, the API figure and the amount posted when a payment
settles the loan.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from django.db import models

from core.money import to_kobo
from loans.schedule import interest_for_days

MAX_QUOTE_DAYS_AHEAD = 30


class SettlementRule(models.TextChoices):
    DAILY = "daily", "Interest to the day (Actual/365) on what is still owed"
    FUTURE_MONTHS = "future_months", "Interest for months not yet begun is not charged"
    NONE = "none", "Paying early does not reduce the interest"


def rule_for(method: str, rule: str = "") -> SettlementRule:
    """A product's rule; blank means the usual one of its interest method."""
    if rule:
        return SettlementRule(rule)
    return SettlementRule.DAILY if method == "reducing" else SettlementRule.FUTURE_MONTHS


CLAUSES = {
    SettlementRule.DAILY: (
        "You may repay the whole loan early at any time, without a penalty. You then pay what "
        "you still owe of the amount borrowed, any unpaid fees and late fees, and interest only "
        "up to the day you repay: interest builds up each day on what you still owe at the "
        "monthly rate × 12 ÷ 365. Interest for the days after that is not charged."
    ),
    SettlementRule.FUTURE_MONTHS: (
        "You may repay the whole loan early at any time, without a penalty. You then pay what "
        "you still owe of the amount borrowed, any unpaid fees and late fees, and the interest "
        "of the months that have begun. Interest for months that have not begun is not charged."
    ),
    SettlementRule.NONE: (
        "You may repay the whole loan early at any time, without a penalty, but the interest "
        "is not reduced: you pay everything the schedule still holds."
    ),
}


class InstallmentLike(Protocol):
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


@dataclass(frozen=True)
class SettlementFigures:
    on: date
    principal: int
    interest: int
    fees: int
    late_fees: int
    credit: int  # the member's credit used towards the figure
    rebate: int  # scheduled interest not yet paid that is not charged
    refund: int = 0  # interest already paid for days after ``on``, given back
    keep: dict[int, int] = field(default_factory=dict)  # installment number → interest kept

    @property
    def gross(self) -> int:
        """What the installments still owe once the interest is cut to ``keep``."""
        return self.principal + self.interest + self.fees + self.late_fees

    @property
    def total(self) -> int:
        """What the member pays on ``on`` to close the loan."""
        return max(self.gross - self.refund, 0) - self.credit


def _earned(
    rule: SettlementRule,
    inst: InstallmentLike,
    start: date,
    balance: int,
    monthly_rate: Decimal,
    on: date,
) -> int:
    if rule is SettlementRule.NONE or inst.due_date <= on:
        return inst.interest
    if on <= start:
        return 0
    if rule is SettlementRule.FUTURE_MONTHS:
        return inst.interest
    return min(inst.interest, interest_for_days(balance, monthly_rate, (on - start).days))


def settlement_figures(
    installments: Sequence[InstallmentLike],
    *,
    started_on: date,
    monthly_rate: Decimal,
    rule: str,
    on: date,
    credit: int = 0,
) -> SettlementFigures:
    """What closes the loan on ``on``. ``started_on`` is the payout day (the first period's
    start); ``credit`` the member's credit, used up to the figure."""
    rule = SettlementRule(rule)
    ordered = sorted(installments, key=lambda i: i.number)
    balance = sum(i.principal for i in ordered)
    start = started_on
    principal = interest = fees = late_fees = rebate = refund = 0
    keep: dict[int, int] = {}
    for inst in ordered:
        kept = _earned(rule, inst, start, balance, monthly_rate, on)
        keep[inst.number] = kept
        rebate += inst.interest - max(kept, inst.paid_interest)
        refund += max(inst.paid_interest - kept, 0)
        principal += inst.principal - inst.paid_principal
        interest += max(kept - inst.paid_interest, 0)
        fees += inst.fee - inst.paid_fee
        late_fees += inst.late_fee - inst.paid_late_fee
        balance -= inst.principal
        start = inst.due_date
    net = principal + interest + fees + late_fees - refund
    return SettlementFigures(
        on=on,
        principal=principal,
        interest=interest,
        fees=fees,
        late_fees=late_fees,
        credit=min(max(credit, 0), max(net, 0)),
        rebate=rebate,
        refund=refund,
        keep=keep,
    )


def daily_interest(balance: int, monthly_rate: Decimal) -> int:
    """One day's interest on ``balance``, for display ("about ₦X a day")."""
    return to_kobo(balance * monthly_rate * 12 / Decimal(365), rounding=ROUND_HALF_UP)
