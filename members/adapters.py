from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sites.shortcuts import get_current_site
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from core.audit import client_ip
from core.mail import queue_mail
from members import lockout
from members.services import get_or_create_member


class AccountAdapter(DefaultAccountAdapter):
    """Members sign themselves up; staff accounts are created by administrators.

    Sign-in throttling is allauth's (per address, per account) with one change: the
    per-account limit counts only browsers that never signed in to the account, so nobody
    can lock its owner out (see members/lockout.py)."""

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """Account mail (address confirmation, password reset, sign-in notices) is written
        now and sent by the worker: a mail server that is down or slow never turns a sign-in,
        a sign-up or a reset into an error page (core/mail.py retries it)."""
        request = allauth_context.request
        ctx = {"request": request, "email": email, "current_site": get_current_site(request)}
        ctx.update(context)
        queue_mail(self.render_mail(template_prefix, email, ctx), purpose=template_prefix)

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            get_or_create_member(user=user)
        return user

    def get_client_ip(self, request):
        # One answer everywhere (audit, API limiter, allauth's limits): X-Real-IP only from
        # a trusted proxy.
        ip = client_ip(request)
        if not ip:
            raise PermissionDenied("Unable to determine client IP address")
        return ip

    def _login_of(self, credentials) -> str:
        return (credentials.get("email") or credentials.get("username") or "").strip().lower()

    def _get_login_attempts_cache_key(self, request, **credentials):
        key = super()._get_login_attempts_cache_key(request, **credentials)
        if lockout.is_known_device(request, self._login_of(credentials)):
            # Browsers that signed in to this account before have a bucket of their own.
            return f"{key}:known-device"
        return key

    def _delete_login_attempts_cached_email(self, request, **credentials):
        # A password reset (proof of the mailbox) empties both buckets and the notice count.
        super()._delete_login_attempts_cached_email(request, **credentials)
        from allauth.core.internal import ratelimit

        key = DefaultAccountAdapter._get_login_attempts_cache_key(self, request, **credentials)
        ratelimit.clear(
            request, app="allauth.account", action="login_failed", key=f"{key}:known-device"
        )
        lockout.clear_account(self._login_of(credentials))

    def pre_authenticate(self, request, **credentials):
        ip = client_ip(request)
        if lockout.ip_retry_after(ip):
            lockout.note_ip_failure(ip)
            self._note_refused(request, credentials)
            raise self.validation_error("too_many_login_attempts")
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError:
            lockout.note_ip_failure(ip)
            self._note_refused(request, credentials)
            raise

    def authentication_failed(self, request, **credentials):
        super().authentication_failed(request, **credentials)
        lockout.note_ip_failure(client_ip(request))
        self._note_refused(request, credentials)

    def _note_refused(self, request, credentials):
        login = self._login_of(credentials)
        if not login or lockout.is_known_device(request, login):
            return
        attempts = lockout.note_account_failure(login)
        if attempts is None:
            return
        user = get_user_model().objects.filter(email__iexact=login, is_active=True).first()
        if user is None:
            return
        self.send_mail(
            "account/email/login_attempts",
            user.email,
            {
                "user": user,
                "attempts": attempts,
                "window_minutes": settings.LOGIN_NOTICE_WINDOW_SECONDS // 60,
                "reset_url": request.build_absolute_uri(reverse("account_reset_password")),
            },
        )

    def post_login(self, request, user, **kwargs):
        response = super().post_login(request, user, **kwargs)
        if user.email:
            lockout.remember_device(request, response, user.email)
        return response
