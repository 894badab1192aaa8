from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from core.audit import client_ip
from core.errors import DomainError
from core.feedback import attempt
from core.forms import ReasonForm
from core.permissions import StaffPermissionRequiredMixin, staff_perm_required
from core.tables import HtmxTableView
from loans import rules, services
from loans.filters import ApplicationFilter
from loans.forms import ApproveForm, ConsentForm, InfoRequestForm, NoteForm, QuoteForm
from loans.selectors import (
    application_for_member,
    application_for_staff,
    application_queue,
    member_applications,
    member_live_loans,
)
from loans.tables import ApplicationTable
from members.views import member_for_request

# --- Member: apply with a live preview -----------------------------------------------------


def _quote_context(request, form, member):
    context = {"form": form, "member": member, "quote": None}
    if form.is_valid():
        context["quote"] = services.quote(
            product=form.cleaned_data["product"],
            amount=form.cleaned_data["amount"],
            tenure=form.cleaned_data["tenure"],
            member=member,
        )
    return context


@login_required
@vary_on_headers("HX-Request")
def apply(request):
    """Choose product, amount, tenure; the preview updates as the member types (HTMX) and
    the same form works as a plain POST without JavaScript."""
    member = member_for_request(request)
    if request.method == "POST" and "continue" in request.POST:
        form = QuoteForm(request.POST)
        if form.is_valid():
            try:
                application = services.start_application(
                    member=member,
                    actor=request.user,
                    product=form.cleaned_data["product"],
                    amount=form.cleaned_data["amount"],
                    tenure=form.cleaned_data["tenure"],
                )
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                return redirect("loans:key_facts", reference=application.reference)
        return render(request, "loans/apply.html", _quote_context(request, form, member))
    data = request.POST if request.method == "POST" else (request.GET or None)
    form = QuoteForm(data, initial={"amount": 50_000_00, "tenure": 3})
    context = _quote_context(request, form, member)
    if request.htmx:
        return render(request, "loans/apply.html#preview", context)
    return render(request, "loans/apply.html", context)


@login_required
def key_facts(request, reference):
    member = member_for_request(request)
    application = application_for_member(request.user, reference)
    if request.method == "POST":
        form = ConsentForm(request.POST)
        if form.is_valid():
            try:
                services.submit_application(
                    application=application,
                    actor=request.user,
                    consent=True,
                    shown_hash=form.cleaned_data["key_facts_hash"],
                    ip=client_ip(request),
                    user_agent=request.headers.get("User-Agent", ""),
                )
            except DomainError as exc:
                messages.error(request, exc.message)
                return redirect("loans:key_facts", reference=reference)
            messages.success(
                request, "Your application is submitted. We will e-mail you the decision."
            )
            return redirect(application)
    else:
        form = ConsentForm(initial={"key_facts_hash": application.key_facts_hash})
    context = {
        "application": application,
        "facts": application.key_facts,
        "form": form,
        "member": member,
        "can_submit": rules.may_be_submitted(application),
    }
    response = render(request, "loans/key_facts.html", context)
    if request.GET.get("download"):
        response["Content-Disposition"] = (
            f'attachment; filename="key-facts-{application.reference}.html"'
        )
    return response


@login_required
@vary_on_headers("HX-Request")
def application_detail(request, reference):
    member_for_request(request)
    application = application_for_member(request.user, reference)
    if request.htmx:
        return render(request, "loans/application_detail.html#status", {"application": application})
    loan = getattr(application, "loan", None) if rules.is_approved(application) else None
    return render(
        request,
        "loans/application_detail.html",
        {
            "application": application,
            "history": application.history.all(),
            "member_notes": application.notes.filter(visible_to_member=True),
            "loan": loan,
            "installments": loan.installments.all() if loan else None,
        },
    )


@login_required
@require_POST
def cancel(request, reference):
    member_for_request(request)
    application = application_for_member(request.user, reference)
    attempt(
        request,
        lambda: services.cancel_application(application=application, actor=request.user),
        success=f"Application {application.reference} is cancelled.",
    )
    return redirect(application)


# --- Back office -------------------------------------------------------------------------


class ApplicationQueueView(StaffPermissionRequiredMixin, HtmxTableView):
    permission_required = ("loans.view_application",)
    table_class = ApplicationTable
    filterset_class = ApplicationFilter
    page_title = "Applications"
    row_noun = "applications"

    def get_queryset(self):
        return application_queue(self.request.user)


application_queue_view = ApplicationQueueView.as_view()


@staff_perm_required("loans.view_application")
def staff_application(request, reference):
    application = application_for_staff(request.user, reference)
    member = application.member
    return render(
        request,
        "loans/staff_application.html",
        {
            "application": application,
            "member": member,
            "documents": member.documents.all(),
            "approvals": application.approvals.all(),
            "history": application.history.all(),
            "notes": application.notes.all(),
            "approve_form": ApproveForm(application=application),
            "reject_form": ReasonForm(label="Reason (shown to the member)"),
            "info_form": InfoRequestForm(),
            "note_form": NoteForm(),
            "can_decide": request.user.has_perm("loans.approve_application"),
            "can_review": request.user.has_perm("loans.review_application"),
        },
    )


def _staff_action(request, reference, form_class, action, success, **form_kwargs):
    application = application_for_staff(request.user, reference)
    form = form_class(request.POST, **({"application": application} if form_kwargs else {}))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(application.get_staff_url())
    attempt(request, lambda: action(application, form.cleaned_data), success=success)
    return redirect(application.get_staff_url())


@require_POST
@staff_perm_required("loans.view_application", "loans.approve_application")
def approve(request, reference):
    return _staff_action(
        request,
        reference,
        ApproveForm,
        lambda app, data: services.approve_application(
            application=app,
            actor=request.user,
            amount=data.get("amount"),
            tenure=data.get("tenure"),
        ),
        "Approval recorded.",
        application=True,
    )


@require_POST
@staff_perm_required("loans.view_application", "loans.approve_application")
def reject(request, reference):
    return _staff_action(
        request,
        reference,
        ReasonForm,
        lambda app, data: services.reject_application(
            application=app, actor=request.user, reason=data["reason"]
        ),
        "Application rejected; the member sees your reason.",
    )


@require_POST
@staff_perm_required("loans.view_application", "loans.review_application")
def request_info(request, reference):
    return _staff_action(
        request,
        reference,
        InfoRequestForm,
        lambda app, data: services.request_information(
            application=app, actor=request.user, message=data["message"]
        ),
        "Request sent to the member.",
    )


@require_POST
@staff_perm_required("loans.view_application", "loans.review_application")
def add_note(request, reference):
    return _staff_action(
        request,
        reference,
        NoteForm,
        lambda app, data: services.add_note(application=app, actor=request.user, text=data["text"]),
        "Note added.",
    )


def dashboard_panel(request, member):
    return "loans/_dashboard_panel.html", {
        "applications": member_applications(member),
        "loans": member_live_loans(member),
    }
