"""One JSON error shape for the whole API: ``{"error": {"code", "message", "fields"}}``.

Every way a request can fail under ``/api/`` ends here: validation, authentication,
permission, not found, wrong state, rate limit, body too large, and unexpected errors
(a 500 is logged with its traceback and answered with a JSON body, never a stack trace).
"""

import json
import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, JsonResponse
from ninja import Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from core.errors import DomainError

logger = logging.getLogger("api")


class ApiError(Exception):
    """An error the API answers with a given status and code."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        fields: dict | None = None,
        headers: dict | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}
        self.headers = headers or {}


class ErrorDetail(Schema):
    code: str
    message: str
    fields: dict[str, str]


class ErrorOut(Schema):
    error: ErrorDetail


# Every operation documents these, so clients (and schemathesis) know the error shape.
ERROR_CODES = frozenset({400, 401, 403, 404, 409, 413, 422, 429})
ERROR_RESPONSES = {ERROR_CODES: ErrorOut}


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def error_response(
    status: int, code: str, message: str, *, fields=None, headers=None
) -> JsonResponse:
    response = JsonResponse(error_body(code, message, fields), status=status)
    response["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response[name] = value
    return response


_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


def code_for_status(status: int) -> str:
    return _HTTP_CODES.get(status, "server_error" if status >= 500 else "error")


def _validation_fields(errors: list[dict]) -> dict[str, str]:
    fields = {}
    for item in errors:
        loc = [str(part) for part in item.get("loc", ())]
        # ninja prefixes the location with where it came from (body, query, path, header)
        # and the parameter group's name; the client only needs the field path.
        if loc and loc[0] in {"body", "query", "path", "header", "cookie", "form"}:
            loc = loc[1:]
        if len(loc) > 1 and loc[0] in {"payload", "filters", "params"}:
            loc = loc[1:]
        name = ".".join(loc) or "__all__"
        if item.get("type") == "string_pattern_mismatch":
            message = "Has the wrong format."
        elif item.get("type") == "extra_forbidden":
            message = "Unknown field."
        else:
            message = str(item.get("msg", "Invalid value"))
        fields.setdefault(name, message)
    return fields


def install_handlers(api) -> None:
    @api.exception_handler(ApiError)
    def _api_error(request, exc: ApiError):
        return error_response(
            exc.status, exc.code, exc.message, fields=exc.fields, headers=exc.headers
        )

    @api.exception_handler(ValidationError)
    def _validation(request, exc: ValidationError):
        return error_response(
            422,
            "validation_error",
            "Some values are missing or invalid.",
            fields=_validation_fields(exc.errors),
        )

    @api.exception_handler(DomainError)
    def _domain(request, exc: DomainError):
        return error_response(exc.http_status, exc.code, exc.message, fields=exc.fields)

    @api.exception_handler(AuthenticationError)
    def _authentication(request, exc):
        return error_response(
            401,
            "not_authenticated",
            "Sign in or send a valid bearer token.",
            headers={"WWW-Authenticate": 'Bearer realm="api"'},
        )

    @api.exception_handler(HttpError)
    def _http(request, exc: HttpError):
        status = exc.status_code
        message = str(exc)
        if status == 400 and "parse" in message.lower():
            return error_response(400, "malformed_json", "The request body is not valid JSON.")
        if status == 403 and "csrf" in message.lower():
            return error_response(403, "csrf_failed", "CSRF check failed: send X-CSRFToken.")
        return error_response(status, code_for_status(status), message)

    @api.exception_handler(Http404)
    def _not_found(request, exc):
        return error_response(404, "not_found", "No such object, or it is not yours.")

    @api.exception_handler(PermissionDenied)
    def _permission(request, exc):
        return error_response(403, "forbidden", str(exc) or "You may not do this.")

    @api.exception_handler(RequestDataTooBig)
    def _too_big(request, exc):
        return error_response(413, "body_too_large", "The request body is too large.")

    @api.exception_handler(SuspiciousOperation)
    def _suspicious(request, exc):
        return error_response(400, "bad_request", "The request was refused.")

    @api.exception_handler(Exception)
    def _unexpected(request, exc):
        logger.exception("api error", extra={"path": request.path})
        return error_response(500, "server_error", "Something went wrong on our side.")


def is_json_error(response) -> bool:
    if not response.get("Content-Type", "").startswith("application/json"):
        return False
    try:
        body = json.loads(response.content)
    except (ValueError, AttributeError):
        return False
    return isinstance(body, dict) and "error" in body
