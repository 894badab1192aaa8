import json
import logging

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ImproperlyConfigured
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.errors import DomainError
from core.feedback import attempt
from core.form_tokens import submitted_once
from core.forms import REASON_MIN_LENGTH, ReasonForm
from core.money import format_naira
from core.permissions import StaffPermissionRequiredMixin, staff_perm_required
from core.tables import HtmxTableView
from ledger import chart
from ledger.selectors import (
    loan_balance,
    loan_balances,
    loan_statement,
    member_credit,
    unbalanced_entries,
)
from ledger.selectors import trial_balance as ledger_trial_balance
from loans import rules as loan_rules
from loans.selectors import contractual_outstanding, loan_for
from payments.filters import DisbursementQueueFilter
from payments.forms import BankReferenceForm, ManualPaymentForm, PayForm
from payments.models import Payment
from payments.providers import get_provider
from payments.providers.base import ProviderError
from payments.selectors import disbursement_queue, loan_disbursements, loan_payments
from payments.services import (
    checkout,
    disbursement,
    payout_account,
    repayment,
    reversal,
    webhooks,
)
from payments.services.checkout import CheckoutInProgress
from payments.tables import DisbursementQueueTable

security_log = logging.getLogger("security")
MAX_WEBHOOK_BYTES = 64 * 1024


# --- Webhooks --------------------------------------------------------------------------------


def _receive_webhook(request, provider_name: str, header: str):
    """Signature first, on the raw bytes, before anything is parsed or stored."""
    if request.method != "POST":
        return JsonResponse(
            {"error": {"code": "method_not_allowed", "message": "POST only"}}, status=405
        )
    raw = request.body
    if len(raw) > MAX_WEBHOOK_BYTES:
        return JsonResponse(
            {"error": {"code": "too_large", "message": "Body too large"}}, status=413
        )
    signature = request.headers.get(header, "")
    try:
        provider = get_provider(provider_name)
        valid = bool(signature) and provider.verify_signature(raw_body=raw, signature=signature)
    except (ImproperlyConfigured, ProviderError):
        valid = False
    if not valid:
        security_log.warning(
            "webhook signature rejected",
            extra={"event": "webhook.bad_signature", "path": request.path},
        )
        return JsonResponse(
            {"error": {"code": "bad_signature", "message": "Signature missing or invalid"}},
            status=401,
        )
    try:
        notice = provider.parse_webhook(payload=json.loads(raw))
    except (ValueError, KeyError, TypeError):
        return JsonResponse(
            {"error": {"code": "bad_payload", "message": "Unreadable event"}}, status=400
        )
    webhooks.store_webhook(provider_name=provider_name, notice=notice)
    return JsonResponse({"status": "ok"})


@csrf_exempt
def paystack_webhook(request):
    return _receive_webhook(request, "paystack", "x-paystack-signature")


# --- Member: pay ----------------------------------------------------------------------------


def _next_due(loan) -> int:
    for inst in loan.installments.all():
        if inst.outstanding:
            return inst.outstanding
    return 0


def _pay_page(request, reference):
    return reverse("payments:pay", args=[reference])


def _staff_loan_page(request, reference, **kwargs):
    return reverse("payments:staff_loan", args=[reference])


def _reversed_payment_loan_page(request, pk):
    payment = get_object_or_404(Payment.objects.select_related("loan"), pk=pk)
    return reverse("payments:staff_loan", args=[payment.loan.reference])


@login_required
@submitted_once(back=_pay_page)
def pay(request, reference):
    loan = loan_for(request.user, reference)
    if loan.member.user_id != request.user.pk:
        return redirect(loan)
    outstanding = (
        contractual_outstanding(loan) if loan_rules.is_written_off(loan) else loan_balance(loan)
    )
    if request.method == "POST":
        form = PayForm(request.POST)
        if form.is_valid():
            callback = request.build_absolute_uri(reverse("payments:checkout_return"))
            try:
                _, url = checkout.start_checkout(
                    loan=loan,
                    actor=request.user,
                    amount=form.cleaned_data["amount"],
                    callback_url=callback,
                )
            except CheckoutInProgress as exc:
                messages.error(request, exc.message)
            except (DomainError, ProviderError) as exc:
                messages.error(request, getattr(exc, "message", str(exc)))
            else:
                return redirect(url)
    else:
        form = PayForm(initial={"amount": _next_due(loan)})
    return render(
        request,
        "payments/pay.html",
        {
            "loan": loan,
            "form": form,
            "outstanding": outstanding,
            "in_progress": checkout.pending_checkout(loan),
        },
    )


@login_required
def checkout_return(request):
    reference = request.GET.get("reference", "")
    payment = Payment.objects.filter(reference=reference, member__user=request.user).first()
    if payment is None:
        messages.error(request, "We could not find that payment.")
        return redirect("members:dashboard")
    try:
        payment = checkout.confirm_checkout(reference=reference)
    except ProviderError:
        messages.info(request, "We are still confirming your payment with the provider.")
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if payment.status == "successful":
            messages.success(request, f"Thank you: {format_naira(payment.amount)} received.")
        elif payment.status == "failed":
            messages.error(request, "The payment did not go through. Nothing was taken.")
        else:
            messages.info(request, "Your payment is being confirmed.")
    return redirect(payment.loan)


# --- Back office: disbursement queue and loan money page ----------------------------------


class DisbursementQueueView(StaffPermissionRequiredMixin, HtmxTableView):
    permission_required = ("loans.disburse_loan",)
    table_class = DisbursementQueueTable
    filterset_class = DisbursementQueueFilter
    page_title = "Disbursement queue"
    row_noun = "loans"

    def get_queryset(self):
        return disbursement_queue(self.request.user)


@staff_perm_required("loans.view_loan")
def staff_loan(request, reference):
    loan = loan_for(request.user, reference)
    written_off = loan_rules.is_written_off(loan)
    return render(
        request,
        "payments/staff_loan.html",
        {
            "loan": loan,
            "installments": loan.installments.all(),
            "payments": loan_payments(loan),
            "disbursements": loan_disbursements(loan),
            "balance": loan_balance(loan),
            # After a write-off the ledger balance is nil; the agreement's debt and what came
            # back since (recovery income, net of interest given back on settlement) are shown.
            "recovered": -loan_balances(loan).get(chart.RECOVERY_INCOME, 0)
            if written_off
            else None,
            "still_owed": contractual_outstanding(loan) if written_off else None,
            "credit": member_credit(loan.member),
            "statement": loan_statement(loan),
            "member": loan.member,
            "can_disburse": request.user.has_perm("loans.disburse_loan")
            and loan_rules.awaits_payout(loan),
            "can_record": request.user.has_perm("payments.add_payment")
            and (loan_rules.is_active(loan) or loan_rules.takes_recoveries(loan)),
            "can_reverse": request.user.has_perm("payments.reverse_payment"),
            "manual_form": ManualPaymentForm(),
            "reason_form": ReasonForm(),
            "bank_form": BankReferenceForm(),
        },
    )


def _finance_action(request, reference, action, success):
    loan = loan_for(request.user, reference)
    attempt(request, lambda: action(loan), success=success, errors=(DomainError, ProviderError))
    return redirect("payments:staff_loan", reference=loan.reference)


@require_POST
@staff_perm_required("loans.view_loan", "loans.disburse_loan")
def resolve_account(request, reference):
    def action(loan):
        if payout_account.resolve_payout_account(member=loan.member, actor=request.user):
            return
        raise DomainError(
            "The bank's account name does not match the member's name. Check "
            "it and confirm it only if you are sure."
        )

    return _finance_action(request, reference, action, "Account name matches the member.")


@require_POST
@staff_perm_required("loans.view_loan", "loans.disburse_loan")
def confirm_account(request, reference):
    loan = loan_for(request.user, reference)
    try:
        member = payout_account.confirm_payout_account(member=loan.member, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            "Account confirmed."
            if member.payout_account_confirmed
            else "Override requested: a second finance user must confirm the account before "
            "it can be paid.",
        )
    return redirect("payments:staff_loan", reference=loan.reference)


@require_POST
@staff_perm_required("loans.view_loan", "loans.disburse_loan")
@reauthentication_required
@submitted_once(back=_staff_loan_page)
def disburse(request, reference):
    return _finance_action(
        request,
        reference,
        lambda loan: disbursement.request_disbursement(loan=loan, actor=request.user),
        "Payout sent to the provider. The loan becomes active when the transfer succeeds.",
    )


@require_POST
@staff_perm_required("loans.view_loan", "loans.disburse_loan")
@reauthentication_required
@submitted_once(back=_staff_loan_page)
def manual_disburse(request, reference):
    form = BankReferenceForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter the bank's transfer reference.")
        return redirect("payments:staff_loan", reference=reference)
    return _finance_action(
        request,
        reference,
        lambda loan: disbursement.record_manual_disbursement(
            loan=loan,
            actor=request.user,
            bank_reference=form.cleaned_data["bank_reference"],
        ),
        "Manual payout recorded; the loan is active.",
    )


@require_POST
@staff_perm_required("loans.view_loan", "payments.add_payment")
@submitted_once(back=_staff_loan_page)
def manual_payment(request, reference):
    form = ManualPaymentForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("payments:staff_loan", reference=reference)
    data = form.cleaned_data
    return _finance_action(
        request,
        reference,
        lambda loan: repayment.record_manual_payment(
            loan=loan,
            actor=request.user,
            amount=data["amount"],
            reason=data["reason"],
            evidence=data["evidence"],
        ),
        f"{format_naira(data['amount'])} recorded.",
    )


@require_POST
@staff_perm_required("payments.view_payment", "payments.reverse_payment")
@submitted_once(back=_reversed_payment_loan_page)
def reverse_payment(request, pk):
    payment = get_object_or_404(Payment.objects.select_related("loan"), pk=pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, f"Give the reason for the reversal (at least {REASON_MIN_LENGTH} characters)."
        )
    else:
        try:
            reversal.reverse_payment(
                payment=payment,
                actor=request.user,
                reason=form.cleaned_data["reason"],
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Payment {payment.reference} reversed.")
    return redirect("payments:staff_loan", reference=payment.loan.reference)


@staff_perm_required("ledger.view_ledger")
def trial_balance(request):
    return render(
        request,
        "payments/trial_balance.html",
        {
            "trial": ledger_trial_balance(),
            "unbalanced": unbalanced_entries(),
        },
    )
