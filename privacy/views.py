"""The member's rights over their data (NDPA 2023): export everything we hold, ask for deletion."""

import json

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from core import audit
from core.errors import DomainError
from core.exports import csv_bytes
from members.views import member_for_request
from privacy.deletion import request_deletion as ask
from privacy.export import flatten, member_data


@login_required
@reauthentication_required
def export_my_data(request, fmt):
    """Everything we hold about the signed-in member, as JSON or CSV (audited)."""
    member = member_for_request(request)
    data = member_data(member)
    audit.record(
        actor=request.user, action="member.data_exported", obj=member, changes={"format": fmt}
    )
    if fmt == "json":
        body = json.dumps(data, indent=2, ensure_ascii=False).encode()
        content_type = "application/json"
    else:
        body = csv_bytes(["field", "value"], flatten(data))
        content_type = "text/csv; charset=utf-8"
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="allaweeplus-my-data.{fmt}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def request_deletion(request):
    """The member asks for their account to be deleted (an administrator decides)."""
    member = member_for_request(request)
    try:
        ask(member=member, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            "We have your request. An administrator will review it; records the law makes us "
            "keep are anonymised when that period ends.",
        )
    return redirect("members:profile")
