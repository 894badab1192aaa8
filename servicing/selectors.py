"""Reads for servicing pages (the loan itself comes from ``loans.selectors.loan_for``, which
scopes it to what the user may see)."""

from servicing.models import OPEN_RESTRUCTURE, Restructure, Waiver


def loan_waivers(loan):
    """Every waiver of the loan, newest first, with the people who asked and decided."""
    return Waiver.objects.filter(loan=loan).select_related("requested_by", "decided_by")


def loan_restructures(loan):
    """Every restructure offer of the loan, newest first, with the officers and its history."""
    return (
        Restructure.objects.filter(loan=loan)
        .select_related("proposed_by", "decided_by")
        .prefetch_related("history__actor")
    )


def open_restructure(loan):
    """The offer waiting for the member or for a second officer, if any (at most one)."""
    return Restructure.objects.filter(loan=loan, status__in=OPEN_RESTRUCTURE).first()
