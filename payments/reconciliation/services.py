"""Reconciliation writes: column mappings, statement import, and a person's confirm,
re-match or ignore of a line. Every write checks the permission, locks the line and is
audited; nothing is ever posted automatically.
"""

import hashlib

from django.db import transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from core import audit
from core.errors import Conflict, DomainError, NotAllowed
from loans.models import Loan, LoanStatus
from payments.models import (
    ColumnMapping,
    LineStatus,
    Payment,
    PaymentChannel,
    PaymentStatus,
    StatementImport,
    StatementLine,
)
from payments.reconciliation.matching import QUERY_CHUNK, auto_match, chunks, suggest
from payments.reconciliation.parsing import (
    MAX_FILE_BYTES,
    StatementError,
    fingerprint,
    parse_statement,
)
from payments.reconciliation.selectors import value_datetime
from payments.services.repayment import record_payment

PERMISSION = "payments.reconcile_statement"


def _require(actor) -> None:
    if not (
        actor is not None
        and actor.is_authenticated
        and actor.is_staff
        and actor.has_perm(PERMISSION)
    ):
        raise NotAllowed("You do not have permission to import statements or reconcile.")


MAPPING_FIELDS = [
    "bank_name",
    "date_column",
    "amount_column",
    "credit_column",
    "debit_column",
    "narration_column",
    "reference_column",
    "date_format",
]


@transaction.atomic
def save_column_mapping(*, mapping: ColumnMapping, actor) -> ColumnMapping:
    """Create or change a bank's column mapping (validated by the form), audited."""
    _require(actor)
    before = {}
    if mapping.pk:
        before = model_to_dict(
            ColumnMapping.objects.select_for_update().get(pk=mapping.pk), fields=MAPPING_FIELDS
        )
    mapping.save()
    after = model_to_dict(mapping, fields=MAPPING_FIELDS)
    changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
    audit.record(
        actor=actor,
        action="column_mapping.changed" if before else "column_mapping.created",
        obj=mapping,
        changes=changes,
    )
    return mapping


def import_statement(*, mapping: ColumnMapping, uploaded_file, actor) -> StatementImport:
    """Store the lines of a statement not seen before, then suggest matches for the new
    credits. A malformed file raises ``StatementError`` and writes nothing."""
    _require(actor)
    size = getattr(uploaded_file, "size", None)
    if size is not None and size > MAX_FILE_BYTES:
        raise StatementError(
            f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; split the "
            "statement into shorter periods."
        )
    content = uploaded_file.read(MAX_FILE_BYTES + 1)
    file_name = (getattr(uploaded_file, "name", "") or "statement").rsplit("/", 1)[-1][:200]
    parsed = parse_statement(content, file_name, mapping)
    prints = [fingerprint(line) for line in parsed]

    with transaction.atomic():
        statement = StatementImport.objects.create(
            mapping=mapping,
            file_name=file_name,
            file_sha256=hashlib.sha256(content).hexdigest(),
            imported_by=actor,
        )
        existing = set()
        for chunk in chunks(prints):
            existing.update(
                StatementLine.objects.filter(fingerprint__in=chunk).values_list(
                    "fingerprint", flat=True
                )
            )
        new_lines = [
            StatementLine(
                statement=statement,
                fingerprint=fp,
                value_date=line.value_date,
                amount=line.amount_kobo,
                narration=line.narration,
                bank_reference=line.reference[:120],
            )
            for line, fp in zip(parsed, prints, strict=True)
            if fp not in existing
        ]
        # A concurrent import of the same file may insert some of these after our check: the
        # unique fingerprint drops them here, and the count below is what we really stored.
        StatementLine.objects.bulk_create(new_lines, ignore_conflicts=True, batch_size=QUERY_CHUNK)
        stored = list(StatementLine.objects.filter(statement=statement))
        statement.lines_total = len(parsed)
        statement.lines_new = len(stored)
        statement.lines_duplicate = len(parsed) - len(stored)
        statement.save(update_fields=["lines_total", "lines_new", "lines_duplicate"])
        suggested = auto_match(stored)
        audit.record(
            actor=actor,
            action="statement.imported",
            obj=statement,
            changes={
                "bank": mapping.bank_name,
                "file": file_name,
                "lines": statement.lines_total,
                "new": statement.lines_new,
                "duplicates": statement.lines_duplicate,
                "suggested": suggested,
            },
        )
    return statement


def _lock_open_line(line: StatementLine, actor) -> StatementLine:
    _require(actor)
    line = StatementLine.objects.select_for_update().get(pk=line.pk)
    if line.status not in (LineStatus.UNMATCHED, LineStatus.SUGGESTED):
        raise Conflict(
            f"This line is already {line.get_status_display().lower()}"
            f"{' by ' + str(line.resolved_by) if line.resolved_by_id else ''}; "
            "nothing was changed."
        )
    return line


@transaction.atomic
def confirm_match(*, line: StatementLine, actor, loan: Loan | None = None) -> StatementLine:
    """A person confirms a statement credit as a repayment of a loan (the suggested one
    unless another is given): one bank-transfer payment, allocated and posted."""
    line = _lock_open_line(line, actor)
    if line.amount <= 0:
        raise DomainError(
            "A debit on the statement is money going out; it cannot be a "
            "repayment. Ignore it with a reason instead."
        )
    loan = loan or line.suggested_loan
    if loan is None:
        raise DomainError("This line has no suggested loan: re-match it to a loan reference first.")
    superseded = None
    if line.suggested_payment_id and loan.pk == line.suggested_loan_id:
        superseded = Payment.objects.select_for_update().get(pk=line.suggested_payment_id)
        if superseded.status == PaymentStatus.SUCCESSFUL:
            raise Conflict(
                f"Checkout {superseded.reference} was already paid through the provider; this "
                "bank credit may be the same money. Check it, then ignore the line or re-match "
                "it."
            )

    payment = record_payment(
        loan=loan,
        amount=line.amount,
        channel=PaymentChannel.BANK_TRANSFER,
        reference=f"STMT-{line.fingerprint[:20]}",
        provider="bank",
        actor=actor,
        received_at=value_datetime(line.value_date),
        reason=f"Bank statement line {line.pk}: {line.narration}"[:2000],
        evidence=(line.bank_reference or f"statement {line.statement_id}")[:200],
        raw_payload={
            "statement_line": line.pk,
            "value_date": line.value_date.isoformat(),
            "narration": line.narration,
            "bank_reference": line.bank_reference,
        },
    )
    if superseded is not None and superseded.status == PaymentStatus.PENDING:
        # The member paid by bank transfer instead of finishing the checkout. Closing the
        # checkout keeps a late provider confirmation from posting the same money twice.
        superseded.status = PaymentStatus.FAILED
        superseded.reason = f"Paid by bank transfer instead: {payment.reference}"
        superseded.save(update_fields=["status", "reason"])
        audit.record(
            actor=actor,
            action="payment.superseded",
            obj=superseded,
            changes={
                "status": [PaymentStatus.PENDING, PaymentStatus.FAILED],
                "by": payment.reference,
            },
        )
    before = line.status
    line.status = LineStatus.MATCHED
    line.payment = payment
    line.suggested_loan = loan
    line.resolved_by = actor
    line.resolved_at = timezone.now()
    line.save(update_fields=["status", "payment", "suggested_loan", "resolved_by", "resolved_at"])
    audit.record(
        actor=actor,
        action="statement_line.confirmed",
        obj=line,
        changes={
            "status": [before, LineStatus.MATCHED],
            "loan": loan.reference,
            "payment": payment.reference,
            "amount": line.amount,
        },
    )
    return line


@transaction.atomic
def rematch(*, line: StatementLine, actor, loan_reference: str) -> StatementLine:
    """Point a line's suggestion at another active loan (a person still confirms it)."""
    line = _lock_open_line(line, actor)
    if line.amount <= 0:
        raise DomainError("A debit on the statement cannot be matched to a loan.")
    reference = (loan_reference or "").strip().upper()
    if not reference:
        raise DomainError(
            "Enter a loan reference, e.g. LN7KQ2M4XP.", fields={"loan_reference": "Required"}
        )
    loan = Loan.objects.filter(reference=reference).first()
    if loan is None:
        raise DomainError(
            f"There is no loan with reference {reference}.", fields={"loan_reference": "Unknown"}
        )
    if loan.status != LoanStatus.ACTIVE:
        raise DomainError(
            f"Loan {loan.reference} is {loan.get_status_display().lower()}; "
            "repayments go to active loans.",
            fields={"loan_reference": "Not active"},
        )
    before = {"status": line.status, "loan": getattr(line.suggested_loan, "reference", None)}
    suggest(line, loan=loan, reason=f"re-matched by {actor} to {loan.reference}")
    line.save(update_fields=["status", "suggested_loan", "suggested_payment", "match_reason"])
    audit.record(
        actor=actor,
        action="statement_line.rematched",
        obj=line,
        changes={
            "status": [before["status"], line.status],
            "loan": [before["loan"], loan.reference],
        },
    )
    return line


@transaction.atomic
def ignore_line(*, line: StatementLine, actor, reason: str) -> StatementLine:
    """Set a line aside (not a repayment: a debit, a transfer between our own accounts, a
    deposit we cannot identify and will refund…), with the reason for the auditors."""
    _require(actor)
    reason = " ".join((reason or "").split())
    if len(reason) < 5:
        raise DomainError(
            "Say why this line is ignored (at least 5 characters).", fields={"reason": "Required"}
        )
    line = _lock_open_line(line, actor)
    before = line.status
    line.status = LineStatus.IGNORED
    line.ignore_reason = reason[:2000]
    line.resolved_by = actor
    line.resolved_at = timezone.now()
    line.save(update_fields=["status", "ignore_reason", "resolved_by", "resolved_at"])
    audit.record(
        actor=actor,
        action="statement_line.ignored",
        obj=line,
        changes={
            "status": [before, LineStatus.IGNORED],
            "reason": reason[:200],
            "amount": line.amount,
        },
    )
    return line
