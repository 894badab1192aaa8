"""The JSON API v1, mounted at /api/v1/ (OpenAPI at /api/v1/openapi.json, docs at
/api/v1/docs served from local static files)."""

from ninja import NinjaAPI
from ninja.openapi.docs import Swagger

from api.auth import AUTH
from api.errors import install_handlers
from api.renderers import RENDERER
from api.routers import (
    applications,
    loans,
    meta,
    payments,
    products,
    quote,
    refunds,
    reports,
    servicing,
)

api = NinjaAPI(
    title="AllaweePlus API",
    version="1",
    description=(
        'Loans for NYSC corps members. Money is a decimal string in naira ("150000.00"); '
        "dates are ISO 8601 (due dates are Africa/Lagos dates). Errors are "
        '{"error": {"code", "message", "fields"}}. Lists are newest first with cursor '
        "pagination (limit ≤ 200, next_cursor). Authenticate with the browser session "
        "(send X-CSRFToken on unsafe methods) or 'Authorization: Bearer <token>' made under "
        "Profile → API tokens."
    ),
    urls_namespace="api-v1",
    auth=AUTH,
    docs=Swagger(settings={"persistAuthorization": False}),
    docs_url="/docs",
    openapi_url="/openapi.json",
    renderer=RENDERER,
)
install_handlers(api)

api.add_router("", products.router)
api.add_router("", quote.router)
api.add_router("", applications.router)
api.add_router("", loans.router)
api.add_router("", payments.router)
api.add_router("", refunds.router)
api.add_router("", servicing.router)
api.add_router("", reports.router)
api.add_router("", meta.router)
