"""Request and response shapes. Money is a decimal string in naira (``"150000.00"``), dates
ISO 8601 (due dates are Africa/Lagos calendar dates), timestamps ISO 8601 with offset."""

from datetime import date, datetime
from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic import AfterValidator, ConfigDict, WithJsonSchema
from pydantic_core import PydanticCustomError

from core.money import MoneyError, parse_naira

# At most ₦999,999,999.99: anything larger is absurd for this lender and refused up front.
API_MAX_KOBO = 999_999_999_99
# What the OpenAPI document shows; the check itself is core.money.parse_naira (plain).
NAIRA_PATTERN = r"^(0|[1-9][0-9]{0,8})(\.[0-9]{1,2})?$"
Money = str


def _check_naira(value: str) -> str:
    """Refuse an amount in words (code ``money_<rule>``), through the site's one parser."""
    try:
        parse_naira(value, plain=True, max_kobo=API_MAX_KOBO)
    except MoneyError as exc:
        raise PydanticCustomError(f"money_{exc.code}", exc.message) from None
    return value


# An amount sent to the API: ``"150000.00"``.
NairaText = Annotated[
    str,
    AfterValidator(_check_naira),
    WithJsonSchema({"type": "string", "pattern": NAIRA_PATTERN}),
]


class Strict(Schema):
    """Input: unknown fields are refused, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


def naira_field(description: str, **kwargs):
    return Field(..., description=description, examples=["150000.00"], **kwargs)


def to_kobo(value: str) -> int:
    """Kobo of an amount the schema already checked (``NairaText``)."""
    return parse_naira(value, plain=True, max_kobo=API_MAX_KOBO)


class ProductOut(Schema):
    id: int
    name: str
    description: str
    is_active: bool
    min_principal: Money
    max_principal: Money
    tenures: list[int]
    interest_method: str
    monthly_rate: str
    fee_percent: str
    fee_fixed: Money
    fee_treatment: str
    late_fee_percent_per_day: str
    late_fee_cap_percent: str
    grace_days: int
    due_day: int
    max_income_share: str
    cooling_off_days: int


class RuleOut(Schema):
    rule: str
    passed: bool
    reason: str
    warning: bool


class ScheduleLineOut(Schema):
    number: int
    due_date: date
    principal: Money
    interest: Money
    fee: Money
    total: Money


class SchedulePreviewOut(Schema):
    principal: Money
    fee: Money
    disbursed_amount: Money
    total_interest: Money
    total_repayable: Money
    total_cost_of_credit: Money
    apr: str
    installments: list[ScheduleLineOut]


class QuoteOut(Schema):
    product: int
    amount: Money
    tenure_months: int
    can_apply: bool
    personalised: bool = Field(description="True when the member's own eligibility was checked.")
    problems: list[RuleOut]
    schedule: SchedulePreviewOut | None


class ApplicationOut(Schema):
    reference: str
    status: str
    product: int
    product_name: str
    amount: Money
    tenure_months: int
    created_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None
    approved_amount: Money | None
    approved_tenure: int | None
    decision_reason: str
    deployment_state: str
    applicant_name: str
    is_flagged: bool
    recommendation: str


class ApplicationDetailOut(ApplicationOut):
    key_facts_hash: str
    key_facts: SchedulePreviewOut | None
    assessment: list[RuleOut]
    loan: str | None


class ApplicationPage(Schema):
    items: list[ApplicationOut]
    next_cursor: str | None


class ApplicationIn(Strict):
    product: int = Field(..., ge=1, le=2**31 - 1)
    amount: NairaText = naira_field('Amount in naira, e.g. "150000.00".')
    tenure_months: int = Field(..., ge=1, le=60)


class SubmitIn(Strict):
    consent: bool = Field(..., description="The member read and accepts the key facts.")
    key_facts_hash: str = Field(..., min_length=1, max_length=64)


class ApproveIn(Strict):
    amount: NairaText | None = Field(default=None, description="Lower amount, optional.")
    tenure_months: int | None = Field(default=None, ge=1, le=60)


class RejectIn(Strict):
    reason: str = Field(..., min_length=1, max_length=2000)


class InstallmentOut(Schema):
    number: int
    due_date: date
    status: str
    principal: Money
    interest: Money
    fee: Money
    late_fee: Money
    total_due: Money
    total_paid: Money
    outstanding: Money


class LoanOut(Schema):
    reference: str
    application: str
    status: str
    product: int
    principal: Money
    tenure_months: int
    interest_method: str
    monthly_rate: str
    fee_amount: Money
    disbursed_amount: Money
    total_interest: Money
    total_repayable: Money
    apr: str
    created_at: datetime
    approved_at: datetime
    disbursed_on: date | None
    closed_at: datetime | None
    cooling_off_until: date


class LoanDetailOut(LoanOut):
    balance: Money = Field(description="Still owed, from the ledger.")
    installments: list[InstallmentOut]


class LoanPage(Schema):
    items: list[LoanOut]
    next_cursor: str | None


class PaymentOut(Schema):
    reference: str
    loan: str | None
    amount: Money
    channel: str
    status: str
    created_at: datetime
    received_at: datetime | None
    reversed_at: datetime | None


class PaymentPage(Schema):
    items: list[PaymentOut]
    next_cursor: str | None


class ManualPaymentIn(Strict):
    loan: str = Field(..., min_length=1, max_length=20, description="Loan reference.")
    amount: NairaText = naira_field("Amount received in naira.")
    reason: str = Field(..., min_length=1, max_length=2000)
    evidence: str = Field(default="", max_length=200)


class MeOut(Schema):
    id: int
    email: str
    is_staff: bool
    permissions: list[str]
    auth: Literal["session", "token"]
    token_scope: str | None


class PingOut(Schema):
    ok: bool
