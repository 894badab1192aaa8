from datetime import date

from django.http import Http404
from ninja import Field, Query, Router, Schema

from api import presenters
from api.errors import ERROR_RESPONSES, ApiError
from api.filtering import apply_filters
from api.idempotency import idempotent
from api.pagination import PageParams, paginate_rows
from api.schemas import (
    ApplicationDetailOut,
    ApplicationIn,
    ApplicationPage,
    ApproveIn,
    RejectIn,
    SubmitIn,
    to_kobo,
)
from core.audit import client_ip
from loans import services
from loans.filters import ApplicationFilter
from loans.models import Application, ApplicationStatus, LoanProduct
from loans.selectors import applications_visible_to
from members.models import Member

router = Router(tags=["applications"])

MUTATION_RESPONSES = {200: ApplicationDetailOut, 201: ApplicationDetailOut, **ERROR_RESPONSES}


class ApplicationFilters(Schema):
    q: str | None = Field(None, max_length=100, description="Reference, name, phone, state code")
    status: ApplicationStatus | None = None
    product: int | None = Field(None, ge=1, le=2**31 - 1)
    state: str | None = Field(None, pattern="^[A-Z]{2}$", description="Deployment state, e.g. LA")
    submitted_from: date | None = None
    submitted_to: date | None = None
    flagged: bool | None = None


def _visible(user):
    return applications_visible_to(user).select_related("product")


def _get(user, reference: str) -> Application:
    application = _visible(user).select_related("loan").filter(reference=reference).first()
    if application is None:
        raise Http404("No such application")
    return application


def _detail(application: Application) -> dict:
    """The application as it is now (after the service's change)."""
    application = Application.objects.select_related("product", "loan").get(pk=application.pk)
    loan = getattr(application, "loan", None)
    return presenters.application_detail(
        application, loan_reference=loan.reference if loan else None
    )


@router.get("/applications", response={200: ApplicationPage, **ERROR_RESPONSES})
def list_applications(request, filters: Query[ApplicationFilters], page: Query[PageParams]):
    """Members see their own applications; staff with the permission see all, with filters
    and search. Newest first, cursor-paginated."""
    # Only the columns the list shows (paginate_rows): the frozen key facts, assessment and
    # consent record are kilobytes per row and only the detail needs them.
    visible = applications_visible_to(request.auth)
    qs = apply_filters(ApplicationFilter, filters, visible, rename={"state": "deployment_state"})
    return paginate_rows(request, qs, page, presenters.APPLICATION)


@router.get("/applications/{reference}", response={200: ApplicationDetailOut, **ERROR_RESPONSES})
def get_application(request, reference: str):
    application = _get(request.auth, reference)
    loan = getattr(application, "loan", None)
    return presenters.application_detail(
        application, loan_reference=loan.reference if loan else None
    )


@router.post("/applications", response=MUTATION_RESPONSES)
def create_application(request, payload: ApplicationIn):
    """Start (or re-price) the member's draft; the answer holds the key facts to consent to."""
    user = request.auth
    if user.is_staff:
        raise ApiError(403, "forbidden", "Staff cannot apply for loans.")
    member = Member.objects.filter(user=user).first()
    if member is None:
        raise ApiError(409, "profile_incomplete", "Complete your profile in the portal first.")
    product = LoanProduct.objects.filter(pk=payload.product, is_active=True).first()
    if product is None:
        raise ApiError(
            422, "validation_error", "No such product.", fields={"product": "Unknown product"}
        )

    def start():
        application = services.start_application(
            member=member,
            actor=user,
            product=product,
            amount=to_kobo(payload.amount),
            tenure=payload.tenure_months,
        )
        return 201, _detail(application)

    return idempotent(request, user, start)


@router.post("/applications/{reference}/submit", response=MUTATION_RESPONSES)
def submit_application(request, reference: str, payload: SubmitIn):
    """Submit with explicit consent to the key facts (send the key_facts_hash you showed)."""
    user = request.auth
    application = _get(user, reference)

    def submit():
        services.submit_application(
            application=application,
            actor=user,
            consent=payload.consent,
            shown_hash=payload.key_facts_hash,
            ip=client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
        )
        return 200, _detail(application)

    return idempotent(request, user, submit)


@router.post("/applications/{reference}/cancel", response=MUTATION_RESPONSES)
def cancel_application(request, reference: str):
    user = request.auth
    application = _get(user, reference)

    def cancel():
        services.cancel_application(application=application, actor=user)
        return 200, _detail(application)

    return idempotent(request, user, cancel)


@router.post("/applications/{reference}/approve", response=MUTATION_RESPONSES)
def approve_application(request, reference: str, payload: ApproveIn):
    """Officer approval (optionally lowering amount or tenure); large amounts need two."""
    user = request.auth
    application = _get(user, reference)

    def approve():
        services.approve_application(
            application=application,
            actor=user,
            amount=to_kobo(payload.amount) if payload.amount else None,
            tenure=payload.tenure_months,
        )
        return 200, _detail(application)

    return idempotent(request, user, approve)


@router.post("/applications/{reference}/reject", response=MUTATION_RESPONSES)
def reject_application(request, reference: str, payload: RejectIn):
    user = request.auth
    application = _get(user, reference)

    def reject():
        services.reject_application(application=application, actor=user, reason=payload.reason)
        return 200, _detail(application)

    return idempotent(request, user, reject)
