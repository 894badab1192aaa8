"""Auto-matching: suggest a loan (and a payment) for each imported credit, by a reference
in the narration first, then by amount and the member's identity. Nothing is posted: a
suggestion becomes a repayment only when finance confirms it (``services.confirm_match``).
"""

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Min
from django.utils import timezone

from core.money import format_naira
from loans.models import INSTALLMENT_OUTSTANDING, Installment, InstallmentStatus, Loan, LoanStatus
from payments.models import (
    LineStatus,
    Payment,
    PaymentChannel,
    PaymentStatus,
    StatementLine,
)

MATCH_WINDOW_DAYS = 3
QUERY_CHUNK = 500

_LOAN_REFERENCE = re.compile(r"(?=(LN[A-Z0-9]{8}))")
_PAYMENT_REFERENCE = re.compile(r"(?=PAY-?([0-9A-F]{12}))")
_WORDS = re.compile(r"[A-Z]+")
_DIGITS = re.compile(r"\d+")


def chunks(items, size=QUERY_CHUNK):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _line_text(line: StatementLine) -> str:
    return f"{line.bank_reference} {line.narration}".upper()


def identity_in_narration(member, narration: str) -> str:
    """What of the member's identity the narration names ('' if nothing): account number,
    phone (local 0… or 234… form) or at least two of their names as whole words."""
    text = narration.upper()
    digit_runs = set(_DIGITS.findall(text))
    if member.account_number and member.account_number in digit_runs:
        return f"account {member.account_number}"
    phone_digits = "".join(c for c in (member.phone or "") if c.isdigit())
    if phone_digits.startswith("234") and len(phone_digits) == 13:
        local = "0" + phone_digits[3:]
        if local in digit_runs or phone_digits in digit_runs:
            return f"phone {local}"
    names = [w for w in _WORDS.findall((member.full_name or "").upper()) if len(w) > 1]
    words = set(_WORDS.findall(text))
    present = [w for w in names if w in words]
    if names and len(present) >= min(2, len(names)):
        return "name " + " ".join(present)
    return ""


def suggest(line, *, loan, reason, payment=None):
    line.status = LineStatus.SUGGESTED
    line.suggested_loan = loan
    line.suggested_payment = payment
    line.match_reason = reason[:200]


def _match_by_reference(lines: list[StatementLine]) -> None:
    loan_refs = {line.pk: set(_LOAN_REFERENCE.findall(_line_text(line))) for line in lines}
    pay_refs = {
        line.pk: {f"PAY-{h}" for h in _PAYMENT_REFERENCE.findall(_line_text(line))}
        for line in lines
    }
    loans, payments = {}, {}
    for chunk in chunks(set().union(*loan_refs.values())):
        loans.update((loan.reference, loan) for loan in Loan.objects.filter(reference__in=chunk))
    for chunk in chunks(set().union(*pay_refs.values())):
        payments.update(
            (p.reference, p)
            for p in Payment.objects.filter(
                reference__in=chunk, status=PaymentStatus.PENDING, channel=PaymentChannel.CHECKOUT
            ).select_related("loan")
        )
    for line in lines:
        named_payments = [
            payments[r]
            for r in sorted(pay_refs[line.pk])
            if r in payments and payments[r].loan and payments[r].loan.status == LoanStatus.ACTIVE
        ]
        if len(named_payments) == 1:
            payment = named_payments[0]
            suggest(
                line,
                loan=payment.loan,
                payment=payment,
                reason=f"reference {payment.reference} (pending checkout of "
                f"{format_naira(payment.amount)} on {payment.loan.reference})",
            )
            continue
        named = [loans[r] for r in sorted(loan_refs[line.pk]) if r in loans]
        active = [loan for loan in named if loan.status == LoanStatus.ACTIVE]
        if len(active) == 1:
            suggest(line, loan=active[0], reason=f"reference {active[0].reference}")
        elif len(active) > 1:
            line.match_reason = (
                "names several loans: " + ", ".join(loan.reference for loan in active)
            )[:200]
        elif named:
            line.match_reason = (
                f"reference {named[0].reference}, but that loan is "
                f"{named[0].get_status_display().lower()}"
            )[:200]


@dataclass
class _Candidate:
    loan: Loan
    on: date
    detail: str


def _amount_candidates(lines: list[StatementLine]) -> dict[int, list[_Candidate]]:
    """Active loans owing exactly a line's amount on their next installment, or with a pending
    checkout of that amount, near the statement's dates."""
    window = timedelta(days=MATCH_WINDOW_DAYS)
    low = min(line.value_date for line in lines) - window
    high = max(line.value_date for line in lines) + window
    amounts = {line.amount for line in lines}
    by_amount: dict[int, list[_Candidate]] = defaultdict(list)

    installments = []
    for chunk in chunks(amounts):
        installments += list(
            Installment.objects.filter(loan__status=LoanStatus.ACTIVE, due_date__range=(low, high))
            .exclude(status=InstallmentStatus.WAIVED)
            .annotate(owed=INSTALLMENT_OUTSTANDING)
            .filter(owed__in=chunk)
            .select_related("loan__member")
        )
    next_unpaid = {}
    for chunk in chunks({i.loan_id for i in installments}):
        next_unpaid.update(
            Installment.objects.filter(loan_id__in=chunk)
            .exclude(status=InstallmentStatus.WAIVED)
            .annotate(owed=INSTALLMENT_OUTSTANDING)
            .filter(owed__gt=0)
            .values("loan_id")
            .annotate(first=Min("number"))
            .values_list("loan_id", "first")
        )
    for inst in installments:
        if next_unpaid.get(inst.loan_id) == inst.number:
            by_amount[inst.owed].append(
                _Candidate(
                    inst.loan,
                    inst.due_date,
                    f"installment {inst.number} due {inst.due_date:%d %b %Y}",
                )
            )

    start = timezone.make_aware(datetime.combine(low, time.min))
    end = timezone.make_aware(datetime.combine(high + timedelta(days=1), time.min))
    for chunk in chunks(amounts):
        for payment in Payment.objects.filter(
            status=PaymentStatus.PENDING,
            loan__status=LoanStatus.ACTIVE,
            amount__in=chunk,
            created_at__gte=start,
            created_at__lt=end,
        ).select_related("loan__member"):
            by_amount[payment.amount].append(
                _Candidate(
                    payment.loan,
                    timezone.localdate(payment.created_at),
                    f"pending payment {payment.reference}",
                )
            )
    return by_amount


def _match_by_amount_and_identity(lines: list[StatementLine]) -> None:
    if not lines:
        return
    candidates = _amount_candidates(lines)
    for line in lines:
        found: dict[int, tuple[Loan, str, str]] = {}
        for c in candidates.get(line.amount, ()):
            if abs((c.on - line.value_date).days) > MATCH_WINDOW_DAYS or c.loan.pk in found:
                continue
            who = identity_in_narration(c.loan.member, _line_text(line))
            if who:
                found[c.loan.pk] = (c.loan, c.detail, who)
        if len(found) == 1:
            loan, detail, who = next(iter(found.values()))
            suggest(
                line, loan=loan, reason=f"amount = {detail} of {loan.reference}; {who} in narration"
            )
        elif found:
            line.match_reason = (
                "amount and identity fit several loans: "
                + ", ".join(loan.reference for loan, _, _ in found.values())
            )[:200]


def auto_match(lines) -> int:
    """Suggest a loan for unmatched credit lines: first by a reference in the bank reference
    or narration, then by amount + the member's identity within ±3 days. Never confirms.
    Returns how many lines got a suggestion."""
    credits = [line for line in lines if line.amount > 0 and line.status == LineStatus.UNMATCHED]
    if not credits:
        return 0
    _match_by_reference(credits)
    _match_by_amount_and_identity([line for line in credits if line.status == LineStatus.UNMATCHED])
    changed = [line for line in credits if line.status != LineStatus.UNMATCHED or line.match_reason]
    StatementLine.objects.bulk_update(
        changed,
        ["status", "suggested_loan", "suggested_payment", "match_reason"],
        batch_size=QUERY_CHUNK,
    )
    return sum(1 for line in credits if line.status == LineStatus.SUGGESTED)
