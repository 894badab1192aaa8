"""Who is calling: a bearer token (integrations) or the browser session (same origin).

A request with an ``Authorization`` header is judged only by its token: an unknown, expired
or revoked token is a 401 and never falls back to the session. A session request must carry
the CSRF token on unsafe methods. A read-only token cannot call unsafe methods.
"""

import functools
import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from ninja.security import HttpBearer
from ninja.security.apikey import APIKeyCookie
from ninja.utils import check_csrf

from api.errors import ApiError
from api.models import ApiToken

TOKEN_PREFIX = "awp_"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Writing last_used_at on every call would turn each read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_token_value() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _invalid_token(message="The bearer token is unknown, expired or revoked."):
    return ApiError(
        401,
        "invalid_token",
        message,
        headers={"WWW-Authenticate": 'Bearer realm="api", error="invalid_token"'},
    )


def _loader(model, alias: str, quote):
    """Column list and a row → instance function for ``model`` (the ORM's own converters,
    asked of the connection that ran the query: connections are per thread)."""
    fields = model._meta.concrete_fields
    columns = ", ".join(f"{alias}.{quote(f.column)}" for f in fields)
    cols = [(field, field.get_col(alias)) for field in fields]
    names = [f.attname for f in fields]

    def load(values, connection):
        converted = []
        for value, (field, col) in zip(values, cols, strict=True):
            for func in connection.ops.get_db_converters(col) + field.get_db_converters(connection):
                value = func(value, col, connection)
            converted.append(value)
        return model.from_db(connection.alias, names, converted)

    return columns, len(fields), load


@functools.cache
def _token_query(vendor: str):
    from django.contrib.auth import get_user_model
    from django.db import connection

    User = get_user_model()
    quote = connection.ops.quote_name
    token_columns, token_width, load_token = _loader(ApiToken, "t", quote)
    user_columns, _, load_user = _loader(User, "u", quote)
    # Only quoted identifiers from the models' metadata; the token hash is a parameter.
    sql = (
        f"SELECT {token_columns}, {user_columns} "  # noqa: S608
        f"FROM {quote(ApiToken._meta.db_table)} t "
        f"INNER JOIN {quote(User._meta.db_table)} u ON u.{quote(User._meta.pk.column)} = "
        f"t.{quote(ApiToken._meta.get_field('user').column)} "
        f"WHERE t.{quote(ApiToken._meta.get_field('token_hash').column)} = %s"
    )
    return sql, token_width, load_token, load_user


def _token_with_user(token_hash: str) -> ApiToken | None:
    """The token and its user in one query whose SQL is built once per process.

    Every API call with a token runs this; through the queryset API
    (``select_related("user").filter(...)``) compiling the statement cost twice as much as
    running it. Values still pass through the ORM's converters and ``Model.from_db``, so
    the instances are what the queryset would have returned.
    """
    from django.db import connection

    sql, width, load_token, load_user = _token_query(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, [token_hash])
        row = cursor.fetchone()
    if row is None:
        return None
    token = load_token(row[:width], connection)
    token.user = load_user(row[width:], connection)
    return token


def _lookup(raw: str) -> ApiToken:
    if not raw.startswith(TOKEN_PREFIX) or not 20 <= len(raw) <= 100:
        raise _invalid_token()
    token = _token_with_user(hash_token(raw))
    if token is None or not token.is_usable or not token.user.is_active:
        raise _invalid_token()
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def bearer_value(request) -> str | None:
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise _invalid_token("Send the token as 'Authorization: Bearer <token>'.")
    return value.strip()


def token_for_request(request) -> ApiToken | None:
    """The request's token (looked up once per request), None without a header; raises
    ApiError 401 for a bad one."""
    if not hasattr(request, "_api_token_result"):
        try:
            raw = bearer_value(request)
            request._api_token_result = _lookup(raw) if raw else None
        except ApiError as exc:
            request._api_token_result = exc
    if isinstance(request._api_token_result, ApiError):
        raise request._api_token_result
    return request._api_token_result


def api_user(request):
    """The caller for operations open to everyone (products, quote): token user, session
    user or anonymous. A bad token is still a 401 here."""
    token = token_for_request(request)
    if token is not None:
        return token.user
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else AnonymousUser()


def rate_limit_identity(request) -> str | None:
    """User id for the authenticated limit, None for the anonymous (per-IP) one. A bad
    token counts as anonymous, so guessing tokens is held to the anonymous limit."""
    try:
        token = token_for_request(request)
    except ApiError:
        return None
    if token is not None:
        return str(token.user_id)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return str(user.pk)
    return None


class BearerTokenAuth(HttpBearer):
    """``Authorization: Bearer awp_…``: tokens made in the portal (Profile → API tokens)."""

    def __call__(self, request):
        # Only the first header decides (see token_for_request); HttpBearer's parsing of a
        # malformed header would silently fall through to the session instead.
        token = token_for_request(request)
        if token is None:
            return None
        if request.method not in SAFE_METHODS and not token.can_write:
            raise ApiError(
                403, "insufficient_scope", "This token is read-only; make a write token."
            )
        request.api_token = token
        return token.user

    def authenticate(self, request, token):  # pragma: no cover - __call__ does the work
        return None


class CsrfSessionAuth(APIKeyCookie):
    """The signed-in browser session; unsafe methods need the CSRF token (X-CSRFToken)."""

    param_name = "sessionid"

    def _get_key(self, request):
        return None

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise ApiError(403, "csrf_failed", "CSRF check failed: send the X-CSRFToken header.")
        return user

    def authenticate(self, request, key):  # pragma: no cover - __call__ does the work
        return None


AUTH = [BearerTokenAuth(), CsrfSessionAuth()]
