"""Loans in arrears for tests, built through the real services and then moved back in time."""

from datetime import date, timedelta

from loans.models import Loan
from tests import factories
from tests.factories import MemberFactory


def move_into_arrears(loan: Loan, days_past_due: int, *, today: date) -> None:
    """Move a disbursed loan's schedule back so its first installment fell due
    ``days_past_due`` days before ``today``. A test shortcut: the due dates leave the product's
    due day and nothing else moves (the demo data travels in time instead, devdata/arrears.py)."""
    first = loan.installments.order_by("number").first()
    shift = (today - timedelta(days=days_past_due)) - first.due_date
    for inst in loan.installments.all():
        inst.due_date += shift
        inst.late_fee_from += shift
        inst.save(update_fields=["due_date", "late_fee_from"])
    Loan.objects.filter(pk=loan.pk).update(disbursed_on=loan.disbursed_on + shift)


def loan_in_arrears(days_past_due: int, *, today: date, name="Ngozi Eze", state="LA"):
    """An active loan whose first installment fell due ``days_past_due`` days before
    ``today`` (negative: not due yet)."""
    member = MemberFactory(
        full_name=name, passing_out=today + timedelta(days=500), monthly_allowance=300_000_00
    )
    loan = factories.active_loan(member=member, tenure=6)
    move_into_arrears(loan, days_past_due, today=today)
    loan.refresh_from_db()
    loan.application.deployment_state = state
    loan.application.save(update_fields=["deployment_state"])
    return loan
