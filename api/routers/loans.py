from datetime import date

from ninja import Field, Query, Router, Schema

from api import presenters
from api.errors import ERROR_RESPONSES
from api.filtering import apply_filters
from api.pagination import PageParams, paginate_rows
from api.schemas import LoanDetailOut, LoanPage
from ledger.selectors import loan_balance
from loans.filters import LoanFilter
from loans.models import LoanStatus
from loans.selectors import loan_for, loans_visible_to

router = Router(tags=["loans"])


class LoanFilters(Schema):
    q: str | None = Field(None, max_length=40, description="Loan or application reference")
    status: LoanStatus | None = None
    product: int | None = Field(None, ge=1, le=2**31 - 1)
    state: str | None = Field(None, pattern="^[A-Z]{2}$", description="Deployment state")
    disbursed_from: date | None = None
    disbursed_to: date | None = None
    created_from: date | None = None
    created_to: date | None = None


@router.get("/loans", response={200: LoanPage, **ERROR_RESPONSES})
def list_loans(request, filters: Query[LoanFilters], page: Query[PageParams]):
    """A member's own loans; all loans for staff allowed to view them. Newest first."""
    qs = apply_filters(LoanFilter, filters, loans_visible_to(request.auth))
    return paginate_rows(request, qs, page, presenters.LOAN)


@router.get("/loans/{reference}", response={200: LoanDetailOut, **ERROR_RESPONSES})
def get_loan(request, reference: str):
    """The loan with its schedule and the balance still owed (from the ledger)."""
    loan = loan_for(request.auth, reference)
    return presenters.loan_detail(loan, balance=loan_balance(loan))
