from django.core.serializers.json import DjangoJSONEncoder
from django.http import JsonResponse
from ninja import Router

from api import cache, presenters
from api.auth import api_user
from api.errors import ERROR_RESPONSES
from api.schemas import ProductOut
from loans.models import LoanProduct
from loans.selectors import active_products

router = Router(tags=["products"])


def products_visible_to(user):
    """Staff who manage or price products also see withdrawn ones."""
    if user.is_authenticated and user.is_staff and user.has_perm("loans.view_loanproduct"):
        return LoanProduct.objects.order_by("min_principal", "name")
    return active_products()


def cached_json(request, key_parts: tuple, build) -> JsonResponse:
    """Anonymous answers come from (and go to) the shared cache; signed-in callers always
    get a freshly computed answer of their own."""
    user = api_user(request)
    if user.is_authenticated:
        response = JsonResponse(build(user), safe=False, encoder=DjangoJSONEncoder)
        response["Cache-Control"] = "private, no-store"
        return response
    key = cache.response_key(request, *key_parts)
    response = cache.get_cached(key)
    if response is None:
        response = cache.store(
            key, JsonResponse(build(user), safe=False, encoder=DjangoJSONEncoder)
        )
    response["Cache-Control"] = "public, max-age=60"
    response["Vary"] = "Authorization, Cookie"
    return response


@router.get("/products", response={200: list[ProductOut], **ERROR_RESPONSES}, auth=None)
def list_products(request):
    """Loan products open for applications. Public; cached for 30 minutes and refreshed the
    moment a product changes."""
    return cached_json(
        request,
        ("products",),
        lambda user: [presenters.product(p) for p in products_visible_to(user)],
    )
