"""The member's loan account: the loan with its balance from the ledger, the statement of
installments and payments, and the discharge letter once it is repaid."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from core import audit
from core.exports import csv_bytes
from core.money import api_amount
from loans.models import LoanStatus
from loans.selectors import loan_for
from payments.ledger import loan_balance
from payments.models import Payment


@login_required
def loan_detail(request, reference):
    loan = loan_for(request.user, reference)
    return render(
        request,
        "loans/loan_detail.html",
        {
            "loan": loan,
            "installments": loan.installments.all(),
            "outstanding": loan_balance(loan),
            "is_owner": loan.member.user_id == request.user.pk,
        },
    )


@login_required
def loan_statement_csv(request, reference):
    """The member's statement: every installment and payment of the loan, as CSV."""
    loan = loan_for(request.user, reference)
    rows = [
        (
            "installment",
            i.due_date.isoformat(),
            f"#{i.number}",
            f"principal {api_amount(i.principal)}, interest {api_amount(i.interest)}, "
            f"fee {api_amount(i.fee)}, late fees {api_amount(i.late_fee)}",
            api_amount(i.total_due),
            api_amount(i.total_paid),
            i.get_status_display(),
        )
        for i in loan.installments.all()
    ]
    rows += [
        (
            "payment",
            timezone.localtime(p.received_at or p.created_at).date().isoformat(),
            p.reference,
            p.get_channel_display(),
            "",
            api_amount(p.amount),
            p.get_status_display(),
        )
        for p in Payment.objects.filter(loan=loan).order_by("created_at", "id")
    ]
    if loan.member.user_id != request.user.pk:
        audit.record(actor=request.user, action="loan.statement_downloaded", obj=loan)
    header = ["type", "date", "reference", "description", "due (NGN)", "paid (NGN)", "status"]
    response = HttpResponse(csv_bytes(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="statement-{loan.reference}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def discharge_letter(request, reference):
    """Printable confirmation that a closed loan is fully repaid and nothing more is owed."""
    loan = loan_for(request.user, reference)
    if loan.status != LoanStatus.CLOSED or loan_balance(loan) != 0:
        messages.error(request, "A discharge letter is issued once the loan is fully repaid.")
        return redirect(loan)
    return render(request, "loans/discharge_letter.html", {"loan": loan})
