"""What a borrower lives with after payout: waivers, restructures, refunds of member credit.

Each model's rows are the history of one servicing decision (who proposed, who approved, when);
the money moves through ``ledger.posting`` in the same transaction as the decision.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from core.money import format_naira


class WaiverComponent(models.TextChoices):
    """What a waiver forgives: the installment fields of the same name."""

    LATE_FEE = "late_fee", "Late fees"
    FEE = "fee", "Fees"
    INTEREST = "interest", "Interest"


# How a sentence names each component ("₦500.00 of late fees").
COMPONENT_WORDS = {
    WaiverComponent.LATE_FEE: "late fees",
    WaiverComponent.FEE: "fees",
    WaiverComponent.INTEREST: "interest",
}


class WaiverStatus(models.TextChoices):
    PENDING_APPROVAL = "pending_approval", "Waiting for a second person"
    APPLIED = "applied", "Applied"
    REJECTED = "rejected", "Refused"


class Waiver(models.Model):
    """One decision to forgive part of a loan's late fees, fees or interest, with its reason.

    Applied at once by the requester up to ``WAIVER_SECOND_APPROVAL_ABOVE``; above it a second
    person with the permission applies or refuses it. Applying lowers the installments (oldest
    first, ``breakdown``) and posts ``journal_entry`` in the same transaction
    (``servicing.services.waivers``)."""

    loan = models.ForeignKey("loans.Loan", on_delete=models.PROTECT, related_name="waivers")
    component = models.CharField(max_length=10, choices=WaiverComponent)
    amount = models.BigIntegerField(help_text="Kobo forgiven; always positive.")
    reason = models.TextField()
    status = models.CharField(
        max_length=16, choices=WaiverStatus, default=WaiverStatus.PENDING_APPROVAL
    )
    second_approval_required = models.BooleanField(default=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    journal_entry = models.OneToOneField(
        "ledger.JournalEntry",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="waiver",
    )
    # [{"installment": number, "amount": kobo}, ...]: what came off each installment, oldest
    # first, so the history shows exactly which month's charges went.
    breakdown = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("waive_charges", "Can waive late fees, fees or interest on a loan")]
        indexes = [models.Index(fields=["loan", "-created_at"], name="waiver_loan")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="waiver_amount_positive"),
            models.CheckConstraint(
                condition=Q(component__in=WaiverComponent.values), name="waiver_component_known"
            ),
            models.CheckConstraint(
                condition=Q(status__in=WaiverStatus.values), name="waiver_status_known"
            ),
            # Pending: nobody decided, no money moved. Applied: decided, with its entry.
            # Refused: decided, no entry.
            models.CheckConstraint(
                condition=(
                    Q(
                        status=WaiverStatus.PENDING_APPROVAL,
                        decided_by__isnull=True,
                        decided_at__isnull=True,
                        journal_entry__isnull=True,
                    )
                    | Q(
                        status=WaiverStatus.APPLIED,
                        decided_by__isnull=False,
                        decided_at__isnull=False,
                        journal_entry__isnull=False,
                    )
                    | Q(
                        status=WaiverStatus.REJECTED,
                        decided_by__isnull=False,
                        decided_at__isnull=False,
                        journal_entry__isnull=True,
                    )
                ),
                name="waiver_decision_matches_status",
            ),
            # Above the threshold, whoever asked never decides.
            models.CheckConstraint(
                condition=Q(second_approval_required=False) | ~Q(decided_by=F("requested_by")),
                name="waiver_second_person_differs",
            ),
        ]

    def __str__(self):
        return f"Waiver of {format_naira(self.amount)} of {self.component_in_words} ({self.pk})"

    @property
    def component_in_words(self) -> str:
        return COMPONENT_WORDS[WaiverComponent(self.component)]

    @property
    def awaits_second_person(self) -> bool:
        return self.status == WaiverStatus.PENDING_APPROVAL

    @property
    def was_applied(self) -> bool:
        return self.status == WaiverStatus.APPLIED


# --- Restructures (hardship) -------------------------------------------------------------------


class ArrearsTreatment(models.TextChoices):
    CAPITALISE = "capitalise", "Add the unpaid interest and charges to what is repaid"
    WAIVE = "waive", "Forgive the unpaid interest and charges"


class RestructureStatus(models.TextChoices):
    PROPOSED = "proposed", "Waiting for the member"
    CONSENTED = "consented", "Accepted by the member, waiting for a second officer"
    APPROVED = "approved", "Approved: the new schedule is in force"
    REJECTED = "rejected", "Refused by the second officer"
    WITHDRAWN = "withdrawn", "Withdrawn"
    SUPERSEDED = "superseded", "Replaced (a newer offer, or the loan changed)"


OPEN_RESTRUCTURE = (RestructureStatus.PROPOSED, RestructureStatus.CONSENTED)


class Restructure(models.Model):
    """New terms for a borrower in hardship: an officer proposes, the member consents to the key
    facts (``terms``, by ``terms_hash``), a second officer approves; approval writes the new
    schedule and ``journal_entry`` in one transaction (``servicing.services.restructure``)."""

    loan = models.ForeignKey("loans.Loan", on_delete=models.PROTECT, related_name="restructures")
    status = models.CharField(
        max_length=12, choices=RestructureStatus, default=RestructureStatus.PROPOSED
    )
    new_installments = models.PositiveSmallIntegerField()
    holiday_months = models.PositiveSmallIntegerField(default=0)
    arrears_treatment = models.CharField(max_length=10, choices=ArrearsTreatment)
    reason = models.TextField()
    # The key facts exactly as shown to the member (servicing.restructure_terms.key_facts).
    terms = models.JSONField()
    terms_hash = models.CharField(max_length=64)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    consent_at = models.DateTimeField(null=True, blank=True)
    consent_hash = models.CharField(max_length=64, blank=True)
    consent_ip = models.GenericIPAddressField(null=True, blank=True)
    consent_user_agent = models.CharField(max_length=300, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    journal_entry = models.OneToOneField(
        "ledger.JournalEntry",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="restructure",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("restructure_loan", "Can propose and approve a hardship restructure")]
        indexes = [models.Index(fields=["loan", "-created_at"], name="restructure_loan")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=RestructureStatus.values), name="restructure_status_known"
            ),
            models.CheckConstraint(
                condition=Q(arrears_treatment__in=ArrearsTreatment.values),
                name="restructure_treatment_known",
            ),
            models.CheckConstraint(
                condition=Q(new_installments__gte=1), name="restructure_installments_positive"
            ),
            # One open offer per loan: a new proposal supersedes the old one first.
            models.UniqueConstraint(
                fields=["loan"],
                condition=Q(status__in=["proposed", "consented"]),
                name="restructure_one_open_per_loan",
            ),
            # Approved: consented to the terms shown, and decided. (No entry when no money
            # moves: terms that only re-spread the same interest over the same months.)
            models.CheckConstraint(
                condition=~Q(status=RestructureStatus.APPROVED)
                | Q(
                    consent_at__isnull=False,
                    consent_hash=F("terms_hash"),
                    decided_by__isnull=False,
                ),
                name="restructure_approved_complete",
            ),
            # The officer who proposed never approves.
            models.CheckConstraint(
                condition=~Q(status=RestructureStatus.APPROVED) | ~Q(decided_by=F("proposed_by")),
                name="restructure_second_officer_differs",
            ),
        ]

    def __str__(self):
        return f"Restructure {self.pk} of {self.loan_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_RESTRUCTURE

    @property
    def awaits_member(self) -> bool:
        return self.status == RestructureStatus.PROPOSED

    @property
    def is_approved(self) -> bool:
        return self.status == RestructureStatus.APPROVED

    @property
    def awaits_second_officer(self) -> bool:
        return self.status == RestructureStatus.CONSENTED


class RestructureHistory(models.Model):
    """One row per status change of a restructure: who, when, from what to what, why."""

    restructure = models.ForeignKey(Restructure, on_delete=models.CASCADE, related_name="history")
    created_at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.restructure_id}: {self.from_status} → {self.to_status}"
