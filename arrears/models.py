"""Arrears: the daily overdue run, late fees, portfolio at risk, the allowance-delay switch,
the collections contact log and write-offs."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class OverdueRun(models.Model):
    """One Lagos day of the overdue run. A day is done at most once: the unique date makes
    a second run (or a concurrent one that got past the lock) change nothing."""

    run_date = models.DateField(unique=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    installments_marked_overdue = models.PositiveIntegerField(default=0)
    fees_charged = models.PositiveIntegerField(default=0, help_text="Installments charged.")
    fees_total = models.BigIntegerField(default=0, help_text="Kobo.")
    fees_paused = models.BooleanField(
        default=False, help_text="No late fees: the allowance was delayed on this day."
    )

    class Meta:
        ordering = ["-run_date"]

    def __str__(self):
        return f"Overdue run {self.run_date}"


class LateFeeCharge(models.Model):
    """One day's late fee on one installment. Written set-based by the overdue run; the
    unique (installment, day) pair is the database's guarantee against charging twice."""

    # No database foreign keys: the run inserts hundreds of thousands of rows a day, each copied
    # from an existing installment in the same statement, and installments and loans are never
    # deleted; a key check per row (with its row lock) would cost more than the insert itself.
    installment = models.ForeignKey(
        "loans.Installment",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="late_fee_charges",
    )
    loan = models.ForeignKey(
        "loans.Loan", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    charge_date = models.DateField()
    amount = models.BigIntegerField()

    class Meta:
        ordering = ["charge_date", "installment"]
        constraints = [
            models.UniqueConstraint(
                fields=["installment", "charge_date"], name="late_fee_once_a_day"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="late_fee_positive"),
        ]
        indexes = [models.Index(fields=["charge_date", "loan"], name="late_fee_day_loan")]

    def __str__(self):
        return f"Late fee {self.amount} on {self.installment_id} ({self.charge_date})"


class Bucket(models.TextChoices):
    CURRENT = "current", "Current"
    DPD_1_30 = "1-30", "1–30 days"
    DPD_31_60 = "31-60", "31–60 days"
    DPD_61_90 = "61-90", "61–90 days"
    DPD_90_PLUS = "90+", "90+ days"


# (bucket, first day past due, last day past due or None)
BUCKET_RANGES = [
    (Bucket.CURRENT, 0, 0),
    (Bucket.DPD_1_30, 1, 30),
    (Bucket.DPD_31_60, 31, 60),
    (Bucket.DPD_61_90, 61, 90),
    (Bucket.DPD_90_PLUS, 91, None),
]


class PortfolioSnapshot(models.Model):
    """Portfolio at risk on one day: active loans and their outstanding principal by how many
    days the oldest unpaid installment is past due."""

    snapshot_date = models.DateField()
    bucket = models.CharField(max_length=8, choices=Bucket)
    loans = models.PositiveIntegerField()
    outstanding_principal = models.BigIntegerField()

    class Meta:
        ordering = ["-snapshot_date", "bucket"]
        permissions = [("view_portfolio", "Can see portfolio at risk and overdue runs")]
        constraints = [
            models.UniqueConstraint(fields=["snapshot_date", "bucket"], name="par_once_a_day")
        ]

    def __str__(self):
        return f"PAR {self.snapshot_date} {self.bucket}"


class AllowanceDelay(models.Model):
    """ "Allowance delayed": when the federal allowance reaches corps members late, no late
    fees are charged for the days of the period (they could not have paid on time)."""

    starts_on = models.DateField()
    ends_on = models.DateField()
    reason = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-starts_on", "-id"]
        permissions = [("set_allowance_delay", "Can switch 'allowance delayed' on and off")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="delay_period_ordered"
            )
        ]

    def __str__(self):
        return f"Allowance delayed {self.starts_on} – {self.ends_on}"

    @property
    def is_active(self):
        return self.cancelled_at is None


class ContactChannel(models.TextChoices):
    CALL = "call", "Phone call"
    SMS = "sms", "SMS"
    EMAIL = "email", "E-mail"


class ContactOutcome(models.TextChoices):
    REACHED = "reached", "Reached the member"
    PROMISED = "promised", "Promise to pay"
    NO_ANSWER = "no_answer", "No answer"
    DISPUTED = "disputed", "Member disputes the debt"
    WRONG_NUMBER = "wrong_number", "Wrong number"


class CollectionContact(models.Model):
    """A contact with the member about arrears. Only the member is ever contacted."""

    loan = models.ForeignKey("loans.Loan", on_delete=models.PROTECT, related_name="contacts")
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    channel = models.CharField(max_length=8, choices=ContactChannel)
    outcome = models.CharField(max_length=14, choices=ContactOutcome)
    promise_date = models.DateField(null=True, blank=True)
    promise_amount = models.BigIntegerField(null=True, blank=True)
    note = models.TextField(blank=True)
    # Recovery contact is only allowed 08:00–21:00 Lagos; a log outside is kept and flagged.
    outside_permitted_hours = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("view_collections", "Can see the collections worklist"),
            ("log_contact", "Can log a contact with a member in arrears"),
        ]
        indexes = [models.Index(fields=["loan", "-created_at"], name="contact_loan")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(outcome="promised") | Q(promise_date__isnull=False),
                name="promise_has_a_date",
            )
        ]

    def __str__(self):
        return f"{self.get_channel_display()} on {self.loan_id}"


class WriteOffStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class WriteOff(models.Model):
    """Two people: one requests, a different one approves; the ledger entry is posted on
    approval, in the same transaction as the loan's change to written_off."""

    loan = models.ForeignKey("loans.Loan", on_delete=models.PROTECT, related_name="write_offs")
    status = models.CharField(
        max_length=10, choices=WriteOffStatus, default=WriteOffStatus.REQUESTED
    )
    reason = models.TextField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    amount = models.BigIntegerField(help_text="Outstanding balance (kobo) when requested.")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        permissions = [
            ("request_write_off", "Can request a loan write-off"),
            ("approve_write_off", "Can approve a loan write-off"),
        ]
        constraints = [
            # At most one open request per loan.
            models.UniqueConstraint(
                fields=["loan"],
                condition=Q(status="requested"),
                name="one_open_write_off_per_loan",
            ),
        ]

    def __str__(self):
        return f"Write-off of {self.loan_id} ({self.status})"
