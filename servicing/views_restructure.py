"""Hardship restructures: the officer's page (propose with a preview of the new schedule, the
second officer's approve or refuse), and the member's offer page (new key facts, consent).
Thin: parse, call ``servicing.services.restructure``, render. Per-object access is
``loans.selectors.loan_for``; the member page is the borrower's only."""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.audit import client_ip
from core.errors import DomainError
from core.form_tokens import submitted_once
from core.permissions import staff_perm_required
from loans.selectors import loan_for
from servicing.forms_restructure import (
    RestructureConsentForm,
    RestructureDecisionForm,
    RestructureForm,
)
from servicing.models import Restructure, RestructureStatus
from servicing.selectors import loan_restructures, open_restructure
from servicing.services import restructure as service

STAFF_PAGE = "servicing/restructure.html"
MEMBER_PAGE = "servicing/restructure_offer.html"


def readable(terms: dict | None) -> dict | None:
    """The stored key facts with their ISO dates as dates, for templates."""
    if not terms:
        return None
    out = dict(terms)
    for key in ("as_of", "first_due", "last_due"):
        out[key] = date.fromisoformat(terms[key])
    out["schedule"] = [
        {**row, "due_date": date.fromisoformat(row["due_date"])} for row in terms["schedule"]
    ]
    return out


def _staff_page_url(request, reference, **_):
    return reverse("servicing:restructure", args=[reference])


def _staff_context(request, loan, *, form=None, preview=None, errors=()):
    user = request.user
    history = list(loan_restructures(loan))
    for r in history:
        r.readable = readable(r.terms)
        r.proposed_by_viewer = r.proposed_by_id == user.pk
        r.decidable = (
            service.may_restructure(user) and r.awaits_second_officer and not r.proposed_by_viewer
        )
    return {
        "loan": loan,
        "member": loan.member,
        "form": form or RestructureForm(),
        "preview": readable(preview),
        "can_propose": service.may_restructure(user) and loan.status == "active",
        "open": [r for r in history if r.is_open],
        "past": [r for r in history if not r.is_open],
        "errors": list(errors),
    }


def _form_error(form, exc: DomainError) -> None:
    field = next((name for name in exc.fields if name in form.fields), None)
    form.add_error(field, exc.message)


@staff_perm_required("loans.view_loan")
@submitted_once(back=_staff_page_url)
def restructure(request, reference):
    """GET: the loan's offers and the form. POST: preview (nothing saved), or propose."""
    loan = loan_for(request.user, reference)
    if request.method != "POST":
        return render(request, STAFF_PAGE, _staff_context(request, loan))
    form = RestructureForm(request.POST)
    if not service.may_restructure(request.user):
        context = _staff_context(
            request, loan, errors=["You do not have permission to restructure loans."]
        )
        return render(request, STAFF_PAGE, context, status=403)
    preview = None
    status = 400
    if form.is_valid():
        choice = {
            "new_installments": form.cleaned_data["new_installments"],
            "holiday_months": form.cleaned_data["holiday_months"],
            "treatment": form.cleaned_data["arrears_treatment"],
        }
        try:
            if "propose" in request.POST:
                service.propose_restructure(
                    loan=loan, actor=request.user, reason=form.cleaned_data["reason"], **choice
                )
                messages.success(
                    request,
                    "New terms offered: the member has been told and reviews them on their loan "
                    "page; a second officer approves once they accept.",
                )
                return redirect("servicing:restructure", reference=loan.reference)
            preview = service.preview_restructure(loan=loan, actor=request.user, **choice)
            status = 200
        except DomainError as exc:
            _form_error(form, exc)
            status = exc.http_status
    context = _staff_context(request, loan, form=form, preview=preview)
    return render(request, STAFF_PAGE, context, status=status)


@require_POST
@staff_perm_required("loans.view_loan", "servicing.restructure_loan")
@submitted_once(back=_staff_page_url)
def decide_restructure(request, reference, pk):
    loan = loan_for(request.user, reference)
    offer = get_object_or_404(Restructure, pk=pk, loan=loan)
    form = RestructureDecisionForm(request.POST)
    if not form.is_valid():
        context = _staff_context(request, loan, errors=["Choose to approve, refuse or withdraw."])
        return render(request, STAFF_PAGE, context, status=400)
    decision, note = form.cleaned_data["decision"], form.cleaned_data["note"]
    try:
        if decision == "approve":
            service.approve_restructure(restructure=offer, actor=request.user, note=note)
            done = "Approved: the new schedule is in force and the member has been told."
        elif decision == "reject":
            service.reject_restructure(restructure=offer, actor=request.user, note=note)
            done = "The new terms were refused."
        else:
            service.withdraw_restructure(restructure=offer, actor=request.user, note=note)
            done = "The offer was withdrawn."
    except DomainError as exc:
        context = _staff_context(request, loan, errors=[exc.message])
        return render(request, STAFF_PAGE, context, status=exc.http_status)
    messages.success(request, done)
    return redirect("servicing:restructure", reference=loan.reference)


def _borrowers_loan(request, reference):
    loan = loan_for(request.user, reference)
    if loan.member.user_id != request.user.pk:
        raise Http404("No such offer")
    return loan


def _offer_page_url(request, reference):
    return reverse("servicing:restructure_offer", args=[reference])


@login_required
@submitted_once(back=_offer_page_url)
def restructure_offer(request, reference):
    """The member reads the new key facts and accepts them (or declines)."""
    loan = _borrowers_loan(request, reference)
    offer = open_restructure(loan)
    form = RestructureConsentForm(
        request.POST or None, initial={"terms_hash": offer.terms_hash if offer else ""}
    )
    status = 200
    if request.method == "POST":
        if offer is None:
            messages.error(request, "There is no offer of new terms on this loan any more.")
            return redirect(_offer_page_url(request, reference))
        if "decline" in request.POST:
            try:
                service.withdraw_restructure(
                    restructure=offer, actor=request.user, note="Declined by the member."
                )
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, "You declined the new terms; your loan is unchanged.")
            return redirect(loan)
        if form.is_valid():
            try:
                service.consent_to_restructure(
                    restructure=offer,
                    actor=request.user,
                    consent=form.cleaned_data["consent"],
                    shown_hash=form.cleaned_data["terms_hash"],
                    ip=client_ip(request),
                    user_agent=request.headers.get("user-agent", ""),
                )
            except DomainError as exc:
                messages.error(request, exc.message)
                return redirect(_offer_page_url(request, reference))
            messages.success(
                request,
                "Thank you: you accepted the new terms. A second officer checks them and we "
                "tell you when your new schedule is in force.",
            )
            return redirect(_offer_page_url(request, reference))
        status = 400
    latest = loan_restructures(loan).first()
    return render(
        request,
        MEMBER_PAGE,
        {
            "loan": loan,
            "offer": offer,
            "terms": readable(offer.terms) if offer else None,
            "latest": latest,
            "form": form,
            "accepted": offer is not None and offer.status == RestructureStatus.CONSENTED,
        },
        status=status,
    )
