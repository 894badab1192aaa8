"""The member's loan account: the loan with its balance from the ledger, the statement of
installments and payments, and the discharge letter once it is repaid."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render

from ledger.selectors import loan_balance, member_credit
from loans import rules as loan_rules
from loans.key_facts import final_key_facts
from loans.selectors import contractual_outstanding, loan_for
from payments import exports


@login_required
def loan_detail(request, reference):
    loan = loan_for(request.user, reference)
    return render(
        request,
        "loans/loan_detail.html",
        {
            "loan": loan,
            "installments": loan.installments.all(),
            "outstanding": contractual_outstanding(loan)
            if loan_rules.is_written_off(loan)
            else loan_balance(loan),
            "credit": member_credit(loan.member),
        },
    )


@login_required
def loan_key_facts(request, reference):
    """The final key facts: the statement consented to, with the figures fixed at payout."""
    loan = loan_for(request.user, reference)
    if loan.disbursed_on is None:
        messages.info(request, "The final key facts are issued when the loan is paid out.")
        return redirect(loan)
    response = render(
        request,
        "loans/key_facts.html",
        {"application": loan.application, "loan": loan, "facts": final_key_facts(loan)},
    )
    if request.GET.get("download"):
        response["Content-Disposition"] = (
            f'attachment; filename="final-key-facts-{loan.reference}.html"'
        )
    return response


@login_required
def loan_statement_csv(request, reference):
    """The member's statement: every installment and payment of the loan, as CSV."""
    loan = loan_for(request.user, reference)
    data = exports.loan_statement_csv(loan=loan, actor=request.user)
    response = HttpResponse(data, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="statement-{loan.reference}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def discharge_letter(request, reference):
    """Printable confirmation that a closed loan is fully repaid and nothing more is owed."""
    loan = loan_for(request.user, reference)
    if not loan_rules.is_discharged(loan):
        messages.error(request, "A discharge letter is issued once the loan is fully repaid.")
        return redirect(loan)
    # What was paid towards the loan, not the schedule agreed at the start: an early settlement
    # or a waiver made it less, late fees made it more.
    repaid = sum(i.total_paid for i in loan.installments.all())
    return render(request, "loans/discharge_letter.html", {"loan": loan, "repaid": repaid})
