from ninja import Router

from api.errors import ERROR_RESPONSES
from api.schemas import MeOut, PingOut

router = Router(tags=["meta"])


@router.get("/me", response={200: MeOut, **ERROR_RESPONSES})
def me(request):
    """Who the API thinks you are, and how you signed in."""
    user = request.auth
    token = getattr(request, "api_token", None)
    return {
        "id": user.pk,
        "email": user.email,
        "is_staff": user.is_staff,
        "permissions": sorted(user.get_all_permissions()) if user.is_staff else [],
        "auth": "token" if token else "session",
        "token_scope": token.scope if token else None,
    }


@router.get("/ping", response={200: PingOut, **ERROR_RESPONSES}, auth=None)
def ping(request):
    """No database, no cache lookup of its own: the framework's ceiling in the benchmark."""
    return {"ok": True}
