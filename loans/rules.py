"""The questions pages ask about an application or a loan, answered in one place: templates
(through ``loans.templatetags.loan_rules``), views and services ask here instead of
comparing statuses themselves."""

from loans.models import ApplicationStatus, LoanStatus

# --- Applications ---------------------------------------------------------------------------


def approvals_needed(application, amount: int | None = None) -> int:
    """Two different officers must approve an amount above the product's dual-approval
    threshold; one is enough below it. ``amount`` is the approved amount (the asked amount by
    default: an officer may lower it)."""
    amount = application.amount if amount is None else amount
    return 2 if amount > application.product.dual_approval_above else 1


def needs_second_approval(application) -> bool:
    return approvals_needed(application) > 1


def awaits_decision(application) -> bool:
    """An officer may approve, reject or ask the member for information."""
    return application.status == ApplicationStatus.IN_REVIEW


def is_being_assessed(application) -> bool:
    """Submitted: the automatic assessment runs in the background."""
    return application.status == ApplicationStatus.SUBMITTED


def may_be_submitted(application) -> bool:
    """A draft: the member reads the key facts and submits it."""
    return application.status == ApplicationStatus.DRAFT


def is_approved(application) -> bool:
    """Approved: a loan exists (awaiting payout, active, repaid or cancelled in cooling-off)."""
    return application.status == ApplicationStatus.APPROVED


def is_rejected(application) -> bool:
    return application.status == ApplicationStatus.REJECTED


def asks_member_for_information(application) -> bool:
    return bool(application.info_requested) and awaits_decision(application)


def history_reason_shown(entry) -> bool:
    """A history row's reason, except a rejection's: that reason is shown on its own."""
    return bool(entry.reason) and entry.to_status != ApplicationStatus.REJECTED


# --- Loans ----------------------------------------------------------------------------------


def awaits_payout(loan) -> bool:
    """Approved, the money not sent yet: due dates are fixed when it is."""
    return loan.status == LoanStatus.PENDING_DISBURSEMENT


def is_repaid(loan) -> bool:
    """Closed: fully repaid, the discharge letter is issued."""
    return loan.status == LoanStatus.CLOSED


def is_discharged(loan) -> bool:
    """Nothing more is owed: closed, or written off and then recovered in full (``closed_at``
    is set when the last kobo arrives). The discharge letter is shown then."""
    return loan.closed_at is not None and loan.status in (
        LoanStatus.CLOSED,
        LoanStatus.WRITTEN_OFF,
    )


def is_written_off(loan) -> bool:
    """Written off in our books: the member still owes what the agreement says."""
    return loan.status == LoanStatus.WRITTEN_OFF


def is_active(loan) -> bool:
    return loan.status == LoanStatus.ACTIVE


def can_pay(loan, user) -> bool:
    """The Pay button: only the borrower, only on an active loan or a written-off one still
    owing (a recovery; checkout re-checks)."""
    return (
        user is not None
        and getattr(user, "pk", None) is not None
        and loan.member.user_id == user.pk
        and (is_active(loan) or (is_written_off(loan) and not is_discharged(loan)))
    )


def takes_recoveries(loan) -> bool:
    """Written off and still owing: money that arrives is a recovery."""
    return is_written_off(loan) and not is_discharged(loan)
