"""One-time tokens for money forms (issue 15, M5).

Every money form carries a hidden ``form_token`` unique to the rendered page
(``{% form_token %}`` from ``core.templatetags.form_tokens``). The view is wrapped in
``submitted_once``: the token is stored (``FormSubmission``, unique per user) in the same
transaction as whatever the view does, so a double or triple submit of one form runs the
view once; the repeats are sent to the first submit's result with a message instead of
recording the money again or showing an error page. A POST without a token is refused
(a fresh form is shown), so a scripted replay cannot skip the check.
"""

import re
import secrets
from datetime import timedelta
from functools import wraps

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.html import format_html

from core.models import FormSubmission

FIELD = "form_token"
_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,64}")
ALREADY_RECORDED = "This form was already submitted; it was recorded once. Here is the result."
EXPIRED = "This form was not sent whole (or is out of date). Check the page and submit it again."
# Rows only need to outlive a browser's retries and a person's back button.
RETENTION = timedelta(days=30)


def new_token() -> str:
    return secrets.token_urlsafe(24)


def hidden_input() -> str:
    return format_html('<input type="hidden" name="{}" value="{}">', FIELD, new_token())


def submitted_once(back):
    """Run a POST view at most once per form token.

    ``back(request, *args, **kwargs)`` gives the page the form lives on: where a POST
    without a token, or a repeat whose first run left no redirect, is sent."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method != "POST":
                return view(request, *args, **kwargs)
            token = request.POST.get(FIELD, "")
            if not _SHAPE.fullmatch(token):
                messages.error(request, EXPIRED)
                return redirect(back(request, *args, **kwargs))
            with transaction.atomic():
                try:
                    with transaction.atomic():
                        submission = FormSubmission.objects.create(
                            user=request.user, token=token, path=request.path[:200]
                        )
                except IntegrityError:
                    pass  # a repeat: sent to the first submit's result below
                else:
                    response = view(request, *args, **kwargs)
                    if 300 <= response.status_code < 400:
                        submission.result_url = response["Location"][:500]
                        submission.save(update_fields=["result_url"])
                    return response
            first = FormSubmission.objects.filter(user=request.user, token=token).first()
            messages.info(request, ALREADY_RECORDED)
            return redirect((first and first.result_url) or back(request, *args, **kwargs))

        return wrapped

    return decorator


def purge_old_submissions() -> int:
    deleted, _ = FormSubmission.objects.filter(created_at__lt=timezone.now() - RETENTION).delete()
    return deleted
