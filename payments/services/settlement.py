"""Early settlement and member credit: the quote a member, an officer, finance or the API sees,
and the postings when money settles a loan or credit pays an installment.

The figure comes from ``loans.settlement.settlement_figures`` — the same function for the quote
and for the payment that settles — so what a member is shown is what is posted. A payment that
covers the figure on the day it arrives settles the loan whatever the channel (checkout, bank
transfer, allowance deduction, entry by hand): the interest not earned is rebated (installments
and ledger), the rest is allocated, the loan closes and the discharge letter is issued. A quote
paid after its date is re-figured on the day the money arrives: it never over- or under-charges;
money above the figure is member credit, below it pays what is due and the member re-quotes.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import timezone

from core import audit
from core.clock import lagos_today
from core.errors import Conflict, DomainError
from ledger import chart
from ledger.models import EntryKind
from ledger.posting import credit, debit, post_entry
from loans import lifecycle
from loans.models import Installment, Loan, LoanStatus
from loans.settlement import MAX_QUOTE_DAYS_AHEAD, SettlementFigures, settlement_figures
from loans.versions import VersionReason, keep_version
from payments.selectors import available_credit

SETTLEABLE = (LoanStatus.ACTIVE, LoanStatus.WRITTEN_OFF)


@dataclass(frozen=True)
class Quote:
    loan: Loan
    figures: SettlementFigures

    @property
    def valid_until(self) -> date:
        return self.figures.on

    @property
    def amount(self) -> int:
        return self.figures.total


def figures_for(loan: Loan, installments, *, on: date, credit_kobo: int) -> SettlementFigures:
    return settlement_figures(
        installments,
        started_on=loan.disbursed_on or on,
        monthly_rate=loan.monthly_rate,
        rule=loan.settlement_rule,
        on=on,
        credit=credit_kobo,
    )


def check_quote_date(on: date, today: date) -> None:
    if on < today:
        raise DomainError(
            "A settlement quote is for today or a day ahead, not a past day.",
            fields={"on": "Choose today or a later day"},
        )
    if on > today + timedelta(days=MAX_QUOTE_DAYS_AHEAD):
        raise DomainError(
            f"A settlement quote can be for at most {MAX_QUOTE_DAYS_AHEAD} days ahead.",
            fields={"on": f"At most {MAX_QUOTE_DAYS_AHEAD} days ahead"},
        )


def check_settleable(loan: Loan) -> None:
    if loan.status not in SETTLEABLE:
        raise Conflict(
            f"Loan {loan.reference} is {loan.get_status_display().lower()}: "
            "there is nothing to settle."
        )
    if loan.closed_at is not None:  # written off, then recovered in full
        raise Conflict(f"Loan {loan.reference} was recovered in full: there is nothing to settle.")


def quote(loan: Loan, *, on: date | None = None) -> Quote:
    """What closes ``loan`` if paid by ``on`` (today by default; at most 30 days ahead)."""
    today = lagos_today()
    on = on or today
    check_quote_date(on, today)
    check_settleable(loan)
    installments = list(Installment.objects.filter(loan=loan).order_by("number"))
    return Quote(
        loan=loan,
        figures=figures_for(loan, installments, on=on, credit_kobo=available_credit(loan.member)),
    )


def rebate_unearned_interest(
    loan: Loan, installments: list[Installment], figures: SettlementFigures, *, key: str, actor
) -> None:
    """Cut each installment's interest to what the figure keeps (the old schedule is kept as a
    version): unpaid interest not earned leaves the receivable against unearned interest, and
    interest paid for days after the settlement day goes back to the member as credit. On a
    written-off loan the receivable already left the books, so only the schedule changes (and
    any interest given back comes out of recoveries)."""
    if figures.rebate == 0 and figures.refund == 0:
        return
    keep_version(loan, installments, reason=VersionReason.SETTLEMENT, actor=actor)
    for inst in installments:
        inst.interest = figures.keep[inst.number]
        inst.paid_interest = min(inst.paid_interest, inst.interest)
    lifecycle.apply_installment_amounts(installments, now=timezone.now(), scheduled=True)
    dims = {"loan_id": loan.pk, "member_id": loan.member_id}
    written_off = loan.status == LoanStatus.WRITTEN_OFF
    lines = []
    if figures.rebate and not written_off:
        lines += [
            debit(chart.UNEARNED_INTEREST, figures.rebate, **dims),
            credit(chart.LOANS_INTEREST, figures.rebate, **dims),
        ]
    if figures.refund:
        income = chart.RECOVERY_INCOME if written_off else chart.INTEREST_INCOME
        lines += [
            debit(income, figures.refund, **dims),
            credit(chart.MEMBER_CREDIT, figures.refund, **dims),
        ]
    if lines:
        post_entry(
            kind=EntryKind.ADJUSTMENT,
            lines=lines,
            effective_date=lagos_today(),
            loan=loan,
            memo=f"Interest not charged on early settlement of {loan.reference}",
            idempotency_key=f"settlement:{key}",
            actor=actor,
        )
    audit.record(
        actor=actor,
        action="loan.settled_early",
        obj=loan,
        changes={
            "on": figures.on.isoformat(),
            "rebate": figures.rebate,
            "refund": figures.refund,
            "total": figures.total,
        },
    )
