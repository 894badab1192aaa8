"""Loans in arrears, built through the real services and then moved back in time."""

from datetime import date, timedelta

from devdata.arrears import move_into_arrears
from tests import factories
from tests.factories import MemberFactory


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
