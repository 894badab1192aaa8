"""Collections: the worklist, a loan's collections file (contacts, write-off) and the
allowance-delay switch. Thin: parse, call a service or selector, render."""

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from arrears import services
from arrears.filters import CollectionsFilter
from arrears.forms import AllowanceDelayForm, ContactForm, DecisionForm, WriteOffRequestForm
from arrears.models import AllowanceDelay, WriteOff, WriteOffStatus
from arrears.selectors import bucket_for, collections_worklist, days_past_due, loan_contacts
from arrears.tables import CollectionsTable
from core.errors import DomainError
from core.feedback import attempt
from core.form_tokens import submitted_once
from core.permissions import StaffPermissionRequiredMixin, staff_perm_required
from core.tables import HtmxTableView
from ledger.selectors import loan_balance
from loans.models import InstallmentStatus, LoanStatus
from loans.selectors import loan_for


class CollectionsView(StaffPermissionRequiredMixin, HtmxTableView):
    permission_required = ("arrears.view_collections",)
    table_class = CollectionsTable
    filterset_class = CollectionsFilter
    page_title = "Collections"
    row_noun = "loans in arrears"

    def get_queryset(self):
        return collections_worklist(self.request.user)


collections_view = CollectionsView.as_view()


def _loan_context(request, loan, contact_form=None):
    days = days_past_due(loan)
    return {
        "loan": loan,
        "member": loan.member,
        "days_past_due": days,
        "bucket": bucket_for(days),
        "balance": loan_balance(loan),
        "overdue_installments": [
            i for i in loan.installments.all() if i.status == InstallmentStatus.OVERDUE
        ],
        "contacts": loan_contacts(loan),
        "contact_form": contact_form or ContactForm(),
        "write_off_form": WriteOffRequestForm(),
        "pending_write_off": loan.write_offs.filter(status=WriteOffStatus.REQUESTED)
        .select_related("requested_by")
        .first(),
        "past_write_offs": loan.write_offs.exclude(status=WriteOffStatus.REQUESTED),
        "can_log": request.user.has_perm("arrears.log_contact"),
        "can_request_write_off": request.user.has_perm("arrears.request_write_off")
        and loan.status == LoanStatus.ACTIVE,
        "can_decide_write_off": request.user.has_perm("arrears.approve_write_off"),
    }


@staff_perm_required("arrears.view_collections", "loans.view_loan")
def collections_loan(request, reference):
    loan = loan_for(request.user, reference)
    return render(request, "arrears/loan.html", _loan_context(request, loan))


@require_POST
@vary_on_headers("HX-Request")
@staff_perm_required("arrears.view_collections", "arrears.log_contact", "loans.view_loan")
def log_contact(request, reference):
    loan = loan_for(request.user, reference)
    form = ContactForm(request.POST)
    status = 200
    if form.is_valid():
        try:
            services.log_contact(loan=loan, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, exc.message)
            status = 400
        else:
            form = ContactForm()
            messages.success(request, "Contact logged.")
    else:
        status = 400
    if request.htmx:
        context = _loan_context(request, loan, contact_form=form)
        return render(request, "arrears/loan.html#contacts", context, status=status)
    if status != 200:
        for error in form.errors.values():
            messages.error(request, " ".join(error))
    return redirect("arrears:loan", reference=loan.reference)


def _arrears_loan_page(request, reference, **kwargs):
    return reverse("arrears:loan", args=[reference])


def _write_off_action(request, reference, action, success):
    loan = loan_for(request.user, reference)
    attempt(request, lambda: action(loan), success=success)
    return redirect("arrears:loan", reference=loan.reference)


@require_POST
@staff_perm_required("arrears.request_write_off", "loans.view_loan")
@reauthentication_required
@submitted_once(back=_arrears_loan_page)
def request_write_off(request, reference):
    form = WriteOffRequestForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, "Explain why this loan cannot be recovered (at least 20 characters)."
        )
        return redirect("arrears:loan", reference=reference)
    return _write_off_action(
        request,
        reference,
        lambda loan: services.request_write_off(
            loan=loan, actor=request.user, reason=form.cleaned_data["reason"]
        ),
        "Write-off requested. A second person must approve it.",
    )


@require_POST
@staff_perm_required("arrears.approve_write_off", "loans.view_loan")
@reauthentication_required
@submitted_once(back=_arrears_loan_page)
def decide_write_off(request, reference, pk):
    form = DecisionForm(request.POST)
    form.is_valid()
    note = form.cleaned_data.get("note", "")
    approve = request.POST.get("decision") == "approve"

    def action(loan):
        write_off = get_object_or_404(WriteOff, pk=pk, loan=loan)
        if approve:
            services.approve_write_off(write_off=write_off, actor=request.user, note=note)
        else:
            services.reject_write_off(write_off=write_off, actor=request.user, note=note)

    success = "The loan is written off." if approve else "Write-off refused."
    return _write_off_action(request, reference, action, success)


@staff_perm_required("arrears.set_allowance_delay")
def allowance_delays(request):
    form = AllowanceDelayForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.set_allowance_delay(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Late fees are paused for that period.")
            return redirect("arrears:allowance_delays")
    return render(
        request,
        "arrears/allowance_delays.html",
        {
            "form": form,
            "delays": AllowanceDelay.objects.select_related("created_by", "cancelled_by")[:50],
            "first_open_day": services.first_open_day(),
        },
        status=400 if form.errors else 200,
    )


@require_POST
@staff_perm_required("arrears.set_allowance_delay")
def cancel_allowance_delay(request, pk):
    delay = get_object_or_404(AllowanceDelay, pk=pk)
    attempt(
        request,
        lambda: services.cancel_allowance_delay(delay=delay, actor=request.user),
        success="Late fees are charged again from the next run.",
    )
    return redirect("arrears:allowance_delays")
