"""Shapes of the servicing endpoints: settlement quote, prepayment, settlement, use of credit.
Money is a decimal string in naira, like everywhere in the API."""

from datetime import date
from typing import Literal

from ninja import Field, Schema

from api.schemas import Money, NairaText, Strict, naira_field

PaidFrom = Literal["credit", "checkout"]


class SettlementQuoteOut(Schema):
    loan: str
    on: date = Field(description="The day the figure is for (Africa/Lagos).")
    valid_until: date = Field(description="Pay by the end of this day; after it, re-quote.")
    principal: Money = Field(description="What is still owed of the amount borrowed.")
    interest: Money = Field(description="Interest earned up to the day and not yet paid.")
    fees: Money
    late_fees: Money
    interest_given_back: Money = Field(
        description="Interest already paid for days after the day, given back."
    )
    credit: Money = Field(description="The member's credit used towards the figure.")
    rebate: Money = Field(description="Scheduled interest not charged because of paying early.")
    total: Money = Field(description="What closes the loan if paid by valid_until.")


class PrepaymentIn(Strict):
    amount: NairaText = naira_field(
        "Paid now in naira, more than what is due now; the extra comes off the principal."
    )
    choice: Literal["shorter", "lower"] = Field(
        description="shorter: fewer installments of the same amount; lower: the same number "
        "of installments, each smaller."
    )


class NewInstallmentOut(Schema):
    due_date: date
    principal: Money
    interest: Money
    total: Money


class PrepaymentPreviewOut(Schema):
    loan: str
    amount: Money
    choice: str
    paid_from: PaidFrom = Field(
        description="credit when the member's credit covers the amount, else a checkout."
    )
    due_now: Money = Field(description="Of the amount: what is due now and the next installment.")
    prepaid: Money = Field(description="Of the amount: off the principal of the months after.")
    installments_before: int
    installments_after: int
    total_before: Money = Field(description="What the months after owed before.")
    total_after: Money = Field(description="What they owe after the prepayment.")
    interest_saved: Money
    installments: list[NewInstallmentOut]


class CheckoutOut(Schema):
    payment: str = Field(description="Reference of the pending payment.")
    amount: Money
    checkout_url: str = Field(description="The provider's page where the member pays.")


class PrepaymentOut(Schema):
    loan: str
    paid_from: PaidFrom
    plan: PrepaymentPreviewOut = Field(
        description="Credit: the schedule now in force. Checkout: the schedule the loan gets "
        "once the money arrives (if still possible; otherwise the money stays credit)."
    )
    checkout: CheckoutOut | None


class SettlementOut(Schema):
    loan: str
    loan_status: str
    paid_from: PaidFrom
    amount: Money = Field(
        description="Credit: what the credit paid (interest given back joins the credit "
        "first). Checkout: today's figure, what the checkout asks for."
    )
    payment: str | None = Field(description="Reference of the credit payment, if any.")
    checkout: CheckoutOut | None


class CreditUseOut(Schema):
    loan: str
    payment: str
    amount: Money = Field(description="Credit used for what is due now.")
    credit_left: Money
