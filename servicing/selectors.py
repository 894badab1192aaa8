"""Reads for servicing pages (the loan itself comes from ``loans.selectors.loan_for``, which
scopes it to what the user may see)."""

from servicing.models import Waiver


def loan_waivers(loan):
    """Every waiver of the loan, newest first, with the people who asked and decided."""
    return Waiver.objects.filter(loan=loan).select_related("requested_by", "decided_by")
