"""Servicing a running loan: the early-settlement quote, partial prepayment (preview, then
confirm), settlement, and using member credit for what is due now.

Every figure comes from the services the web pages use (``payments.services.settlement`` and
``payments.services.credit``), so the API shows and posts what the member portal shows and
posts. Who may do what:

* read the quote or preview a prepayment: whoever may see the loan (the member for their own,
  staff who may view loans); another member's loan is a 404, never a 403;
* pay (prepayment, settlement): the borrower, from their credit or through a checkout; finance
  (``payments.add_payment``) may use the member's credit for them, never start a checkout;
* use credit now: the borrower or finance.

The money POSTs need an ``Idempotency-Key``: a retry gets the first answer and moves no money.
"""

import datetime as dt

from django.urls import reverse
from ninja import Field, Path, Query, Router, Schema

from api.errors import ERROR_RESPONSES, ApiError, ErrorOut
from api.idempotency import idempotent
from api.schemas import to_kobo
from api.servicing_schemas import (
    CreditUseOut,
    PrepaymentIn,
    PrepaymentOut,
    PrepaymentPreviewOut,
    SettlementOut,
    SettlementQuoteOut,
)
from core.errors import DomainError
from core.money import api_amount, format_naira
from loans.models import Loan
from loans.selectors import loan_for
from payments.providers.base import ProviderError
from payments.selectors import available_credit
from payments.services import checkout, credit, settlement
from payments.services.credit import PrepaymentPlan

router = Router(tags=["servicing"])

# Letters, digits and dashes, like every loan reference: anything else is a 422, never a
# database error (a NUL byte in a path).
LoanReference = Path(..., min_length=1, max_length=20, pattern=r"^[A-Za-z0-9-]+$")

IDEMPOTENCY_HEADER = {
    "parameters": [
        {
            "in": "header",
            "name": "Idempotency-Key",
            "required": True,
            "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            "description": (
                "Unique per request, e.g. a UUID; a retry sends the same key and gets the first "
                "answer (nothing is paid twice)."
            ),
        }
    ]
}
# 503: the payment provider did not answer. Nothing is kept (not even the key), so a retry
# with the same key runs again.
MONEY_RESPONSES = {**ERROR_RESPONSES, 503: ErrorOut}


class QuoteParams(Schema):
    date: dt.date | None = Field(
        None, description="The day to settle on: today (the default) up to 30 days ahead."
    )


class _ProviderDown(Exception):
    """Raised inside an idempotent operation so that it is rolled back with its key."""


def _is_borrower(user, loan: Loan) -> bool:
    return loan.member.user_id == user.pk


def _is_finance(user) -> bool:
    return user.is_staff and user.has_perm("payments.add_payment")


def _may_pay(user, loan: Loan, what: str) -> None:
    if not (_is_borrower(user, loan) or _is_finance(user)):
        raise ApiError(403, "forbidden", f"Only the borrower or finance can {what}.")


def _plan(loan: Loan, plan: PrepaymentPlan, *, paid_from: str) -> dict:
    return {
        "loan": loan.reference,
        "amount": api_amount(plan.amount),
        "choice": str(plan.mode),
        "paid_from": paid_from,
        "due_now": api_amount(plan.due_now),
        "prepaid": api_amount(plan.prepaid),
        "installments_before": len(plan.old),
        "installments_after": len(plan.new),
        "total_before": api_amount(plan.old_total),
        "total_after": api_amount(plan.new_total),
        "interest_saved": api_amount(plan.interest_saved),
        "installments": [
            {
                "due_date": i.due_date,
                "principal": api_amount(i.principal),
                "interest": api_amount(i.interest),
                "total": api_amount(i.total),
            }
            for i in plan.new
        ],
    }


def _start_checkout(request, loan: Loan, amount: int, intent: str) -> dict:
    """The borrower's checkout; its reference, amount and the provider's page."""
    callback = request.build_absolute_uri(reverse("payments:checkout_return"))
    try:
        payment, url = checkout.start_checkout(
            loan=loan, actor=request.auth, amount=amount, callback_url=callback, intent=intent
        )
    except ProviderError as exc:
        raise _ProviderDown from exc
    return {"payment": payment.reference, "amount": api_amount(amount), "checkout_url": url}


def _idempotent_money(request, operation):
    try:
        return idempotent(request, request.auth, operation, required=True)
    except _ProviderDown:
        raise ApiError(
            503,
            "provider_unavailable",
            "The payment provider did not answer; nothing was charged. Try again in a minute "
            "with the same Idempotency-Key.",
        ) from None


@router.get(
    "/loans/{reference}/settlement-quote",
    response={200: SettlementQuoteOut, **ERROR_RESPONSES},
)
def settlement_quote(request, params: Query[QuoteParams], reference: str = LoanReference):
    """What closes the loan if paid by the given day (today by default, at most 30 days
    ahead): the principal still owed, interest earned to that day, fees and late fees, less
    the member's credit. Writes nothing."""
    loan = loan_for(request.auth, reference)
    try:
        quote = settlement.quote(loan, on=params.date)
    except DomainError as exc:
        if "on" in exc.fields:  # the service names the day "on"; here it is the "date" field
            raise DomainError(
                exc.message, code="invalid_date", fields={"date": exc.fields["on"]}
            ) from None
        raise
    figures = quote.figures
    return {
        "loan": loan.reference,
        "on": figures.on,
        "valid_until": quote.valid_until,
        "principal": api_amount(figures.principal),
        "interest": api_amount(figures.interest),
        "fees": api_amount(figures.fees),
        "late_fees": api_amount(figures.late_fees),
        "interest_given_back": api_amount(figures.refund),
        "credit": api_amount(figures.credit),
        "rebate": api_amount(figures.rebate),
        "total": api_amount(quote.amount),
    }


@router.post(
    "/loans/{reference}/prepayments/preview",
    response={200: PrepaymentPreviewOut, **ERROR_RESPONSES},
)
def preview_prepayment(request, payload: PrepaymentIn, reference: str = LoanReference):
    """The new schedule a prepayment gives, and what it saves (nothing is written)."""
    loan = loan_for(request.auth, reference)
    amount = to_kobo(payload.amount)
    plan = credit.preview_prepayment(loan=loan, amount=amount, mode=payload.choice)
    paid_from = "credit" if available_credit(loan.member) >= amount else "checkout"
    return _plan(loan, plan, paid_from=paid_from)


@router.post(
    "/loans/{reference}/prepayments",
    response={201: PrepaymentOut, **MONEY_RESPONSES},
    openapi_extra=IDEMPOTENCY_HEADER,
)
def prepay(request, payload: PrepaymentIn, reference: str = LoanReference):
    """Prepay: from the member's credit when it covers the amount (the new schedule is in
    force at once), otherwise the borrower pays through a checkout and the loan gets the new
    schedule when the money arrives. Needs an Idempotency-Key."""
    user = request.auth
    loan = loan_for(user, reference)
    _may_pay(user, loan, "prepay a loan")
    amount = to_kobo(payload.amount)

    def pay():
        if available_credit(loan.member) >= amount:
            plan = credit.prepay_from_credit(
                loan=loan, amount=amount, mode=payload.choice, actor=user
            )
            paid = {"paid_from": "credit", "plan": _plan(loan, plan, paid_from="credit")}
            return 201, {"loan": loan.reference, **paid, "checkout": None}
        plan = credit.preview_prepayment(loan=loan, amount=amount, mode=payload.choice)
        if not _is_borrower(user, loan):
            raise ApiError(
                409,
                "not_enough_credit",
                "The member's credit does not cover this prepayment; the member pays it "
                "through the checkout.",
                fields={"amount": "More than the member's credit"},
            )
        started = _start_checkout(request, loan, amount, f"prepay_{plan.mode}")
        return 201, {
            "loan": loan.reference,
            "paid_from": "checkout",
            "plan": _plan(loan, plan, paid_from="checkout"),
            "checkout": started,
        }

    return _idempotent_money(request, pay)


@router.post(
    "/loans/{reference}/settlement",
    response={201: SettlementOut, **MONEY_RESPONSES},
    openapi_extra=IDEMPOTENCY_HEADER,
)
def settle(request, reference: str = LoanReference):
    """Settle the loan today: from the member's credit when it covers today's figure (the loan
    closes at once), otherwise the borrower pays the figure through a checkout. Needs an
    Idempotency-Key."""
    user = request.auth
    loan = loan_for(user, reference)
    _may_pay(user, loan, "settle a loan")

    def pay():
        quote = settlement.quote(loan)
        if quote.amount == 0:
            payment = credit.settle_from_credit(loan=loan, actor=user)
            loan.refresh_from_db(fields=["status"])
            return 201, {
                "loan": loan.reference,
                "loan_status": loan.status,
                "paid_from": "credit",
                "amount": api_amount(payment.amount if payment else 0),
                "payment": payment.reference if payment else None,
                "checkout": None,
            }
        if not _is_borrower(user, loan):
            raise ApiError(
                409,
                "not_enough_credit",
                f"The member's credit does not cover today's figure; the member pays the other "
                f"{format_naira(quote.amount)} through the checkout.",
            )
        started = _start_checkout(request, loan, quote.amount, "settle")
        return 201, {
            "loan": loan.reference,
            "loan_status": loan.status,
            "paid_from": "checkout",
            "amount": api_amount(quote.amount),
            "payment": None,
            "checkout": started,
        }

    return _idempotent_money(request, pay)


@router.post(
    "/loans/{reference}/credit/use",
    response={201: CreditUseOut, **ERROR_RESPONSES},
    openapi_extra=IDEMPOTENCY_HEADER,
)
def use_credit(request, reference: str = LoanReference):
    """Pay what is due now (and the running installment) from the member's credit, as far as
    it goes. Needs an Idempotency-Key."""
    user = request.auth
    loan = loan_for(user, reference)
    _may_pay(user, loan, "use the member's credit")

    def use():
        payment = credit.use_credit_now(loan=loan, actor=user)
        return 201, {
            "loan": loan.reference,
            "payment": payment.reference,
            "amount": api_amount(payment.amount),
            "credit_left": api_amount(available_credit(loan.member)),
        }

    return idempotent(request, user, use, required=True)
