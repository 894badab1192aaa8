"""Permission-scoped reads for applications and loans."""

from django.db.models import Prefetch, Q, QuerySet, Sum
from django.http import Http404

from core import caching
from loans.models import (
    INSTALLMENT_OUTSTANDING,
    Application,
    ApplicationNote,
    Loan,
    LoanProduct,
    LoanStatus,
)
from members.models import Member

QUEUE_COLUMNS = (
    "id",
    "reference",
    "created_at",
    "status",
    "amount",
    "tenure_months",
    "applicant_name",
    "deployment_state",
    "is_flagged",
    "recommendation",
    "product__name",
)


def active_products() -> QuerySet[LoanProduct]:
    return LoanProduct.objects.filter(is_active=True).order_by("min_principal", "name")


# Any save or delete of a product forgets the cached active products and starts a new
# generation of every cached answer built from products (the API's response cache).
PRODUCTS_GENERATION = "loans.loanproduct"


def cached_active_products() -> list[LoanProduct]:
    """Active products (model instances), for the apply form, filters and the API; cached for
    30 minutes and forgotten on any save or delete of a product (``connect_cache_invalidation``)."""
    return caching.cached("products", "active", lambda: list(active_products()))


def connect_cache_invalidation() -> None:
    from django.db.models.signals import post_delete, post_save

    def products_changed(**kwargs):
        caching.forget("products", "active")
        caching.bump_generation(PRODUCTS_GENERATION)

    def application_changed(**kwargs):
        caching.bump_generation("loans.application")

    for signal in (post_save, post_delete):
        signal.connect(
            products_changed, sender=LoanProduct, dispatch_uid=f"cache-products-{id(signal)}"
        )
        signal.connect(
            application_changed, sender=Application, dispatch_uid=f"cache-app-{id(signal)}"
        )


def applications_visible_to(user) -> QuerySet[Application]:
    if not user.is_authenticated:
        return Application.objects.none()
    if user.is_staff and user.has_perm("loans.view_application"):
        return Application.objects.all()
    return Application.objects.filter(member__user=user)


def application_queue(user) -> QuerySet[Application]:
    return applications_visible_to(user).select_related("product").only(*QUEUE_COLUMNS)


def search_applications(queryset, term: str):
    term = (term or "").strip()
    if not term:
        return queryset
    condition = Q(reference=term.upper()) | Q(applicant_name__istartswith=term)
    # Phone and state code live on the member: look the member up first (both are unique,
    # indexed) so every branch of the OR is an index condition on applications. A join in
    # the OR would make PostgreSQL scan every application.
    member = Q()
    digits = "".join(ch for ch in term if ch.isdigit())
    if len(digits) >= 10:
        member |= Q(phone="+234" + digits[-10:])
    if "/" in term:
        member |= Q(state_code=term.upper().removeprefix("NYSC/"))
    if member:
        member_ids = list(Member.objects.filter(member).values_list("pk", flat=True)[:50])
        if member_ids:
            condition |= Q(member_id__in=member_ids)
    return queryset.filter(condition)


def application_for_member(user, reference: str) -> Application:
    try:
        return Application.objects.select_related("product", "member").get(
            reference=reference, member__user=user
        )
    except Application.DoesNotExist as exc:
        raise Http404("No such application") from exc


def application_for_staff(user, reference: str) -> Application:
    qs = (
        applications_visible_to(user)
        .select_related("product", "member__user", "member__kyc_reviewed_by")
        .prefetch_related(
            "history__actor",
            "approvals__officer",
            "member__documents",
            Prefetch("notes", queryset=ApplicationNote.objects.select_related("author")),
        )
    )
    try:
        return qs.get(reference=reference)
    except Application.DoesNotExist as exc:
        raise Http404("No such application") from exc


def loans_visible_to(user) -> QuerySet[Loan]:
    if not user.is_authenticated:
        return Loan.objects.none()
    if user.is_staff and user.has_perm("loans.view_loan"):
        return Loan.objects.all()
    return Loan.objects.filter(member__user=user)


def loan_for(user, reference: str) -> Loan:
    try:
        return (
            loans_visible_to(user)
            .select_related("member__user", "product", "application")
            .prefetch_related("installments")
            .get(reference=reference)
        )
    except Loan.DoesNotExist as exc:
        raise Http404("No such loan") from exc


def member_applications(member):
    return (
        Application.objects.filter(member=member)
        .select_related("product")
        .order_by("-created_at")[:10]
    )


def member_live_loans(member):
    return (
        Loan.objects.filter(member=member)
        .exclude(status=LoanStatus.CANCELLED)
        .order_by("-created_at")[:5]
    )


def contractual_outstanding(loan: Loan) -> int:
    """What the member still owes under the agreement: every installment's unpaid principal,
    interest, fee and late fee. Equal to the ledger balance until a write-off clears the
    receivable in our books; the debt itself stays."""
    total = loan.installments.aggregate(total=Sum(INSTALLMENT_OUTSTANDING))["total"]
    return total or 0
