from django.http import Http404
from ninja import Field, Query, Router, Schema

from api import presenters
from api.errors import ERROR_RESPONSES
from api.routers.products import cached_json, products_visible_to
from api.schemas import NairaText, QuoteOut, to_kobo
from core.clock import lagos_today
from loans import services
from members.models import Member

router = Router(tags=["quote"])


class QuoteParams(Schema):
    product: int = Field(..., ge=1, le=2**31 - 1)
    amount: NairaText = Field(..., description='Naira, e.g. "150000.00".')
    tenure_months: int = Field(..., ge=1, le=60)


@router.get("/quote", response={200: QuoteOut, **ERROR_RESPONSES}, auth=None)
def quote(request, params: Query[QuoteParams]):
    """Schedule preview for an amount and tenure (writes nothing). Public and rate-limited;
    a signed-in member also gets their own eligibility hints."""

    def build(user):
        product = products_visible_to(user).filter(pk=params.product).first()
        if product is None:
            raise Http404("No such product")
        member = None
        if user.is_authenticated and not user.is_staff:
            member = Member.objects.filter(user=user).first()
        result = services.quote(
            product=product,
            amount=to_kobo(params.amount),
            tenure=params.tenure_months,
            member=member,
        )
        return presenters.quote(result, personalised=member is not None)

    return cached_json(request, ("quote", lagos_today().isoformat()), build)
