"""Allocation of a repayment to a loan's installments (pure, no database).

Oldest installment first; within an installment late fees → fees → interest → principal
(the order SPEC.md and Nigerian consumer-lending practice use: the cost of lateness is
cleared before the cost of credit, and principal last). What is left after everything owed
becomes member credit.
"""

from dataclasses import dataclass

COMPONENT_ORDER = ("late_fee", "fee", "interest", "principal")


@dataclass
class Owed:
    """What is still unpaid on one installment, per component."""

    installment_id: int
    number: int
    late_fee: int
    fee: int
    interest: int
    principal: int

    @property
    def total(self) -> int:
        return self.late_fee + self.fee + self.interest + self.principal


@dataclass(frozen=True)
class Part:
    installment_id: int | None  # None for member credit
    component: str  # late_fee, fee, interest, principal or credit
    amount: int


def allocate(amount: int, owed: list[Owed]) -> list[Part]:
    if amount <= 0:
        raise ValueError("A repayment is a positive amount of kobo.")
    parts: list[Part] = []
    remaining = amount
    for item in sorted(owed, key=lambda o: o.number):
        for component in COMPONENT_ORDER:
            due = getattr(item, component)
            if remaining == 0:
                break
            if due <= 0:
                continue
            take = min(due, remaining)
            parts.append(Part(item.installment_id, component, take))
            remaining -= take
    if remaining:
        parts.append(Part(None, "credit", remaining))
    return parts
