"""Approving a restructure writes the new schedule (the caller, ``servicing.services.
restructure``, holds the loan's and its installments' locks, inside its transaction).

The schedule in force is kept as a version; installments in arrears and partly paid ones are
closed at what was paid; the unpaid ones not yet due carry the new installments (more are added
as needed; none is deleted: late-fee charges and allocations refer to them); one balanced entry
``restructure:<id>`` capitalises or waives the arrears, waives late fees charged while the offer
waited, and replaces the old interest still to come with the new.
"""

from datetime import date
from decimal import Decimal

from django.utils import timezone

from core import audit
from core.clock import lagos_today
from core.errors import Conflict
from ledger import chart
from ledger.models import EntryKind
from ledger.posting import Line, post_entry
from loans import lifecycle
from loans.models import Installment, InstallmentStatus, Loan
from loans.services.booking import late_fee_rule_of
from loans.versions import VersionReason, keep_version
from servicing import restructure_terms as rt
from servicing.models import ArrearsTreatment, Restructure


def _unpaid(inst: Installment, field: str) -> int:
    return getattr(inst, field) - getattr(inst, f"paid_{field}")


def entry_lines(terms: dict, installments: list[Installment], **dims) -> list[Line]:
    """The balanced lines of an approval: arrears capitalised or waived, late fees charged
    since the offer waived, the old interest to come replaced by the new schedule's."""
    as_of = date.fromisoformat(terms["as_of"])
    unpaid = [i for i in installments if i.outstanding > 0]
    owed = rt.owed_on(unpaid, as_of)
    late_now = sum(_unpaid(i, "late_fee") for i in unpaid)
    late_offered = terms["arrears_late_fee"]
    late_since = late_now - late_offered
    if late_since < 0 or owed.arrears_interest != terms["arrears_interest"]:
        raise Conflict("The loan's arrears differ from the offer; nothing was changed.")
    totals: dict[str, int] = {}

    def move(debit_account: str, credit_account: str, amount: int) -> None:
        totals[debit_account] = totals.get(debit_account, 0) + amount
        totals[credit_account] = totals.get(credit_account, 0) - amount

    if terms["treatment"] == ArrearsTreatment.CAPITALISE:
        move(chart.LOANS_PRINCIPAL, chart.LOANS_INTEREST, owed.arrears_interest)
        # Capitalised interest becomes principal: it is earned now, not when "principal" is paid.
        move(chart.UNEARNED_INTEREST, chart.INTEREST_INCOME, owed.arrears_interest)
        move(chart.LOANS_PRINCIPAL, chart.LOANS_FEES, owed.arrears_fee)
        move(chart.LOANS_PRINCIPAL, chart.LOANS_PENALTIES, late_offered)
    else:
        move(chart.UNEARNED_INTEREST, chart.LOANS_INTEREST, owed.arrears_interest)
        move(chart.CHARGES_WAIVED, chart.LOANS_FEES, owed.arrears_fee)
        move(chart.CHARGES_WAIVED, chart.LOANS_PENALTIES, late_offered)
    move(chart.CHARGES_WAIVED, chart.LOANS_PENALTIES, late_since)
    move(chart.UNEARNED_INTEREST, chart.LOANS_INTEREST, owed.later_interest)
    move(chart.LOANS_INTEREST, chart.UNEARNED_INTEREST, terms["total_interest"])
    return [Line(account, amount, **dims) for account, amount in sorted(totals.items()) if amount]


def _rewrite(loan: Loan, installments: list[Installment], terms: dict) -> list[Installment]:
    """Close what is unpaid at what was paid; the unpaid months not yet due (nothing paid)
    carry the new installments, more are added as needed. Returns every installment."""
    today = lagos_today()
    rule = late_fee_rule_of(loan.application)
    reusable = [
        i
        for i in installments
        if i.total_paid == 0 and i.status == InstallmentStatus.PENDING and i.due_date >= today
    ]
    for inst in installments:
        if inst.outstanding > 0 and inst not in reusable:
            inst.principal, inst.interest = inst.paid_principal, inst.paid_interest
            inst.fee, inst.late_fee = inst.paid_fee, inst.paid_late_fee
    number = max(i.number for i in installments)
    created = []
    for k, new in enumerate(terms["schedule"]):
        due = date.fromisoformat(new["due_date"])
        values = {
            "due_date": due,
            "principal": new["principal"],
            "interest": new["interest"],
            "fee": new["fee"],
            "late_fee": 0,
            **rule.fields(due_date=due, scheduled=new["total"]),
        }
        if k < len(reusable):
            for field, value in values.items():
                setattr(reusable[k], field, value)
        else:
            number += 1
            created.append(Installment(loan=loan, number=number, **values))
    for inst in reusable[len(terms["schedule"]) :]:
        inst.principal = inst.interest = inst.fee = inst.late_fee = 0
    Installment.objects.bulk_create(created)
    everything = installments + created
    Installment.objects.bulk_update(
        everything, ["late_fee_from", "late_fee_daily_ppm", "late_fee_cap"]
    )
    return everything


def apply_restructure(
    restructure: Restructure, loan: Loan, installments: list[Installment], *, actor
):
    terms = restructure.terms
    dims = {"loan_id": loan.pk, "member_id": loan.member_id}
    lines = entry_lines(terms, installments, **dims)
    keep_version(loan, installments, reason=VersionReason.RESTRUCTURE, actor=actor)
    everything = _rewrite(loan, installments, terms)
    now = timezone.now()
    lifecycle.apply_installment_amounts(everything, now=now, scheduled=True)
    # Terms that only re-spread the same interest over the same months move no money.
    entry = (
        post_entry(
            kind=EntryKind.ADJUSTMENT,
            lines=lines,
            effective_date=lagos_today(),
            loan=loan,
            memo=f"Restructure of {loan.reference} (hardship): new schedule",
            idempotency_key=f"restructure:{restructure.pk}",
            actor=actor,
        )
        if lines
        else None
    )
    restructure.journal_entry = entry
    before = {"apr": str(loan.apr), "total_repayable": loan.total_repayable}
    loan.apr = Decimal(terms["apr"])
    loan.total_repayable = sum(i.principal + i.interest + i.fee for i in everything)
    loan.total_interest = sum(i.interest for i in everything)
    loan.restructured_at = now
    loan.save(update_fields=["apr", "total_repayable", "total_interest", "restructured_at"])
    audit.record(
        actor=actor,
        action="loan.restructured",
        obj=loan,
        changes={
            "restructure": restructure.pk,
            "entry": entry.pk if entry else None,
            "apr": [before["apr"], terms["apr"]],
            "total_repayable": [before["total_repayable"], loan.total_repayable],
            "schedule_version": loan.schedule_version,
            "proposed_by": restructure.proposed_by_id,
        },
    )
