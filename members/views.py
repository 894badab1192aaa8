from allauth.account.decorators import reauthentication_required
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from core.errors import DomainError
from core.permissions import (
    StaffPermissionRequiredMixin,
    require_staff_perm,
    staff_perm_required,
)
from core.tables import HtmxTableView
from members import lookups, selectors, services, uploads
from members.filters import MemberFilter
from members.forms import DocumentUploadForm, KycRejectForm, MemberProfileForm
from members.selectors import document_visible_to, member_for_staff, member_list_for_staff
from members.service_year import service_notes
from members.tables import MemberTable


def member_for_request(request):
    """The signed-in member; staff are sent to the back office (403)."""
    if request.user.is_staff:
        raise PermissionDenied("The member portal is for members; use the back office.")
    return services.get_or_create_member(user=request.user)


# --- Member portal ------------------------------------------------------------------------


@login_required
def dashboard(request):
    if request.user.is_staff:
        raise PermissionDenied("The member portal is for members; use the back office.")
    # Read-only page: the profile comes from the cache (10 min, dropped on every save).
    member = selectors.own_profile(request.user)
    context = {
        "member": member,
        "missing_documents": services.missing_documents(member),
        "dashboard_panels": [],
    }
    for extra in _dashboard_extras:
        template, panel_context = extra(request, member)
        context["dashboard_panels"].append(template)
        context.update(panel_context)
    return render(request, "members/dashboard.html", context)


# Other apps (loans, payments) add panels here without members importing them: each
# function returns (template name, context).
_dashboard_extras = []


def register_dashboard_panel(func):
    if func not in _dashboard_extras:
        _dashboard_extras.append(func)
    return func


@login_required
@vary_on_headers("HX-Request")
def profile(request):
    member = member_for_request(request)
    status, throttled_retry_after = 200, 0
    if request.method == "POST":
        if not member.is_kyc_editable:
            messages.error(request, "Your profile is under review or verified and is locked.")
            return redirect("members:profile")
        form = MemberProfileForm(request.POST, member=member)
        if form.is_valid():
            try:
                conflicts = lookups.identity_conflicts(
                    member=member,
                    actor=request.user,
                    values=form.identity_values(),
                )
            except lookups.LookupsThrottled as exc:
                form.add_error(None, exc.message)
                status, throttled_retry_after = 429, exc.retry_after
            else:
                for field, message in conflicts.items():
                    form.add_error(field, message)
        if form.is_valid():
            try:
                services.update_member_profile(
                    member=member,
                    actor=request.user,
                    data=form.profile_data(),
                    bvn=form.cleaned_data.get("bvn") or None,
                )
            except DomainError as exc:
                for field, message in exc.fields.items():
                    form.add_error(field if field in form.fields else None, message)
                if not exc.fields:
                    form.add_error(None, exc.message)
            else:
                messages.success(request, "Your profile is saved.")
                return redirect("members:profile")
    else:
        form = MemberProfileForm(member=member)
    response = render(
        request,
        "members/profile.html",
        {
            "member": member,
            "form": form,
            "upload_form": DocumentUploadForm(),
            "documents": member.documents.all(),
            "missing_documents": services.missing_documents(member),
            "service_notes": service_notes(member),
            "open_deletion": member.deletion_requests.filter(
                status__in=["requested", "approved"]
            ).first(),
        },
        status=status,
    )
    if status == 429:
        response["Retry-After"] = str(throttled_retry_after)
    return response


@login_required
@require_POST
def profile_validate(request):
    """HTMX inline validation of the field that changed; the full POST still validates all.

    Formats only: whether another member holds a BVN, phone, state code or account is
    looked up on the save alone (``members.lookups``, counted and audited). A locked profile
    gets nothing, and the endpoint itself is counted per user."""
    request.POST  # noqa: B018 - read first: an oversized or overstuffed body is a 400 anyway
    member = member_for_request(request)
    if not member.is_kyc_editable:
        return HttpResponse(status=409)
    try:
        lookups.throttle_identity_requests(
            scope="profile-validate",
            actor=request.user,
            limit=settings.PROFILE_VALIDATE_LIMIT,
            member=member,
        )
    except lookups.LookupsThrottled as exc:
        response = HttpResponse(exc.message, status=429, content_type="text/plain")
        response["Retry-After"] = str(exc.retry_after)
        return response
    form = MemberProfileForm(request.POST, member=member)
    form.is_valid()
    # Only fields the member has filled in get their errors shown; inputs are never replaced,
    # so typing and focus are not disturbed.
    html = "".join(
        render_to_string(
            "members/profile.html#field_errors", {"field": form[name]}, request=request
        )
        for name in form.fields
        if request.POST.get(name)
    )
    return HttpResponse(html)


@csrf_exempt  # checked below by csrf_protect, once the size limit is in place (Django docs)
@login_required
@require_POST
def upload_document(request):
    """Limits first, body second: the hourly allowance and Content-Length are checked before
    anything is read, and the per-file cap while it is read (``members.uploads``)."""
    member = member_for_request(request)
    if not member.is_kyc_editable:
        messages.error(
            request, "Your documents are under review or verified and cannot be changed."
        )
        return redirect("members:profile")
    refusal = uploads.refuse_before_reading(request, member)
    if refusal:
        messages.error(request, refusal)
        return redirect("members:profile")
    limit = uploads.DocumentSizeLimitHandler(request, max_bytes=uploads.upload_cap(member))
    request.upload_handlers.insert(0, limit)
    return _store_document(request, member, limit)


@csrf_protect
def _store_document(request, member, limit):
    form = DocumentUploadForm(request.POST, request.FILES)
    if limit.refused:
        messages.error(request, uploads.too_large_message())
        return redirect("members:profile")
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("members:profile")
    try:
        services.upload_document(
            member=member,
            actor=request.user,
            kind=form.cleaned_data["kind"],
            uploaded_file=form.cleaned_data["file"],
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Document uploaded.")
    return redirect("members:profile")


@login_required
@require_POST
def submit_kyc(request):
    member = member_for_request(request)
    try:
        services.submit_kyc(member=member, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("members:profile")
    messages.success(request, "Thank you. Your profile has been sent for verification.")
    return redirect("members:dashboard")


@login_required
def download_document(request, pk):
    document = document_visible_to(request.user, pk)
    services.record_document_view(document=document, actor=request.user)
    response = FileResponse(
        document.file.open("rb"),
        content_type=document.content_type,
        as_attachment=True,
        filename=f"{document.kind}-{document.pk}",
    )
    response["Cache-Control"] = "private, no-store"
    return response


# --- Back office -------------------------------------------------------------------------


class MemberListView(StaffPermissionRequiredMixin, HtmxTableView):
    permission_required = ("members.view_member",)
    table_class = MemberTable
    filterset_class = MemberFilter
    page_title = "Members"
    row_noun = "members"

    def get_queryset(self):
        return member_list_for_staff(self.request.user)


member_list = MemberListView.as_view()


@login_required
def member_detail(request, pk):
    require_staff_perm(request.user, "members.view_member")
    member = member_for_staff(request.user, pk)
    return render(
        request,
        "members/staff_detail.html",
        {
            "member": member,
            "documents": member.documents.all(),
            "reject_form": KycRejectForm(),
            "service_notes": service_notes(member, for_staff=True),
            "can_review": request.user.has_perm("members.review_kyc"),
            "can_reveal": request.user.has_perm("members.reveal_bvn"),
        },
    )


@require_POST
@staff_perm_required("members.view_member", "members.reveal_bvn")
@reauthentication_required
def reveal_bvn(request, pk):
    member = member_for_staff(request.user, pk)
    try:
        bvn = services.reveal_bvn(member=member, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(member)
    response = render(request, "members/staff_detail.html#bvn", {"member": member, "bvn": bvn})
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def verify_kyc(request, pk):
    require_staff_perm(request.user, "members.view_member", "members.review_kyc")
    member = member_for_staff(request.user, pk)
    try:
        services.verify_kyc(member=member, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{member} is verified.")
    return redirect(member)


@login_required
@require_POST
def reject_kyc(request, pk):
    require_staff_perm(request.user, "members.view_member", "members.review_kyc")
    member = member_for_staff(request.user, pk)
    form = KycRejectForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the member a reason (at least 5 characters).")
        return redirect(member)
    try:
        services.reject_kyc(member=member, actor=request.user, reason=form.cleaned_data["reason"])
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{member}'s KYC was rejected; the member sees your reason.")
    return redirect(member)
