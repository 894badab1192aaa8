"""Member credit and refunds: the credit a loan's member holds, a refund request of it
(``Idempotency-Key``), and a refund's status. A member sees and asks for their own; staff who
may view loans see any member's credit; finance (``payments.approve_refund``) may ask for a
member and see every refund. Approval stays in the back office (a second person who
re-authenticates)."""

from datetime import datetime

from django.http import Http404
from ninja import Field, Router, Schema

from api.errors import ERROR_RESPONSES
from api.idempotency import idempotent
from api.schemas import Money, NairaText, Strict, naira_field, to_kobo
from core.money import api_amount
from loans.selectors import loan_for, loans_visible_to
from payments.models import Refund
from payments.refund_selectors import refunds_visible_to
from payments.services import refunds

router = Router(tags=["refunds"])


class CreditOut(Schema):
    loan: str
    credit: Money = Field(..., description="What we hold for the member (overpayments).")
    reserved: Money = Field(..., description="Approved refunds on their way to the bank.")
    requested: Money = Field(..., description="Refunds asked for, waiting for approval.")
    refundable: Money = Field(..., description="What a new refund request may ask for.")


class RefundIn(Strict):
    # Letters, digits and dashes, like every loan reference: a NUL byte or other control
    # character is a 422, never a database error.
    loan: str = Field(
        ..., min_length=1, max_length=20, pattern=r"^[A-Za-z0-9-]+$", description="Loan reference."
    )
    amount: NairaText = naira_field("Amount to refund in naira.")
    reason: str = Field(default="", max_length=2000)


class RefundOut(Schema):
    reference: str
    source: str
    status: str
    amount: Money
    loan: str | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    failure_reason: str


def _refund(refund: Refund) -> dict:
    return {
        "reference": refund.reference,
        "source": refund.source,
        "status": refund.status,
        "amount": api_amount(refund.amount),
        "loan": refund.loan.reference if refund.loan_id else None,
        "created_at": refund.created_at,
        "updated_at": refund.updated_at,
        "completed_at": refund.completed_at,
        "failure_reason": refund.failure_reason,
    }


@router.get("/loans/{reference}/credit", response={200: CreditOut, **ERROR_RESPONSES})
def get_credit(request, reference: str):
    """The member credit of the loan's member, and how much of it a refund may ask for."""
    loan = loan_for(request.auth, reference)
    summary = refunds.credit_summary(loan.member)
    return {
        "loan": loan.reference,
        **{key: api_amount(summary[key]) for key in ("credit", "reserved", "requested")},
        "refundable": api_amount(summary["refundable"]),
    }


@router.post(
    "/refunds",
    response={201: RefundOut, **ERROR_RESPONSES},
    openapi_extra={
        "parameters": [
            {
                "in": "header",
                "name": "Idempotency-Key",
                "required": True,
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                "description": (
                    "Unique per refund request, e.g. a UUID; a retry sends the same key."
                ),
            }
        ]
    },
)
def request_refund(request, payload: RefundIn):
    """Ask for a refund of member credit to the member's confirmed bank account (the member
    for their own loan, or finance); a second finance user approves it in the back office."""
    user = request.auth
    loan = loans_visible_to(user).select_related("member").filter(reference=payload.loan).first()
    if loan is None:
        raise Http404("No such loan")

    def ask():
        refund = refunds.request_credit_refund(
            member=loan.member,
            actor=user,
            amount=to_kobo(payload.amount),
            loan=loan,
            reason=payload.reason,
        )
        refund.loan = loan
        return 201, _refund(refund)

    return idempotent(request, user, ask, required=True)


@router.get("/refunds/{reference}", response={200: RefundOut, **ERROR_RESPONSES})
def get_refund(request, reference: str):
    """A refund's status: the member's own, or any for finance."""
    refund = refunds_visible_to(request.auth).filter(reference=reference).first()
    if refund is None:
        raise Http404("No such refund")
    return _refund(refund)
