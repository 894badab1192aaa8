"""Member credit at work: paying installments (automatically when they fall due, or now when the
member asks), settling the loan, and partial prepayments that give the loan a new schedule.

Credit is money we hold for the member (``ledger.selectors.member_credit``). Every use locks the
member's row first, then the loan, and reads the credit under that lock, so two uses (or a use
and a refund) of one credit are serialised and the credit never goes negative.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from core import audit
from core.clock import lagos_today
from core.errors import Conflict, DomainError, NotAllowed
from core.money import format_naira
from core.signals import send_after_commit
from ledger import chart
from ledger.models import EntryKind
from ledger.posting import credit, debit, post_entry
from ledger.selectors import members_with_credit
from loans import lifecycle
from loans.models import Installment, InstallmentStatus, Loan, LoanStatus
from loans.reschedule import NewInstallment, PrepaymentMode, after_prepayment
from loans.settlement import SettlementRule
from loans.versions import VersionReason, keep_version
from members.models import Member
from payments import signals
from payments.models import Allocation, Payment, PaymentStatus
from payments.selectors import available_credit
from payments.services.repayment import credit_payment, due_now, finish, pay_from_credit
from payments.services.settlement import (
    check_settleable,
    figures_for,
    rebate_unearned_interest,
)

INTENTS = {"settle", "prepay_shorter", "prepay_lower"}


def _check_actor(loan: Loan, actor) -> None:
    """The borrower, or finance acting for them (``None``: the member's own checkout intent,
    carried out when their money arrives)."""
    if actor is None or actor.pk == loan.member.user_id:
        return
    if not (actor.is_staff and actor.has_perm("payments.add_payment")):
        raise NotAllowed("Only the borrower or finance can use the member's credit.")


def _lock(loan: Loan) -> tuple[Loan, list[Installment], int]:
    """Member row, then loan row, then installments: one order everywhere (no deadlock)."""
    member = Member.objects.select_for_update(no_key=True).get(pk=loan.member_id)
    loan = Loan.objects.select_for_update().get(pk=loan.pk)
    installments = list(loan.installments.select_for_update().order_by("number"))
    return loan, installments, available_credit(member)


def _notify(payment: Payment) -> None:
    send_after_commit(signals.payment_received, Payment, payment_id=payment.pk)


# --- Paying installments --------------------------------------------------------------------


@transaction.atomic
def use_credit_now(*, loan: Loan, actor) -> Payment:
    """The member's "use my credit": what is due and the next installment, as far as it goes."""
    _check_actor(loan, actor)
    loan, installments, available = _lock(loan)
    if loan.status not in (LoanStatus.ACTIVE, LoanStatus.WRITTEN_OFF):
        raise Conflict(f"Loan {loan.reference} owes nothing; the credit stays yours.")
    targets = due_now(installments, lagos_today())
    owed = sum(i.outstanding for i in targets)
    if available <= 0:
        raise Conflict("There is no credit to use.")
    if owed == 0:
        raise Conflict("Nothing is due on this loan now.")
    payment = pay_from_credit(
        loan=loan,
        installments=installments,
        amount=min(owed, available),
        actor=actor,
        targets=targets,
    )
    finish(loan, installments, actor=actor)
    _notify(payment)
    return payment


@transaction.atomic
def apply_due_credit(*, loan_id: int) -> Payment | None:
    """The daily job, per loan: credit pays installments that have fallen due."""
    loan = Loan.objects.get(pk=loan_id)
    loan, installments, available = _lock(loan)
    if loan.status != LoanStatus.ACTIVE or available <= 0:
        return None
    today = lagos_today()
    targets = [i for i in installments if i.due_date <= today]
    owed = sum(i.outstanding for i in targets)
    if owed == 0:
        return None
    payment = pay_from_credit(
        loan=loan,
        installments=installments,
        amount=min(owed, available),
        actor=None,
        targets=targets,
    )
    finish(loan, installments, actor=None)
    _notify(payment)
    return payment


def loans_with_credit_due() -> list[int]:
    """Active loans with an unpaid installment due by today whose member holds credit."""
    return list(
        Installment.objects.filter(
            loan__status=LoanStatus.ACTIVE,
            loan__member_id__in=members_with_credit(),
            due_date__lte=lagos_today(),
        )
        .exclude(status=InstallmentStatus.PAID)
        .values_list("loan_id", flat=True)
        .distinct()
    )


def apply_due_credit_everywhere() -> int:
    done = 0
    for loan_id in loans_with_credit_due():
        if apply_due_credit(loan_id=loan_id) is not None:
            done += 1
    return done


# --- Settling from credit -------------------------------------------------------------------


@transaction.atomic
def settle_from_credit(*, loan: Loan, actor) -> Payment | None:
    """The credit covers the settlement figure of today: the loan closes without new money."""
    _check_actor(loan, actor)
    loan, installments, available = _lock(loan)
    check_settleable(loan)
    figures = figures_for(loan, installments, on=lagos_today(), credit_kobo=available)
    if figures.total > 0:
        raise Conflict(
            f"Your credit covers {format_naira(figures.credit)} of the "
            f"{format_naira(figures.gross)} that settles the loan today; pay the other "
            f"{format_naira(figures.total)} to settle it."
        )
    rebate_unearned_interest(
        loan, installments, figures, key=f"credit:{loan.pk}:v{loan.schedule_version}", actor=actor
    )
    payment = None
    if figures.gross:
        payment = pay_from_credit(
            loan=loan, installments=installments, amount=figures.gross, actor=actor
        )
        _notify(payment)
    finish(loan, installments, actor=actor)
    return payment


# --- Partial prepayment ---------------------------------------------------------------------


@dataclass(frozen=True)
class PrepaymentPlan:
    """What the member sees before confirming, and what the service then writes."""

    amount: int  # paid now, in all
    due_now: int  # of which: what is due and the next installment
    prepaid: int  # of which: off the principal of the months after
    mode: PrepaymentMode
    old: list[Installment]
    new: list[NewInstallment]
    old_total: int  # what the months after owed before (they are re-made in place)
    old_interest: int

    @property
    def new_total(self) -> int:
        return sum(i.total for i in self.new)

    @property
    def interest_saved(self) -> int:
        return self.old_interest - sum(i.interest for i in self.new)


def plan_prepayment(
    loan: Loan, installments: list[Installment], *, amount: int, mode: str, available: int = 0
) -> PrepaymentPlan:
    """The new schedule a prepayment of ``amount`` gives (nothing written). ``available``: the
    member's credit, which with the amount may already settle the loan."""
    if loan.status != LoanStatus.ACTIVE:
        raise Conflict(f"Loan {loan.reference} is {loan.get_status_display().lower()}.")
    if loan.settlement_rule == SettlementRule.NONE:
        raise Conflict(
            "On this loan paying early does not reduce the interest, so a prepayment changes "
            "nothing; extra money pays your next installments as they fall due."
        )
    try:
        mode = PrepaymentMode(mode)
    except ValueError:
        raise DomainError(
            "Choose to finish sooner or to pay less each month.", fields={"mode": "Choose one"}
        ) from None
    today = lagos_today()
    due = due_now(installments, today)
    due_ids = {i.pk for i in due}
    future = [i for i in installments if i.pk not in due_ids and i.outstanding]
    due_amount = sum(i.outstanding for i in due)
    if not isinstance(amount, int) or amount <= due_amount:
        raise DomainError(
            f"A prepayment is more than what is due now ({format_naira(due_amount)}): the "
            "extra comes off what you owe later.",
            fields={"amount": f"More than {format_naira(due_amount)}"},
        )
    if not future:
        raise Conflict("No later installments are left to prepay; settle the loan instead.")
    if any(i.total_paid for i in future):
        raise Conflict("Later installments are already partly paid; settle the loan instead.")
    prepaid = amount - due_amount
    principal_left = sum(i.principal for i in future)
    settles = figures_for(loan, installments, on=today, credit_kobo=available).total
    if prepaid >= principal_left or amount >= settles:
        raise DomainError(
            "That pays off everything you borrowed: get a settlement quote instead, it costs less.",
            fields={"amount": "Use a settlement quote"},
        )
    new = after_prepayment(
        future,
        prepaid=prepaid,
        monthly_rate=loan.monthly_rate,
        method=loan.interest_method,
        mode=mode,
    )
    return PrepaymentPlan(
        amount,
        due_amount,
        prepaid,
        mode,
        future,
        new,
        old_total=sum(i.total_due for i in future),
        old_interest=sum(i.interest for i in future),
    )


def preview_prepayment(*, loan: Loan, amount: int, mode: str) -> PrepaymentPlan:
    """The plan the confirm would carry out. Paid from credit when the credit covers the
    amount: the amount then leaves the credit, so only what stays (credit − amount) may
    count towards settling the loan, exactly as ``prepay_from_credit`` checks it. Paid with
    new money (a checkout), the whole credit stays and counts."""
    installments = list(loan.installments.order_by("number"))
    available = available_credit(loan.member)
    if isinstance(amount, int) and 0 < amount <= available:
        available -= amount
    return plan_prepayment(loan, installments, amount=amount, mode=mode, available=available)


@transaction.atomic
def prepay_from_credit(*, loan: Loan, amount: int, mode: str, actor) -> PrepaymentPlan:
    """Use ``amount`` of credit: what is due and the next installment first, the rest off the
    principal; the months after get a new schedule (the old one kept as a version)."""
    _check_actor(loan, actor)
    loan, installments, available = _lock(loan)
    plan = plan_prepayment(
        loan, installments, amount=amount, mode=mode, available=available - amount
    )
    if available < plan.amount:
        raise Conflict(
            f"Your credit is {format_naira(available)}; a prepayment of "
            f"{format_naira(plan.amount)} needs that much (pay the rest first)."
        )
    if plan.due_now:
        pay_from_credit(
            loan=loan,
            installments=installments,
            amount=plan.due_now,
            actor=actor,
            targets=due_now(installments, lagos_today()),
        )
    reason = (
        VersionReason.PREPAYMENT_SHORTER
        if plan.mode is PrepaymentMode.SHORTER
        else VersionReason.PREPAYMENT_LOWER
    )
    keep_version(loan, installments, reason=reason, actor=actor)
    _reschedule(plan, installments)
    payment = credit_payment(
        loan=loan, amount=plan.prepaid, actor=actor, prefix="PP", intent=f"prepay_{plan.mode}"
    )
    # Off the principal as a whole (no installment: the months after were re-made).
    Allocation.objects.create(payment=payment, component="principal", amount=plan.prepaid)
    dims = {"loan_id": loan.pk, "member_id": loan.member_id}
    post_entry(
        kind=EntryKind.CREDIT_APPLIED,
        lines=[
            debit(chart.MEMBER_CREDIT, plan.prepaid, **dims),
            credit(chart.LOANS_PRINCIPAL, plan.prepaid, **dims),
            debit(chart.UNEARNED_INTEREST, plan.interest_saved, **dims),
            credit(chart.LOANS_INTEREST, plan.interest_saved, **dims),
        ],
        effective_date=lagos_today(),
        loan=loan,
        payment=payment,
        memo=f"Prepayment {payment.reference} ({plan.mode})",
        idempotency_key=f"payment:{payment.pk}",
        actor=actor,
    )
    audit.record(
        actor=actor,
        action="loan.prepaid",
        obj=loan,
        changes={
            "amount": plan.amount,
            "prepaid": plan.prepaid,
            "mode": str(plan.mode),
            "installments": [len(plan.old), len(plan.new)],
            "interest_saved": plan.interest_saved,
        },
    )
    _notify(payment)
    return plan


def _reschedule(plan: PrepaymentPlan, installments: list[Installment]) -> None:
    """The months after get the new amounts; months no longer needed go (none was paid)."""
    for inst, new in zip(plan.old, plan.new, strict=False):
        inst.due_date, inst.principal, inst.interest = new.due_date, new.principal, new.interest
    gone = {i.pk for i in plan.old[len(plan.new) :]}
    if gone:
        Installment.objects.filter(pk__in=gone).delete()
    remaining = [i for i in installments if i.pk not in gone]
    lifecycle.apply_installment_amounts(remaining, now=timezone.now(), scheduled=True)


def carry_out_intent(payment: Payment) -> PrepaymentPlan | None:
    """After a checkout the member started as a prepayment is confirmed: the part that became
    credit is prepaid as they chose. If that is no longer possible (the loan settled, the
    schedule changed), the money simply stays their credit — nothing is lost."""
    if not payment.intent.startswith("prepay_") or payment.status != PaymentStatus.SUCCESSFUL:
        return None
    credited = sum(a.amount for a in payment.allocations.all() if a.component == "credit")
    if credited <= 0:
        return None
    try:
        return prepay_from_credit(
            loan=payment.loan,
            amount=credited,
            mode=payment.intent.removeprefix("prepay_"),
            actor=None,
        )
    except (Conflict, DomainError) as exc:
        audit.record(
            actor=None,
            action="loan.prepayment_left_as_credit",
            obj=payment,
            changes={"amount": credited, "why": exc.message},
        )
        return None
