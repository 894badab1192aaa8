"""Files built from a loan's money: the member's statement as CSV."""

from django.utils import timezone

from core import audit
from core.exports import csv_bytes
from core.money import api_amount
from payments.models import Payment, PaymentStatus

STATEMENT_HEADER = ["type", "date", "reference", "description", "due (NGN)", "paid (NGN)", "status"]


def loan_statement_csv(*, loan, actor) -> bytes:
    """Every installment and payment of the loan, as CSV; a download by anyone but the
    member is audited."""
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
        for p in Payment.objects.filter(loan=loan)
        .exclude(status=PaymentStatus.EXPIRED)
        .order_by("created_at", "id")
    ]
    if loan.member.user_id != actor.pk:
        audit.record(actor=actor, action="loan.statement_downloaded", obj=loan)
    return csv_bytes(STATEMENT_HEADER, rows)
