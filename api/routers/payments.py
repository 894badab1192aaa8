from datetime import date

from django.http import Http404
from ninja import Field, Query, Router, Schema

from api import presenters
from api.errors import ERROR_RESPONSES, ApiError
from api.filtering import apply_filters
from api.idempotency import idempotent
from api.pagination import PageParams, paginate_rows
from api.schemas import ManualPaymentIn, PaymentOut, PaymentPage, to_kobo
from loans.selectors import loans_visible_to
from payments.filters import PaymentFilter
from payments.models import PaymentChannel, PaymentStatus
from payments.selectors import payments_visible_to
from payments.services import repayment

router = Router(tags=["payments"])


class PaymentFilters(Schema):
    q: str | None = Field(None, max_length=80, description="Payment or loan reference")
    status: PaymentStatus | None = None
    channel: PaymentChannel | None = None
    loan: str | None = Field(None, max_length=20, description="Loan reference")
    received_from: date | None = None
    received_to: date | None = None


@router.get("/payments", response={200: PaymentPage, **ERROR_RESPONSES})
def list_payments(request, filters: Query[PaymentFilters], page: Query[PageParams]):
    """A member's own payments; all payments for staff allowed to view them. Newest first."""
    qs = apply_filters(PaymentFilter, filters, payments_visible_to(request.auth))
    return paginate_rows(request, qs, page, presenters.PAYMENT)


@router.post(
    "/payments",
    response={201: PaymentOut, **ERROR_RESPONSES},
    openapi_extra={
        "parameters": [
            {
                "in": "header",
                "name": "Idempotency-Key",
                "required": True,
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                "description": (
                    "Unique per payment, e.g. a UUID; a retry sends the same key. Answers "
                    "are replayed for 7 days (API_IDEMPOTENCY_RETENTION_HOURS)."
                ),
            }
        ]
    },
)
def record_manual_payment(request, payload: ManualPaymentIn):
    """Finance records a repayment received outside the provider (needs Idempotency-Key)."""
    user = request.auth
    if not (user.is_staff and user.has_perm("payments.add_payment")):
        raise ApiError(403, "forbidden", "You do not have permission to record payments.")
    loan = loans_visible_to(user).filter(reference=payload.loan).first()
    if loan is None:
        raise Http404("No such loan")

    def record():
        payment = repayment.record_manual_payment(
            loan=loan,
            actor=user,
            amount=to_kobo(payload.amount),
            reason=payload.reason,
            evidence=payload.evidence,
        )
        payment.loan = loan
        return 201, presenters.payment(payment)

    return idempotent(request, user, record, required=True)
