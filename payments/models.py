from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

# --- Disbursement --------------------------------------------------------------------------


class DisbursementStatus(models.TextChoices):
    QUEUED = "queued", "Queued"  # intent written, not yet sent to the provider
    SENT = "sent", "Sent"  # provider accepted; waiting for the final state
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


LIVE_DISBURSEMENT_STATUSES = (
    DisbursementStatus.QUEUED,
    DisbursementStatus.SENT,
    DisbursementStatus.SUCCEEDED,
)


class Disbursement(models.Model):
    """The outbox row for one payout attempt, written in the same transaction as the intent.

    The partial unique constraint makes a second live payout of the same loan impossible,
    whatever the clicks, retries or processes; a failed attempt frees the loan for a retry
    with a new reference.
    """

    reference = models.CharField(max_length=40, unique=True)
    loan = models.ForeignKey("loans.Loan", on_delete=models.PROTECT, related_name="disbursements")
    amount = models.BigIntegerField()
    provider = models.CharField(max_length=20)
    status = models.CharField(
        max_length=10, choices=DisbursementStatus, default=DisbursementStatus.QUEUED
    )
    recipient_code = models.CharField(max_length=60, blank=True)
    # The confirmed account this payout is bound to (copied when it is requested): the
    # transfer goes here, and is refused if the member's account has changed since.
    bank_code = models.CharField(max_length=8, blank=True)
    account_number = models.CharField(max_length=10, blank=True)
    account_name = models.CharField(max_length=150, blank=True)
    provider_reference = models.CharField(max_length=80, blank=True)
    bank_reference = models.CharField(
        max_length=80, blank=True, help_text="Manual provider: the bank's reference."
    )
    failure_reason = models.TextField(blank=True)
    initiated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["loan"],
                condition=Q(status__in=[s.value for s in LIVE_DISBURSEMENT_STATUSES]),
                name="disbursement_one_live_per_loan",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="disbursement_positive"),
        ]
        indexes = [models.Index(fields=["status", "updated_at"], name="disb_status_updated")]

    def __str__(self):
        return self.reference


# --- Payments --------------------------------------------------------------------------------


class PaymentChannel(models.TextChoices):
    CHECKOUT = "checkout", "Provider checkout"
    BANK_TRANSFER = "bank_transfer", "Bank transfer / deposit"
    MANUAL = "manual", "Manual entry"
    ALLOWANCE = "allowance", "Allowance deduction"
    # Money we already held for the member (an earlier overpayment) used for an installment or
    # a settlement: no new money arrives, so collection figures leave it out.
    CREDIT = "credit", "Paid from your credit"


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCESSFUL = "successful", "Successful"
    FAILED = "failed", "Failed"
    REVERSED = "reversed", "Reversed"
    # A checkout the member never finished: the provider still had no charge when it was
    # ``CHECKOUT_EXPIRE_MINUTES`` old. It moved no money and leaves the statement; if the
    # provider later confirms a charge after all, it is posted like any other.
    EXPIRED = "expired", "Expired"


class Payment(models.Model):
    reference = models.CharField(max_length=80, unique=True)
    provider = models.CharField(max_length=20)
    channel = models.CharField(max_length=20, choices=PaymentChannel)
    loan = models.ForeignKey(
        "loans.Loan", null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    member = models.ForeignKey(
        "members.Member", null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    amount = models.BigIntegerField()
    status = models.CharField(max_length=12, choices=PaymentStatus, default=PaymentStatus.PENDING)
    raw_payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    received_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(blank=True)
    evidence = models.CharField(max_length=200, blank=True)
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversal_reason = models.TextField(blank=True)
    # What the member asked this money to do beyond paying what is due: "settle" (close the
    # loan) or "prepay_shorter" / "prepay_lower" (a prepayment; payments.services.credit).
    intent = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("reverse_payment", "Can reverse a payment")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            # One receipt / bank reference pays once per channel (issue 15, M5); a reversed
            # payment frees it so the money can be entered again against the right loan.
            models.UniqueConstraint(
                F("channel"),
                Lower("evidence"),
                condition=Q(channel="manual") & ~Q(evidence="") & ~Q(status="reversed"),
                name="payment_unique_manual_evidence",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at", "-id"], name="payment_status_created"),
            models.Index(fields=["-created_at", "-id"], name="payment_created"),
            models.Index(fields=["loan", "-created_at"], name="payment_loan_created"),
        ]

    def __str__(self):
        return self.reference


class AllocationComponent(models.TextChoices):
    LATE_FEE = "late_fee", "Late fee"
    FEE = "fee", "Fee"
    INTEREST = "interest", "Interest"
    PRINCIPAL = "principal", "Principal"
    CREDIT = "credit", "Member credit"
    RECOVERY = "recovery", "Recovered after write-off"


class Allocation(models.Model):
    """Where each kobo of a payment went; a reversal undoes exactly these rows."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="allocations")
    installment = models.ForeignKey(
        "loans.Installment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="allocations",
    )
    component = models.CharField(max_length=10, choices=AllocationComponent)
    amount = models.BigIntegerField()

    class Meta:
        ordering = ["payment", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_positive")
        ]

    def __str__(self):
        return f"{self.payment_id} {self.component} {self.amount}"


# --- Webhook inbox ---------------------------------------------------------------------------


class WebhookStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored (duplicate or not relevant)"
    FLAGGED = "flagged", "Flagged for finance"
    FAILED = "failed", "Failed (will retry)"


class WebhookEvent(models.Model):
    """Every provider event stored once (unique per provider and event id, through
    ``WebhookEventKey``), then processed by a task; a duplicate delivery finds the row and
    changes nothing.

    On PostgreSQL the table is partitioned by month of ``received_at`` (core/partitions.py):
    its primary key there is ``(id, received_at)`` and a unique constraint would have to
    include ``received_at`` too, which a redelivery never shares, so uniqueness of the event
    lives in the small unpartitioned key table written in the same transaction.
    """

    provider = models.CharField(max_length=20)
    event_id = models.CharField(max_length=120)
    event_type = models.CharField(max_length=60)
    reference = models.CharField(max_length=80, blank=True)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=WebhookStatus, default=WebhookStatus.RECEIVED)
    note = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["status", "received_at"], name="webhook_status"),
            models.Index(fields=["reference"], name="webhook_reference"),
            models.Index(fields=["-received_at", "-id"], name="webhook_received"),
        ]

    def __str__(self):
        return f"{self.provider}:{self.event_id}"


class WebhookEventKey(models.Model):
    """The identity of a stored provider event: unique per provider and event id, for good.

    Written with its ``WebhookEvent`` in one transaction; a concurrent second delivery waits
    on this unique index and then fails it, exactly as it did on the event table before the
    inbox was partitioned. Kept when the event's month is detached past retention, so a very
    late redelivery is still recognised (a few dozen bytes a row). ``webhook_id`` and
    ``received_at`` locate the event (and its partition) without a foreign key, which on a
    partitioned table would need the whole ``(id, received_at)`` key.
    """

    provider = models.CharField(max_length=20)
    event_id = models.CharField(max_length=120)
    webhook_id = models.BigIntegerField()
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="webhook_key_unique")
        ]

    def __str__(self):
        return f"{self.provider}:{self.event_id}"


# --- Bank statement import and reconciliation ------------------------------------------------


class ColumnMapping(models.Model):
    """How one bank's statement export is laid out, saved so finance maps it once."""

    bank_name = models.CharField(max_length=100, unique=True)
    date_column = models.CharField(max_length=60)
    amount_column = models.CharField(
        max_length=60, blank=True, help_text="One signed amount column, or use credit/debit."
    )
    credit_column = models.CharField(max_length=60, blank=True)
    debit_column = models.CharField(max_length=60, blank=True)
    narration_column = models.CharField(max_length=60)
    reference_column = models.CharField(max_length=60, blank=True)
    date_format = models.CharField(max_length=20, default="%d/%m/%Y")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["bank_name"]
        permissions = [("reconcile_statement", "Can import statements and reconcile")]

    def __str__(self):
        return self.bank_name


class StatementImport(models.Model):
    mapping = models.ForeignKey(ColumnMapping, on_delete=models.PROTECT, related_name="imports")
    file_name = models.CharField(max_length=200)
    file_sha256 = models.CharField(max_length=64)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    lines_total = models.PositiveIntegerField(default=0)
    lines_new = models.PositiveIntegerField(default=0)
    lines_duplicate = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.file_name} ({self.created_at:%Y-%m-%d})"


class LineStatus(models.TextChoices):
    UNMATCHED = "unmatched", "Unmatched"
    SUGGESTED = "suggested", "Suggested match"
    MATCHED = "matched", "Matched (confirmed)"
    IGNORED = "ignored", "Ignored"
    # An unidentified deposit held in the suspense account until finance assigns it to a
    # loan (it becomes matched) or sends it back to the sender (refunded).
    SUSPENSE = "suspense", "In suspense"
    REFUNDED = "refunded", "Refunded from suspense"


# The badge colour of each line status on the reconciliation screen ({% status_badge %}).
LINE_STATUS_BADGES = {
    LineStatus.MATCHED: "bg-success",
    LineStatus.SUGGESTED: "bg-warning text-dark",
    LineStatus.IGNORED: "bg-light text-dark border",
    LineStatus.SUSPENSE: "bg-info text-dark",
    LineStatus.REFUNDED: "bg-secondary",
}


class StatementLine(models.Model):
    """One credit or debit on the bank statement. The fingerprint (date, amount, narration,
    reference, and the occurrence number of identical lines in the file) makes a re-import of
    the same file add nothing."""

    statement = models.ForeignKey(StatementImport, on_delete=models.PROTECT, related_name="lines")
    fingerprint = models.CharField(max_length=64, unique=True)
    value_date = models.DateField()
    amount = models.BigIntegerField(help_text="Kobo; credits positive, debits negative.")
    narration = models.TextField(blank=True)
    bank_reference = models.CharField(max_length=120, blank=True)
    status = models.CharField(max_length=10, choices=LineStatus, default=LineStatus.UNMATCHED)
    suggested_loan = models.ForeignKey(
        "loans.Loan", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    suggested_payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    match_reason = models.CharField(max_length=200, blank=True)
    payment = models.OneToOneField(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="statement_line"
    )
    ignore_reason = models.TextField(blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    STATUS_BADGES = LINE_STATUS_BADGES

    class Meta:
        ordering = ["value_date", "id"]
        indexes = [
            models.Index(fields=["status", "value_date"], name="stmtline_status_date"),
            models.Index(fields=["bank_reference"], name="stmtline_reference"),
            models.Index(fields=["amount", "value_date"], name="stmtline_amount_date"),
        ]

    def __str__(self):
        return f"{self.value_date} {self.amount}"


# --- Refunds ---------------------------------------------------------------------------------


class RefundSource(models.TextChoices):
    CREDIT = "credit", "Member credit"
    SUSPENSE = "suspense", "Unidentified deposit (suspense)"


class RefundStatus(models.TextChoices):
    REQUESTED = "requested", "Waiting for approval"
    QUEUED = "queued", "Approved, being sent"
    SENT = "sent", "Sent, waiting for the bank"
    SUCCEEDED = "succeeded", "Paid"
    FAILED = "failed", "Failed, money returned"
    REJECTED = "rejected", "Rejected"


# The one transition map of a refund (payments.services.refunds checks it).
REFUND_TRANSITIONS = {
    RefundStatus.REQUESTED: {RefundStatus.QUEUED, RefundStatus.REJECTED},
    RefundStatus.QUEUED: {RefundStatus.SENT, RefundStatus.FAILED},
    RefundStatus.SENT: {RefundStatus.SUCCEEDED, RefundStatus.FAILED},
}
# Approved and not finished: the money is promised to the transfer and nobody else may use it.
IN_FLIGHT_REFUND_STATUSES = (RefundStatus.QUEUED, RefundStatus.SENT)
LIVE_REFUND_STATUSES = (RefundStatus.REQUESTED, *IN_FLIGHT_REFUND_STATUSES, RefundStatus.SUCCEEDED)


class Refund(models.Model):
    """Money we send back: a member's credit, or an unidentified deposit held in suspense.

    The row is also the outbox of the transfer: ``reference`` is fixed when it is requested
    and is the provider's idempotency key, so a retry or a sweep can never pay twice. A
    suspense line has at most one live refund (partial unique constraint).
    """

    reference = models.CharField(max_length=40, unique=True)
    source = models.CharField(max_length=10, choices=RefundSource)
    member = models.ForeignKey(
        "members.Member", null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    loan = models.ForeignKey(
        "loans.Loan", null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    statement_line = models.ForeignKey(
        StatementLine, null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    amount = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=RefundStatus, default=RefundStatus.REQUESTED)
    reason = models.TextField(blank=True)
    # The account the money goes to, bound when requested (credit: the member's confirmed
    # payout account; suspense: what finance entered) and how its name was checked.
    bank_code = models.CharField(max_length=8)
    account_number = models.CharField(max_length=10)
    account_name = models.CharField(max_length=150)
    name_confirmed = models.BooleanField(default=False)
    name_check = models.CharField(max_length=300, blank=True)
    provider = models.CharField(max_length=20, blank=True)
    recipient_code = models.CharField(max_length=60, blank=True)
    provider_reference = models.CharField(max_length=80, blank=True)
    failure_reason = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("approve_refund", "Can request and approve refunds")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_positive"),
            models.CheckConstraint(
                condition=(Q(source="credit") & Q(member__isnull=False))
                | (Q(source="suspense") & Q(statement_line__isnull=False)),
                name="refund_source_has_origin",
            ),
            models.UniqueConstraint(
                fields=["statement_line"],
                condition=Q(status__in=[s.value for s in LIVE_REFUND_STATUSES])
                & Q(statement_line__isnull=False),
                name="refund_one_live_per_line",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "updated_at"], name="refund_status_updated"),
            models.Index(fields=["member", "status"], name="refund_member_status"),
        ]

    STATUS_BADGES = {
        RefundStatus.SUCCEEDED: "bg-success",
        RefundStatus.REQUESTED: "bg-warning text-dark",
        RefundStatus.FAILED: "bg-danger",
        RefundStatus.REJECTED: "bg-light text-dark border",
    }

    def __str__(self):
        return self.reference


class RefundEvent(models.Model):
    """The history of a refund: one row per change of status, who and why."""

    refund = models.ForeignKey(Refund, on_delete=models.PROTECT, related_name="events")
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["refund", "id"]

    def __str__(self):
        return f"{self.refund_id}: {self.from_status or '-'} → {self.to_status}"
