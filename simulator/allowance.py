"""Allowance deduction (Remita-style mandate): the repayment is taken from the member's
monthly allowance by the paying agency under a mandate the member signed.

Only the interface and a simulated adapter exist: a real mandate service is an integration
with its own credentials, added behind ``ALLOWANCE_DEDUCTION_ADAPTER`` when contracted.
"""

import secrets
from dataclasses import dataclass

from django.conf import settings

from core.errors import DomainError, NotAllowed
from payments import services
from payments.models import PaymentChannel


@dataclass(frozen=True)
class DeductionResult:
    reference: str
    succeeded: bool
    amount: int
    reason: str = ""


class AllowanceDeductionAdapter:
    name = "base"

    def collect(self, *, member, amount: int, reference: str) -> DeductionResult:
        raise NotImplementedError


class SimulatedAllowanceDeduction(AllowanceDeductionAdapter):
    """Deducts in full, except for members whose allowance is below the amount."""

    name = "simulated-allowance"

    def collect(self, *, member, amount: int, reference: str) -> DeductionResult:
        if amount > member.monthly_allowance:
            return DeductionResult(reference, False, 0, "Allowance smaller than the deduction")
        return DeductionResult(reference, True, amount)


def get_adapter() -> AllowanceDeductionAdapter:
    name = getattr(settings, "ALLOWANCE_DEDUCTION_ADAPTER", "simulated")
    if name != "simulated":
        raise NotImplementedError(f"No allowance-deduction adapter called {name!r}")
    return SimulatedAllowanceDeduction()


def collect_by_deduction(*, loan, actor, amount: int):
    """Ask the adapter to deduct, then post the repayment like any other (allocation, ledger)."""

    if not actor.has_perm("payments.add_payment"):
        raise NotAllowed("You do not have permission to collect repayments.")
    reference = f"ALW-{secrets.token_hex(6).upper()}"
    result = get_adapter().collect(member=loan.member, amount=amount, reference=reference)
    if not result.succeeded:
        raise DomainError(f"The allowance deduction failed: {result.reason}.")
    return services.record_payment(
        loan=loan,
        amount=result.amount,
        channel=PaymentChannel.ALLOWANCE,
        reference=reference,
        provider=get_adapter().name,
        actor=actor,
        reason="Allowance deduction",
    )
