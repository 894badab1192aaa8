"""Waivers on the staff loan page: the panel (loaded by htmx into the finance loan page, or a
page of its own without JavaScript), the request form and the second person's decision.
Thin: parse, call the service, render. A refusal re-renders the page with what was typed."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from core.errors import DomainError
from core.form_tokens import submitted_once
from core.money import format_naira
from core.permissions import staff_perm_required
from loans import rules as loan_rules
from loans.selectors import loan_for
from servicing.forms import WaiverDecisionForm, WaiverForm
from servicing.models import Waiver, WaiverComponent
from servicing.selectors import loan_waivers as waivers_of
from servicing.services import waivers

PAGE = "servicing/waivers.html"


def _page_context(request, loan, *, form=None, errors=(), typed_notes=None):
    user = request.user
    may_waive = waivers.may_waive(user)
    history = list(waivers_of(loan))
    for waiver in history:
        waiver.asked_by_viewer = waiver.requested_by_id == user.pk
        waiver.decidable = may_waive and waiver.awaits_second_person and not waiver.asked_by_viewer
        waiver.typed_note = (typed_notes or {}).get(waiver.pk, "")
    owed = waivers.owed_by_component(list(loan.installments.all()))
    return {
        "loan": loan,
        "member": loan.member,
        "owed": [(label, owed[value]) for value, label in WaiverComponent.choices],
        "form": form or WaiverForm(),
        "can_waive": may_waive and loan_rules.is_active(loan),
        "loan_is_active": loan_rules.is_active(loan),
        "pending": [w for w in history if w.awaits_second_person],
        "past": [w for w in history if not w.awaits_second_person],
        "threshold": settings.WAIVER_SECOND_APPROVAL_ABOVE,
        "errors": list(errors),
    }


def _staff_loan_page(request, reference, **kwargs):
    return reverse("payments:staff_loan", args=[reference])


@vary_on_headers("HX-Request")
@staff_perm_required("loans.view_loan")
def loan_waivers(request, reference):
    loan = loan_for(request.user, reference)
    template = f"{PAGE}#panel" if request.htmx else PAGE
    return render(request, template, _page_context(request, loan))


def _form_error(form, exc: DomainError) -> None:
    field = next((name for name in exc.fields if name in form.fields), None)
    form.add_error(field, exc.message)


@require_POST
@staff_perm_required("loans.view_loan", "servicing.waive_charges")
@submitted_once(back=_staff_loan_page)
def request_waiver(request, reference):
    loan = loan_for(request.user, reference)
    form = WaiverForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            waiver = waivers.request_waiver(loan=loan, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            _form_error(form, exc)
            status = exc.http_status
        else:
            amount = f"{format_naira(waiver.amount)} of {waiver.component_in_words}"
            if waiver.was_applied:
                messages.success(request, f"{amount} waived on loan {loan.reference}.")
            else:
                threshold = format_naira(settings.WAIVER_SECOND_APPROVAL_ABOVE)
                messages.success(
                    request,
                    f"The waiver of {amount} takes this loan's waivers above {threshold}, "
                    "so it waits for a second person to approve it.",
                )
            return redirect("payments:staff_loan", reference=loan.reference)
    return render(request, PAGE, _page_context(request, loan, form=form), status=status)


@require_POST
@staff_perm_required("loans.view_loan", "servicing.waive_charges")
@submitted_once(back=_staff_loan_page)
def decide_waiver(request, reference, pk):
    loan = loan_for(request.user, reference)
    waiver = get_object_or_404(Waiver, pk=pk, loan=loan)
    form = WaiverDecisionForm(request.POST)
    if not form.is_valid():
        context = _page_context(request, loan, errors=["Choose whether to approve or refuse."])
        return render(request, PAGE, context, status=400)
    note = form.cleaned_data["note"]
    approve = form.cleaned_data["decision"] == "approve"
    try:
        if approve:
            waivers.approve_waiver(waiver=waiver, actor=request.user, note=note)
        else:
            waivers.reject_waiver(waiver=waiver, actor=request.user, note=note)
    except DomainError as exc:
        context = _page_context(request, loan, errors=[exc.message], typed_notes={waiver.pk: note})
        return render(request, PAGE, context, status=exc.http_status)
    amount = f"{format_naira(waiver.amount)} of {waiver.component_in_words}"
    messages.success(
        request, f"Waiver of {amount} approved and applied." if approve else "Waiver refused."
    )
    return redirect("payments:staff_loan", reference=loan.reference)
