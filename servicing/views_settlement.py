"""The member's early-settlement quote, partial prepayment and credit pages; staff see the same
quote. Every figure comes from the services that post the money (``payments.services.credit``
and ``payments.services.settlement``); per-object access is ``loans.selectors.loan_for``."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.errors import DomainError
from core.form_tokens import submitted_once
from core.money import format_naira
from ledger.selectors import member_credit
from loans.selectors import loan_for
from payments.providers.base import ProviderError
from payments.services import checkout, credit, settlement
from servicing.settlement_forms import PrepaymentForm, QuoteDateForm


def _is_borrower(request, loan) -> bool:
    return loan.member.user_id == request.user.pk


def _settle_page(request, reference):
    return reverse("servicing:settle", args=[reference])


def _prepay_page(request, reference):
    return reverse("servicing:prepay", args=[reference])


def _checkout(request, loan, amount, intent):
    """Start the provider's checkout for the member; the page to go to, or None (message set)."""
    callback = request.build_absolute_uri(reverse("payments:checkout_return"))
    try:
        _, url = checkout.start_checkout(
            loan=loan, actor=request.user, amount=amount, callback_url=callback, intent=intent
        )
    except (DomainError, ProviderError) as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
        return None
    return url


@login_required
def settle(request, reference):
    """The settlement quote for today or a chosen day; the borrower pays it from here."""
    loan = loan_for(request.user, reference)
    form = QuoteDateForm(request.GET or None)
    quote, error = None, ""
    on = form.cleaned_data.get("on") if form.is_valid() else None
    try:
        quote = settlement.quote(loan, on=on)
    except DomainError as exc:
        error = exc.message
        if on is not None:  # a bad day: show today's figure beside the message, if there is one
            try:
                quote = settlement.quote(loan)
            except DomainError:
                quote = None
    return render(
        request,
        "servicing/settle.html",
        {
            "loan": loan,
            "form": form,
            "quote": quote,
            "error": error,
            "borrower": _is_borrower(request, loan),
        },
    )


@login_required
@require_POST
def settle_pay(request, reference):
    """Pay today's figure: from credit when it covers it, else through the checkout. A second
    submit is harmless: a checkout in progress is refused, a settled loan has nothing left."""
    loan = loan_for(request.user, reference)
    if not _is_borrower(request, loan):
        messages.error(request, "Only the borrower pays their loan.")
        return redirect(_settle_page(request, reference))
    try:
        quote = settlement.quote(loan)
        if quote.amount == 0:
            credit.settle_from_credit(loan=loan, actor=request.user)
            messages.success(request, "Your loan is settled. Your discharge letter is ready.")
            return redirect(loan)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(_settle_page(request, reference))
    url = _checkout(request, loan, quote.amount, "settle")
    return redirect(url or _settle_page(request, reference))


@login_required
@submitted_once(back=_prepay_page)
def prepay(request, reference):
    """Pay more than is due: preview the new schedule, then confirm."""
    loan = loan_for(request.user, reference)
    if not _is_borrower(request, loan):
        messages.error(request, "Only the borrower can prepay their loan.")
        return redirect(loan)
    available = member_credit(loan.member)
    plan = None
    form = PrepaymentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        amount, mode = form.cleaned_data["amount"], form.cleaned_data["mode"]
        try:
            if "confirm" not in request.POST:
                plan = credit.preview_prepayment(loan=loan, amount=amount, mode=mode)
            elif available >= amount:
                credit.prepay_from_credit(loan=loan, amount=amount, mode=mode, actor=request.user)
                messages.success(request, "Done: your loan has its new schedule.")
                return redirect(loan)
            else:
                credit.preview_prepayment(loan=loan, amount=amount, mode=mode)
                url = _checkout(request, loan, amount, f"prepay_{mode}")
                if url:
                    return redirect(url)
        except DomainError as exc:
            form.add_error("amount" if "amount" in exc.fields else None, exc.message)
    return render(
        request,
        "servicing/prepay.html",
        {"loan": loan, "form": form, "plan": plan, "credit": available},
    )


@login_required
@require_POST
def use_credit(request, reference):
    loan = loan_for(request.user, reference)
    try:
        payment = credit.use_credit_now(loan=loan, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"We used {format_naira(payment.amount)} of your credit.")
    return redirect(loan)


@login_required
def schedules(request, reference):
    """The schedule in force and every earlier one, as it stood."""
    loan = loan_for(request.user, reference)
    return render(
        request,
        "servicing/schedules.html",
        {
            "loan": loan,
            "installments": loan.installments.all(),
            "versions": loan.versions.select_related("replaced_by").order_by("-number"),
        },
    )
