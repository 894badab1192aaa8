from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from loans.products import LoanProduct
from loans.schedule import FeeTreatment, InterestMethod, ScheduleTerms
from loans.settlement import SettlementRule


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


S = ApplicationStatus
APPLICATION_TRANSITIONS = {
    S.DRAFT: {S.SUBMITTED, S.CANCELLED},
    S.SUBMITTED: {S.IN_REVIEW, S.CANCELLED},
    S.IN_REVIEW: {S.APPROVED, S.REJECTED, S.CANCELLED},
    S.APPROVED: {S.CANCELLED},  # only within cooling-off and before disbursement
    S.REJECTED: set(),
    S.CANCELLED: set(),
}
OPEN_STATUSES = (S.DRAFT, S.SUBMITTED, S.IN_REVIEW)


class Recommendation(models.TextChoices):
    APPROVE = "approve", "Approve"
    REFER = "refer", "Refer (check the warnings)"
    REJECT = "reject", "Reject"


class Application(models.Model):
    reference = models.CharField(max_length=20, unique=True)
    member = models.ForeignKey(
        "members.Member", on_delete=models.PROTECT, related_name="applications"
    )
    product = models.ForeignKey(LoanProduct, on_delete=models.PROTECT, related_name="applications")
    amount = models.BigIntegerField("amount (kobo)")
    tenure_months = models.PositiveSmallIntegerField()
    status = models.CharField(
        max_length=12, choices=ApplicationStatus, default=ApplicationStatus.DRAFT
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    # The key facts statement exactly as shown, and the member's consent to it.
    key_facts = models.JSONField(default=dict, blank=True)
    key_facts_hash = models.CharField(max_length=64, blank=True)
    consent_at = models.DateTimeField(null=True, blank=True)
    consent_ip = models.GenericIPAddressField(null=True, blank=True)
    consent_user_agent = models.CharField(max_length=300, blank=True)

    # Automatic assessment: one entry per rule {rule, passed, reason, warning}.
    assessment = models.JSONField(default=list, blank=True)
    recommendation = models.CharField(max_length=10, choices=Recommendation, blank=True)
    flags = models.JSONField(default=list, blank=True)
    is_flagged = models.BooleanField(default=False)
    assessed_at = models.DateTimeField(null=True, blank=True)

    approved_amount = models.BigIntegerField(null=True, blank=True)
    approved_tenure = models.PositiveSmallIntegerField(null=True, blank=True)
    decision_reason = models.TextField(blank=True, help_text="Shown to the member.")
    info_requested = models.TextField(blank=True)

    # Denormalised for the officer queue's filters without joining members.
    deployment_state = models.CharField(max_length=2, blank=True)
    applicant_name = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("review_application", "Can review applications, request information, add notes"),
            ("approve_application", "Can approve or reject applications"),
        ]
        constraints = [
            # At most one open application per member, whatever the tabs or clicks.
            models.UniqueConstraint(
                fields=["member"],
                condition=Q(status__in=[s.value for s in OPEN_STATUSES]),
                name="application_one_open_per_member",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="application_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=ApplicationStatus.values), name="application_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="app_created"),
            models.Index(fields=["status", "-created_at", "-id"], name="app_status_created"),
            models.Index(fields=["member", "-created_at"], name="app_member_created"),
            models.Index(fields=["product", "-created_at", "-id"], name="app_product_created"),
            models.Index(
                fields=["deployment_state", "-created_at", "-id"], name="app_state_created"
            ),
            models.Index(fields=["is_flagged", "-created_at", "-id"], name="app_flagged_created"),
            models.Index(fields=["applicant_name", "id"], name="app_applicant_name"),
            models.Index(fields=["amount", "id"], name="app_amount"),
            # Name search (prefix and contains) uses PostgreSQL-only indexes: migration 0005.
        ]

    def __str__(self):
        return self.reference

    def get_absolute_url(self):
        return reverse("loans:application_detail", args=[self.reference])

    def get_staff_url(self):
        return reverse("loans:staff_application", args=[self.reference])

    @property
    def is_open(self):
        return self.status in OPEN_STATUSES

    @property
    def may_be_cancelled(self):
        """Shown to the member; the service re-checks cooling-off and payout under lock."""
        return self.is_open or self.status == ApplicationStatus.APPROVED

    def terms(self, *, start_date, amount=None, tenure=None) -> ScheduleTerms:
        """The terms snapshot taken when the member saw the key facts."""
        snap = self.key_facts["terms"]
        return ScheduleTerms(
            principal=amount or self.amount,
            tenure_months=tenure or self.tenure_months,
            method=InterestMethod(snap["method"]),
            monthly_rate=Decimal(snap["monthly_rate"]),
            fee_percent=Decimal(snap["fee_percent"]),
            fee_fixed=int(snap["fee_fixed"]),
            fee_treatment=FeeTreatment(snap["fee_treatment"]),
            due_day=int(snap["due_day"]),
            start_date=start_date,
        )


class ApplicationHistory(models.Model):
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="history")
    created_at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "application history"
        indexes = [models.Index(fields=["application", "created_at"], name="apphist_app")]

    def __str__(self):
        return f"{self.application_id}: {self.from_status} → {self.to_status}"


class ApplicationNote(models.Model):
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    text = models.TextField()
    visible_to_member = models.BooleanField(default=False)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"Note on {self.application_id}"


class Approval(models.Model):
    """One officer's approval. Large amounts need two rows by different officers."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="approvals")
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    amount = models.BigIntegerField()
    tenure_months = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "officer"], name="approval_one_per_officer"
            ),
        ]

    def __str__(self):
        return f"Approval of {self.application_id} by {self.officer_id}"


class LoanStatus(models.TextChoices):
    PENDING_DISBURSEMENT = "pending_disbursement", "Pending disbursement"
    ACTIVE = "active", "Active"
    CLOSED = "closed", "Closed (repaid)"
    WRITTEN_OFF = "written_off", "Written off"
    CANCELLED = "cancelled", "Cancelled"


# The transition maps of loans and installments live with their only writer, loans/lifecycle.py.


class Loan(models.Model):
    """Created when an application is approved. ``overdue`` is derived from installments."""

    reference = models.CharField(max_length=20, unique=True)
    application = models.OneToOneField(Application, on_delete=models.PROTECT, related_name="loan")
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="loans")
    product = models.ForeignKey(LoanProduct, on_delete=models.PROTECT, related_name="loans")
    principal = models.BigIntegerField()
    tenure_months = models.PositiveSmallIntegerField()
    interest_method = models.CharField(max_length=10)
    monthly_rate = models.DecimalField(max_digits=7, decimal_places=5)
    fee_amount = models.BigIntegerField(default=0)
    fee_treatment = models.CharField(max_length=20)
    disbursed_amount = models.BigIntegerField(help_text="What reaches the member's account.")
    total_interest = models.BigIntegerField()
    total_repayable = models.BigIntegerField()
    apr = models.DecimalField(max_digits=9, decimal_places=2)
    status = models.CharField(
        max_length=24, choices=LoanStatus, default=LoanStatus.PENDING_DISBURSEMENT
    )
    created_at = models.DateTimeField(auto_now_add=True)
    approved_at = models.DateTimeField()
    disbursed_at = models.DateTimeField(null=True, blank=True)
    disbursed_on = models.DateField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    cooling_off_until = models.DateField()
    # The officer whose approval created the loan: the collections worklist filters by it.
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Due date of the oldest unpaid overdue installment (None when up to date). Kept by the
    # overdue run and by every payment, so the worklist and PAR read one indexed column.
    arrears_since = models.DateField(null=True, blank=True)
    # What paying early saves, as consented in the key facts (loans.settlement.SettlementRule);
    # the schedule now in force (earlier ones: loans.versions.ScheduleVersion); restructured
    # loans (hardship: new terms) are reported apart in PAR and the daily report.
    settlement_rule = models.CharField(max_length=16, default=SettlementRule.DAILY)
    schedule_version = models.PositiveSmallIntegerField(default=1)
    restructured_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("disburse_loan", "Can disburse approved loans")]
        constraints = [
            models.CheckConstraint(condition=Q(principal__gt=0), name="loan_principal_positive"),
            models.CheckConstraint(
                condition=Q(status__in=LoanStatus.values), name="loan_status_valid"
            ),
        ]
        indexes = [
            # The API's loan list, newest first, keyset-paginated (found by bench/growth.py).
            models.Index(fields=["-created_at", "-id"], name="loan_created"),
            models.Index(fields=["status", "-created_at", "-id"], name="loan_status_created"),
            models.Index(fields=["disbursed_on"], name="loan_disbursed_on"),
            models.Index(fields=["member", "status"], name="loan_member_status"),
            # The disbursement queue: pending loans, oldest approval first.
            models.Index(fields=["status", "approved_at", "id"], name="loan_status_approved"),
            models.Index(
                fields=["arrears_since", "id"],
                name="loan_in_arrears",
                condition=Q(arrears_since__isnull=False),
            ),
        ]

    def __str__(self):
        return self.reference

    def get_absolute_url(self):
        return reverse("payments:loan_detail", args=[self.reference])


class InstallmentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PARTIALLY_PAID = "partially_paid", "Partially paid"
    PAID = "paid", "Paid"
    OVERDUE = "overdue", "Overdue"
    WAIVED = "waived", "Waived"


class Installment(models.Model):
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="installments")
    number = models.PositiveSmallIntegerField()
    due_date = models.DateField()
    principal = models.BigIntegerField()
    interest = models.BigIntegerField()
    fee = models.BigIntegerField(default=0)
    late_fee = models.BigIntegerField(default=0)
    paid_principal = models.BigIntegerField(default=0)
    paid_interest = models.BigIntegerField(default=0)
    paid_fee = models.BigIntegerField(default=0)
    paid_late_fee = models.BigIntegerField(default=0)
    status = models.CharField(
        max_length=16, choices=InstallmentStatus, default=InstallmentStatus.PENDING
    )
    paid_at = models.DateTimeField(null=True, blank=True)
    # The late-fee rule the member consented to, per installment, in integers so the daily
    # overdue run computes fees in SQL without floats: fees start on ``late_fee_from`` (due
    # date + grace days + 1), cost ``late_fee_daily_ppm`` millionths of the unpaid amount a
    # day, and never exceed ``late_fee_cap`` kobo in total.
    late_fee_from = models.DateField(null=True, blank=True)
    late_fee_daily_ppm = models.PositiveIntegerField(default=0)
    late_fee_cap = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["loan", "number"]
        constraints = [
            models.UniqueConstraint(fields=["loan", "number"], name="installment_unique_number"),
            models.CheckConstraint(
                condition=Q(
                    principal__gte=0,
                    interest__gte=0,
                    fee__gte=0,
                    late_fee__gte=0,
                    paid_principal__gte=0,
                    paid_interest__gte=0,
                    paid_fee__gte=0,
                    paid_late_fee__gte=0,
                ),
                name="installment_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(
                    paid_principal__lte=models.F("principal"),
                    paid_interest__lte=models.F("interest"),
                    paid_fee__lte=models.F("fee"),
                    paid_late_fee__lte=models.F("late_fee"),
                ),
                name="installment_not_overpaid",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_date"], name="inst_status_due"),
            models.Index(fields=["due_date"], name="inst_due"),
        ]

    def __str__(self):
        return f"{self.loan_id} #{self.number}"

    @property
    def total_due(self) -> int:
        return self.principal + self.interest + self.fee + self.late_fee

    @property
    def total_paid(self) -> int:
        return self.paid_principal + self.paid_interest + self.paid_fee + self.paid_late_fee

    @property
    def outstanding(self) -> int:
        return self.total_due - self.total_paid


# What is still owed on an installment, as database expressions for filters, sums and updates:
# the scheduled amount (principal, interest, fee) and everything including late fees.
INSTALLMENT_UNPAID_SCHEDULED = (
    F("principal")
    + F("interest")
    + F("fee")
    - F("paid_principal")
    - F("paid_interest")
    - F("paid_fee")
)
INSTALLMENT_OUTSTANDING = INSTALLMENT_UNPAID_SCHEDULED + F("late_fee") - F("paid_late_fee")

# A loan's earlier schedules: their own module, imported here so Django registers the model.
from loans.versions import ScheduleVersion  # noqa: E402, F401
