"""The prepayment preview shows what the confirm will do. Paid from credit, the amount leaves the
credit, so only what stays may count towards "this would settle the loan" — the preview once
counted the whole credit and refused a prepayment the confirm would have carried out."""

from datetime import date

import pytest

from core.errors import DomainError
from ledger.selectors import member_credit
from payments.services import credit as credit_services
from payments.services import settlement
from tests.payments.test_settlement import at, books_agree, pay
from tests.payments.test_settlement import reducing_loan as reducing_loan  # noqa: F401
from tests.payments.test_settlement import (  # noqa: F401
    reducing_loan_after_month_one as reducing_loan_after_month_one,
)

pytestmark = pytest.mark.django_db

MARCH_14 = date(2027, 3, 14)


def _rows(plan):
    return [(i.due_date, i.principal, i.interest) for i in plan.new]


def test_preview_of_a_prepayment_from_credit_is_what_the_confirm_writes(
    reducing_loan_after_month_one,
):
    """On 14 March the member pays installment 2 and ₦40,000 more, which becomes credit. The
    loan still owes far more than the credit (today's figure is above ₦40,000), so prepaying
    the ₦40,000 from credit is allowed: the preview must say so and match the confirm."""
    loan = reducing_loan_after_month_one
    second = loan.installments.get(number=2)
    with at(MARCH_14):
        pay(loan, second.total_due + 40_000_00, "PP-PREVIEW")
        assert member_credit(loan.member) == 40_000_00
        # Counting the whole credit, 40,000 + 40,000 would look like it settles the loan;
        # after the prepayment no credit is left, and the loan is far from settled.
        assert settlement.quote(loan).figures.gross > 40_000_00
        preview = credit_services.preview_prepayment(loan=loan, amount=40_000_00, mode="lower")
        done = credit_services.prepay_from_credit(
            loan=loan, amount=40_000_00, mode="lower", actor=loan.member.user
        )
    assert (preview.amount, preview.due_now, preview.prepaid) == (40_000_00, 0, 40_000_00)
    assert _rows(preview) == _rows(done)
    assert preview.interest_saved == done.interest_saved > 0
    assert [(i.due_date, i.principal, i.interest) for i in loan.installments.all()[2:]] == _rows(
        preview
    )
    assert member_credit(loan.member) == 0
    books_agree(loan)


def test_preview_with_new_money_counts_the_credit_the_member_keeps(reducing_loan_after_month_one):
    """Through a checkout the credit stays the member's: with ₦30,000 credit, a ₦45,000
    checkout and the credit would pay the whole figure (about ₦67,560), so the preview says
    "settle instead"; ₦35,000 and the credit would not, so it is allowed."""
    loan = reducing_loan_after_month_one
    second = loan.installments.get(number=2)
    with at(MARCH_14):
        pay(loan, second.total_due + 30_000_00, "PP-NEW-MONEY")
        assert member_credit(loan.member) == 30_000_00
        quote = settlement.quote(loan)
        figure = quote.amount + quote.figures.credit  # the figure before the credit
        assert 45_000_00 + 30_000_00 >= figure > 35_000_00 + 30_000_00
        with pytest.raises(DomainError, match="settlement quote"):
            credit_services.preview_prepayment(loan=loan, amount=45_000_00, mode="lower")
        plan = credit_services.preview_prepayment(loan=loan, amount=35_000_00, mode="shorter")
    assert (plan.due_now, plan.prepaid) == (0, 35_000_00)
