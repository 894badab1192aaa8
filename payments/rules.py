"""The questions pages ask about a payment or a statement line, answered in one place:
templates ask through ``payments.templatetags.payment_rules``."""

from payments.models import LineStatus, PaymentStatus

OPEN_LINE_STATUSES = (LineStatus.SUGGESTED, LineStatus.UNMATCHED)


def is_reversible(payment) -> bool:
    """Only a successful payment can be reversed (the service re-checks under lock)."""
    return payment.status == PaymentStatus.SUCCESSFUL


def line_is_open(line) -> bool:
    """A statement line still to resolve: confirm, re-match or ignore it."""
    return line.status in OPEN_LINE_STATUSES
