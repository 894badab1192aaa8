import logging
import time
import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import patch_cache_control

from core.logging import set_request_context

logger = logging.getLogger("portal.request")


class NulByteMiddleware:
    """A NUL byte in the address (path or query string) is a 400 before any view reads it.

    PostgreSQL text cannot hold NUL, so a value that reaches a query with one is a
    ``DataError``: a 500. Form fields refuse NUL already (Django's
    ``ProhibitNullCharactersValidator``), but URL path parameters and the query values views
    read themselves (``?reference=``, ``/api/v1/loans/<reference>``) do not. No address of
    this site has a NUL in it; under ``/api/`` the answer becomes the JSON error shape."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path_info or any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.GET.lists()
        ):
            return HttpResponseBadRequest(
                "The address contains a NUL character.", content_type="text/plain"
            )
        return self.get_response(request)


class RequestIdMiddleware:
    """Gives each request an id (or keeps the proxy's X-Request-ID) for logs and responses."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if 8 <= len(incoming) <= 64 and incoming.isalnum() else None
        request.request_id = request_id or uuid.uuid4().hex
        set_request_context(request.request_id, request=request)
        started = time.perf_counter()
        response = self.get_response(request)
        user = getattr(request, "user", None)
        set_request_context(request.request_id, user.pk if user and user.is_authenticated else None)
        response["X-Request-ID"] = request.request_id
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        if response.status_code >= 500:
            logger.error(
                "request failed",
                extra={
                    "status_code": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "method": request.method,
                    "path": request.path,
                },
            )
        set_request_context(None)
        return response


class PrivateResponsesMiddleware:
    """``Cache-Control: private, no-store`` on every answer that may belong to one person.

    That is any request by a signed-in user, any request carrying a session cookie or an
    ``Authorization`` header (API tokens), and any response that sets a cookie: no shared
    cache (proxy, CDN) and no browser back/forward store may keep it. Anonymous public
    answers (the product list, the sign-in page without cookies) keep their own headers.
    Placed outside the session and authentication middleware, so it also sees their
    redirects and the session cookie they add.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if self._is_personal(request, response):
            patch_cache_control(response, private=True, no_store=True)
            if "max-age" in response["Cache-Control"]:
                # A lifetime next to no-store would only mislead a cache that ignores no-store.
                response["Cache-Control"] = ", ".join(
                    part
                    for part in response["Cache-Control"].split(", ")
                    if not part.startswith(("max-age", "s-maxage"))
                )
        return response

    @staticmethod
    def _is_personal(request, response) -> bool:
        if response.cookies:
            return True
        if settings.SESSION_COOKIE_NAME in request.COOKIES or "Authorization" in request.headers:
            return True
        user = getattr(request, "user", None)
        return bool(user is not None and user.is_authenticated)


class SessionAgeMiddleware:
    """Every signed-in session ends SESSION_ABSOLUTE_AGE_SECONDS after sign-in (ASVS V3).

    Django's SESSION_COOKIE_AGE is renewed whenever the session is written (the staff idle
    stamp, a flash message), so an active session never expired. The sign-in time is kept in
    the session and checked on every request, for members and staff alike.
    """

    SESSION_SIGNED_IN_AT = "signed_in_at"

    @classmethod
    def stamp_login(cls, sender, request, user, **kwargs):
        if hasattr(request, "session"):
            request.session[cls.SESSION_SIGNED_IN_AT] = int(time.time())

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        # Only sessions that hold a sign-in (API token requests carry none, and must not get
        # a session created for them here).
        if session is not None and session.get("_auth_user_id") is not None:
            now = int(time.time())
            signed_in_at = session.get(self.SESSION_SIGNED_IN_AT)
            if signed_in_at is None:
                # A session from before this check existed: its clock starts now.
                session[self.SESSION_SIGNED_IN_AT] = now
            elif now - signed_in_at >= settings.SESSION_ABSOLUTE_AGE_SECONDS:
                # The request goes on as anonymous: a page behind a login sends the person to
                # sign in again (with ?next=), a public address (a provider's webhook that
                # happens to carry an old cookie, the home page) answers as it would anyone.
                logout(request)
                messages.info(request, "Your session has ended. Please sign in again.")
        return self.get_response(request)


# Paths a staff member may use before enrolling in MFA or while logged out by idle timeout.
_MFA_EXEMPT_PREFIXES = ("/accounts/", "/static/", "/healthz", "/readyz", "/metrics")


class StaffSecurityMiddleware:
    """Back-office users: idle timeout, and TOTP enrolment before any back-office page.

    Staff can move money and read personal data, so a forgotten open session or a phished
    password alone must not be enough (CBN consumer protection; NDPA 2023 security duty).
    """

    SESSION_LAST_SEEN = "staff_last_seen"
    SESSION_MFA_OK = "staff_mfa_enrolled"

    @classmethod
    def stamp_login(cls, sender, request, user, **kwargs):
        """Signing in counts as activity (so the first page needs no session write)."""
        if user.is_staff and hasattr(request, "session"):
            request.session[cls.SESSION_LAST_SEEN] = int(time.time())

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_staff:
            response = self._check_staff(request, user)
            if response is not None:
                return response
        # Back-office pages are marked private, no-store by PrivateResponsesMiddleware.
        return self.get_response(request)

    def _check_staff(self, request, user):
        now = int(time.time())
        last_seen = request.session.get(self.SESSION_LAST_SEEN)
        if last_seen and now - last_seen > settings.STAFF_IDLE_TIMEOUT_SECONDS:
            logout(request)
            messages.info(request, "You were signed out after a period of inactivity.")
            return redirect(f"{reverse('account_login')}?next={request.path}")
        # Written at most once a minute: a session write per request costs a database
        # UPDATE on every back-office page, and the idle timeout needs no finer clock.
        if not last_seen or now - last_seen >= 60:
            request.session[self.SESSION_LAST_SEEN] = now

        if not settings.MFA_REQUIRED_FOR_STAFF or request.path.startswith(_MFA_EXEMPT_PREFIXES):
            return None
        if request.session.get(self.SESSION_MFA_OK):
            return None
        from allauth.mfa.models import Authenticator

        if Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
            request.session[self.SESSION_MFA_OK] = True
            return None
        messages.warning(request, "Staff accounts must set up two-factor authentication first.")
        return redirect("mfa_activate_totp")
