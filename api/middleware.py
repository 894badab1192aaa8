"""Everything under ``/api/`` passes here: body size cap, rate limit, and a last safety net
that turns any non-JSON error or redirect (CSRF, MFA enrolment, idle logout, 405, a crash in
a lower middleware) into the API's JSON error shape."""

import logging

from django.conf import settings

from api.errors import code_for_status, error_response, is_json_error
from api.ratelimit import check_rate_limit

logger = logging.getLogger("api")

API_PREFIX = "/api/"


def _mfa_paths() -> tuple[str, ...]:
    from django.urls import reverse

    return (reverse("mfa_activate_totp"), reverse("mfa_index"))


class ApiMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        response = self._guard(request)
        if response is None:
            try:
                response = self.get_response(request)
            except Exception:
                logger.exception("api error outside the API views", extra={"path": request.path})
                response = error_response(500, "server_error", "Something went wrong on our side.")
            response = self._as_json_error(response)
        verdict = getattr(request, "_api_rate", None)
        if verdict is not None:
            response["X-RateLimit-Limit"] = str(verdict.limit)
            response["X-RateLimit-Remaining"] = str(verdict.remaining)
        response.setdefault("Cache-Control", "no-store")
        return response

    def _guard(self, request):
        try:
            length = int(request.headers.get("content-length") or 0)
        except ValueError:
            return error_response(400, "bad_request", "Content-Length is not a number.")
        if length > settings.API_MAX_BODY_BYTES:
            return error_response(
                413,
                "body_too_large",
                f"The request body is larger than {settings.API_MAX_BODY_BYTES} bytes.",
            )
        if request.method == "OPTIONS":  # CORS pre-flight is answered by corsheaders
            return None
        verdict = check_rate_limit(request)
        request._api_rate = verdict
        if not verdict.allowed:
            return error_response(
                429,
                "rate_limited",
                f"Too many requests: at most {verdict.limit} per "
                f"{settings.API_RATE_LIMIT_WINDOW_SECONDS} seconds. "
                f"Try again in {verdict.retry_after} seconds.",
                headers={"Retry-After": str(verdict.retry_after)},
            )
        return None

    def _as_json_error(self, response):
        status = response.status_code
        if 300 <= status < 400 and response.get("Location"):
            # StaffSecurityMiddleware sends browsers to MFA enrolment or the login page.
            if response["Location"].startswith(_mfa_paths()):
                return error_response(
                    403, "mfa_required", "Set up two-factor authentication in the portal first."
                )
            return error_response(401, "not_authenticated", "Your session has ended; sign in.")
        if status >= 400 and not is_json_error(response):
            if status >= 500:
                message = "Something went wrong on our side."
            elif status == 405:
                message = "This method is not allowed here."
            else:
                message = response.reason_phrase or "The request was refused."
            headers = {"Allow": response["Allow"]} if response.has_header("Allow") else None
            return error_response(status, code_for_status(status), message, headers=headers)
        return response
