"""Refund and suspense pages: the member's "refund my credit" form, finance's refund queue
(approve after re-authentication, reject with a reason) and the suspense list (assign to a
loan, or send back). Thin: parse, call a service, render; a refusal is shown next to the form
with what was typed."""

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.errors import DomainError
from core.feedback import attempt
from core.form_tokens import submitted_once
from core.money import format_naira
from core.permissions import staff_perm_required
from loans.selectors import loan_for
from payments import refund_selectors
from payments.models import Refund, StatementLine
from payments.providers.base import ProviderError
from payments.reconciliation import suspense
from payments.refund_forms import AssignForm, CreditRefundForm, RejectForm, SuspenseRefundForm
from payments.services import refunds

APPROVE = refunds.APPROVE_PERMISSION
RECONCILE = refunds.RECONCILE_PERMISSION
SUSPENSE_PAGE_SIZE = 200


def _refund_credit_page(request, reference):
    return reverse("payments:refund_credit", args=[reference])


def _queue_page(request, *args, **kwargs):
    return reverse("payments:refund_queue")


def _form_error(form, exc: DomainError, default_field: str | None = None) -> None:
    field = next((f for f in exc.fields if f in form.fields), default_field)
    form.add_error(field, exc.message)


# --- Member: refund my credit ------------------------------------------------------------------


@login_required
@submitted_once(back=_refund_credit_page)
def refund_credit(request, reference):
    loan = loan_for(request.user, reference)
    if loan.member.user_id != request.user.pk:
        return redirect(loan)
    member = loan.member
    if request.method == "POST":
        form = CreditRefundForm(request.POST)
        if form.is_valid():
            try:
                refund = refunds.request_credit_refund(
                    member=member,
                    actor=request.user,
                    amount=form.cleaned_data["amount"],
                    loan=loan,
                )
            except DomainError as exc:
                _form_error(form, exc, "amount")
            else:
                messages.success(
                    request,
                    f"We received your request to refund {format_naira(refund.amount)} "
                    f"(reference {refund.reference}). Finance checks it and sends it to your "
                    "bank account.",
                )
                return redirect(loan)
    else:
        form = CreditRefundForm()
    return render(
        request,
        "payments/refund_credit.html",
        {
            "loan": loan,
            "form": form,
            "summary": refunds.credit_summary(member),
            "refunds": refund_selectors.member_refunds(member)[:20],
            "member": member,
        },
    )


def _staff_loan_page(request, reference):
    return reverse("payments:staff_loan", args=[reference])


@require_POST
@staff_perm_required("loans.view_loan", APPROVE)
@submitted_once(back=_staff_loan_page)
def staff_refund_credit(request, reference):
    """Finance asks, for the member, to refund their credit (another approves)."""
    loan = loan_for(request.user, reference)
    form = CreditRefundForm(request.POST)
    typed = request.POST.get("amount", "")[:40]
    if not form.is_valid():
        for error in form.errors.get("amount", []):
            messages.error(request, f"{error} (you typed “{typed}”)")
    else:
        amount = form.cleaned_data["amount"]
        attempt(
            request,
            lambda: refunds.request_credit_refund(
                member=loan.member,
                actor=request.user,
                amount=amount,
                loan=loan,
                reason=request.POST.get("reason", ""),
            ),
            success=f"Refund of {format_naira(amount)} requested; another finance user "
            "approves it in the refund queue.",
        )
    return redirect("payments:staff_loan", reference=loan.reference)


# --- Finance: the refund queue -----------------------------------------------------------------


@staff_perm_required(APPROVE)
def refund_queue(request):
    return render(
        request,
        "payments/refund_queue.html",
        {
            "waiting": refund_selectors.refunds_waiting()[:100],
            "decided": refund_selectors.refunds_decided()[:50],
            "reject_form": RejectForm(),
        },
    )


@require_POST
@staff_perm_required(APPROVE)
@reauthentication_required
@submitted_once(back=_queue_page)
def approve_refund(request, pk):
    refund = get_object_or_404(Refund, pk=pk)
    attempt(
        request,
        lambda: refunds.approve_refund(refund=refund, actor=request.user),
        success=f"Refund {refund.reference} approved; the transfer is being sent.",
        errors=(DomainError, ProviderError),
    )
    return redirect("payments:refund_queue")


@require_POST
@staff_perm_required(APPROVE)
@submitted_once(back=_queue_page)
def reject_refund(request, pk):
    refund = get_object_or_404(Refund, pk=pk)
    form = RejectForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the refund is rejected (at least 5 characters).")
        return redirect("payments:refund_queue")
    attempt(
        request,
        lambda: refunds.reject_refund(
            refund=refund, actor=request.user, reason=form.cleaned_data["reason"]
        ),
        success=f"Refund {refund.reference} rejected.",
    )
    return redirect("payments:refund_queue")


# --- Finance: the suspense list ----------------------------------------------------------------


def _suspense_page(request, *, bound=None, status=200):
    """The list; ``bound`` = (line id, form name, form) keeps a refused form's input."""
    lines = list(suspense.suspense_lines()[:SUSPENSE_PAGE_SIZE])
    live = refund_selectors.live_refunds_by_line(lines)
    for line in lines:
        line.live_refund = live.get(line.pk)
        line.assign_form = AssignForm(prefix=f"a{line.pk}")
        line.refund_form = SuspenseRefundForm(prefix=f"r{line.pk}")
        if bound is not None and bound[0] == line.pk:
            setattr(line, bound[1], bound[2])
    context = {
        "lines": lines,
        "lines_total": suspense.suspense_lines_total(),
        "ledger_total": suspense.suspense_balance(),
        "can_refund": request.user.has_perm(APPROVE),
    }
    return render(request, "payments/suspense.html", context, status=status)


@staff_perm_required(RECONCILE)
def suspense_list(request):
    return _suspense_page(request)


@require_POST
@staff_perm_required(RECONCILE)
def suspense_assign(request, pk):
    line = get_object_or_404(StatementLine, pk=pk)
    form = AssignForm(request.POST, prefix=f"a{pk}")
    if form.is_valid():
        try:
            line = suspense.assign_from_suspense(
                line=line, actor=request.user, loan_reference=form.cleaned_data["loan_reference"]
            )
        except DomainError as exc:
            _form_error(form, exc, "loan_reference")
        else:
            messages.success(
                request,
                f"{format_naira(line.amount)} recorded as a repayment of "
                f"{line.suggested_loan.reference} (payment {line.payment.reference}).",
            )
            return redirect("payments:suspense")
    return _suspense_page(request, bound=(pk, "assign_form", form))


@require_POST
@staff_perm_required(RECONCILE, APPROVE)
def suspense_refund(request, pk):
    line = get_object_or_404(StatementLine, pk=pk)
    form = SuspenseRefundForm(request.POST, prefix=f"r{pk}")
    if form.is_valid():
        data = form.cleaned_data
        try:
            refund = refunds.request_suspense_refund(
                line=line,
                actor=request.user,
                bank_code=data["bank_code"],
                account_number=data["account_number"],
                account_name=data["account_name"],
                reason=data["reason"],
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(
                request,
                f"Refund {refund.reference} of {format_naira(refund.amount)} requested; "
                "another finance user approves it in the refund queue.",
            )
            return redirect("payments:suspense")
    return _suspense_page(request, bound=(pk, "refund_form", form))
