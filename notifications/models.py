from django.db import models
from django.db.models import Q


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    SMS = "sms", "SMS"


class MessageStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    DEFERRED = "deferred", "Waiting for contact hours"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Not needed any more"


# Rows the sweeper may still deliver.
PENDING_STATUSES = (MessageStatus.QUEUED, MessageStatus.DEFERRED)


class MessageKind(models.TextChoices):
    APPLICATION_RECEIVED = "application_received", "Application received"
    APPLICATION_APPROVED = "application_approved", "Application approved"
    APPLICATION_REJECTED = "application_rejected", "Application not approved"
    APPLICATION_INFO_REQUESTED = "application_info_requested", "Information requested"
    APPROVAL_EXPIRED = "approval_expired", "Approval expired"
    KYC_VERIFIED = "kyc_verified", "Profile verified"
    KYC_REJECTED = "kyc_rejected", "Profile needs changes"
    LOAN_DISBURSED = "loan_disbursed", "Loan paid out"
    PAYMENT_RECEIVED = "payment_received", "Payment received"
    CHARGES_WAIVED = "charges_waived", "Charges waived"
    RESTRUCTURE_OFFERED = "restructure_offered", "New terms offered"
    RESTRUCTURE_APPROVED = "restructure_approved", "New schedule in force"
    REMINDER_DUE_IN_3 = "reminder_due_in_3", "Reminder: due in 3 days"
    REMINDER_DUE_TODAY = "reminder_due_today", "Reminder: due today"
    REMINDER_OVERDUE_1 = "reminder_overdue_1", "Reminder: 1 day overdue"
    REMINDER_OVERDUE_7 = "reminder_overdue_7", "Reminder: 7 days overdue"
    REMINDER_OVERDUE_30 = "reminder_overdue_30", "Reminder: 30 days overdue"


class Message(models.Model):
    """One message to one member on one channel: the log of everything we ever sent them.

    The content is rendered when the row is created; the address is not stored but read from
    the member's own record when it is sent, so a message can only ever reach the member.
    ``dedupe_key`` (the event and the channel) is unique: an event never messages twice. The
    uniqueness lives in ``MessageDedupeKey``, written in the same transaction: on PostgreSQL
    this table is partitioned by month of ``created_at`` and a unique index there would have
    to include ``created_at``.
    """

    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="messages")
    channel = models.CharField(max_length=8, choices=Channel)
    kind = models.CharField(max_length=32, choices=MessageKind)
    subject = models.CharField(max_length=200)
    body = models.TextField(help_text="The text part of an e-mail, or the SMS text.")
    body_html = models.TextField(blank=True)
    installment = models.ForeignKey(
        "loans.Installment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The installment a reminder is about (not sent if it is paid by then).",
    )
    status = models.CharField(max_length=12, choices=MessageStatus, default=MessageStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    scheduled_for = models.DateTimeField(help_text="Not sent before this time.")
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_to = models.CharField(
        max_length=80, blank=True, help_text="Masked address it went to, for the record."
    )
    provider_reference = models.CharField(max_length=100, blank=True)
    last_error = models.TextField(blank=True)
    # Indexed for support look-ups in the admin; unique through MessageDedupeKey.
    dedupe_key = models.CharField(max_length=120, db_index=True, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=MessageStatus.values), name="message_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=Channel.values), name="message_channel_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["member", "-created_at", "-id"], name="message_member_created"),
            models.Index(fields=["status", "scheduled_for"], name="message_status_scheduled"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} by {self.channel} to member {self.member_id}"

    @property
    def is_deferred(self) -> bool:
        """Held until contact hours: the page says when it goes."""
        return self.status == MessageStatus.DEFERRED


class MessageDedupeKey(models.Model):
    """An event and channel that has been messaged (``Message.dedupe_key``), unique for good.

    Written with the message in one transaction, so a concurrent second notification of the
    same event waits on this unique index and then fails it. Kept when old message months are
    detached past retention: an event never messages twice, however late it is replayed.
    No foreign key to ``Message`` (on PostgreSQL that would need its whole ``(id,
    created_at)`` key); ``message_id`` is for people reading the table.
    """

    dedupe_key = models.CharField(max_length=120, unique=True)
    message_id = models.BigIntegerField()
    created_at = models.DateTimeField()

    def __str__(self):
        return self.dedupe_key
