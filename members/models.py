import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models import Q
from django.urls import reverse

from core.crypto import mask
from members.banks import BANK_CHOICES, bank_name
from members.validators import STATE_CHOICES


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """Login is the e-mail address. Staff (``is_staff``) are the back office."""

    username = None
    first_name = None
    last_name = None
    email = models.EmailField("e-mail address", unique=True)
    display_name = models.CharField(max_length=120, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()

    class Meta:
        ordering = ["email"]
        indexes = [
            # Staff pickers (officer filters, assignment) list the few staff among every
            # member's account: without it each such page reads the whole user table.
            models.Index(fields=["email"], condition=Q(is_staff=True), name="user_staff_email"),
        ]

    def __str__(self):
        return self.display_name or self.email

    def get_full_name(self):
        return self.display_name or self.email

    def get_short_name(self):
        return self.display_name or self.email


class KycStatus(models.TextChoices):
    INCOMPLETE = "incomplete", "Incomplete"
    SUBMITTED = "submitted", "Submitted"
    VERIFIED = "verified", "Verified"
    REJECTED = "rejected", "Rejected"


KYC_TRANSITIONS = {
    KycStatus.INCOMPLETE: {KycStatus.SUBMITTED},
    KycStatus.SUBMITTED: {KycStatus.VERIFIED, KycStatus.REJECTED},
    KycStatus.REJECTED: {KycStatus.SUBMITTED},
    KycStatus.VERIFIED: set(),
}
# A member may edit the profile only while it is not under review or verified.
KYC_EDITABLE = {KycStatus.INCOMPLETE, KycStatus.REJECTED}


class Batch(models.TextChoices):
    A = "A", "Batch A"
    B = "B", "Batch B"
    C = "C", "Batch C"


class Member(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="member"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    full_name = models.CharField(max_length=150, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    phone = models.CharField("phone (E.164)", max_length=16, null=True, blank=True)

    # BVN: ciphertext (MultiFernet), keyed HMAC blind index for lookups, last 4 for display.
    bvn_encrypted = models.TextField(blank=True, editable=False)
    bvn_hash = models.CharField(max_length=64, null=True, blank=True, editable=False)
    bvn_last4 = models.CharField(max_length=4, blank=True, editable=False)

    state_code = models.CharField("NYSC state code", max_length=16, null=True, blank=True)
    batch = models.CharField(max_length=1, choices=Batch, blank=True)
    stream = models.PositiveSmallIntegerField(null=True, blank=True)
    deployment_state = models.CharField(max_length=2, choices=STATE_CHOICES, blank=True)
    ppa_name = models.CharField("place of primary assignment", max_length=200, blank=True)
    service_start = models.DateField(null=True, blank=True)
    passing_out = models.DateField(
        null=True, blank=True, help_text="The batch's passing-out day unless staff record a change."
    )
    # The NYSC calendar entry the dates come from (members.service_year); a start date the
    # member typed that disagrees with it is kept here for the officer to check.
    service_batch = models.ForeignKey(
        "members.ServiceBatch", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    claimed_service_start = models.DateField(null=True, blank=True, editable=False)

    monthly_allowance = models.BigIntegerField(
        "monthly allowance (kobo)", default=settings.DEFAULT_MONTHLY_ALLOWANCE_KOBO
    )
    other_income = models.BigIntegerField("other monthly income (kobo)", default=0)

    bank_code = models.CharField(max_length=8, choices=BANK_CHOICES, blank=True)
    account_number = models.CharField("NUBAN account number", max_length=10, blank=True)
    account_name = models.CharField(max_length=150, blank=True)
    account_name_confirmed = models.BooleanField(default=False)
    # The exact account the confirmation (name match or second-person override) was about: a
    # payout goes only to this bank code + NUBAN, whatever the fields above say at send time.
    confirmed_bank_code = models.CharField(max_length=8, blank=True, editable=False)
    confirmed_account_number = models.CharField(max_length=10, blank=True, editable=False)
    # A name mismatch is overridden by two finance users: the first asks, a second confirms.
    account_override_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    account_override_requested_at = models.DateTimeField(null=True, blank=True, editable=False)

    kyc_status = models.CharField(max_length=12, choices=KycStatus, default=KycStatus.INCOMPLETE)
    kyc_rejection_reason = models.TextField(blank=True)
    kyc_reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    kyc_reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("review_kyc", "Can verify or reject a member's KYC"),
            ("reveal_bvn", "Can reveal a member's full BVN"),
            ("view_member_documents", "Can download a member's KYC documents"),
            ("edit_service_dates", "Can change service and passing-out dates"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["bvn_hash"], name="member_unique_bvn"),
            models.UniqueConstraint(fields=["phone"], name="member_unique_phone"),
            models.UniqueConstraint(fields=["state_code"], name="member_unique_state_code"),
            models.UniqueConstraint(
                fields=["bank_code", "account_number"],
                condition=~Q(account_number=""),
                name="member_unique_bank_account",
            ),
            models.CheckConstraint(
                condition=Q(monthly_allowance__gte=0) & Q(other_income__gte=0),
                name="member_income_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(kyc_status__in=KycStatus.values), name="member_kyc_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="member_created"),
            # Filter + default sort pairs; the trailing id makes each a keyset index.
            models.Index(fields=["kyc_status", "-created_at", "-id"], name="member_kyc_created"),
            models.Index(
                fields=["deployment_state", "-created_at", "-id"], name="member_state_created"
            ),
            models.Index(fields=["bvn_last4"], name="member_bvn_last4"),
            models.Index(fields=["full_name", "id"], name="member_full_name"),
            # Case-insensitive prefix search (name, state code, e-mail) and phone-suffix search
            # use PostgreSQL-only expression and trigram indexes: migration 0003.
        ]

    def __str__(self):
        return self.full_name or f"Member {self.pk}"

    def get_absolute_url(self):
        return reverse("members:staff_detail", args=[self.pk])

    @property
    def bvn_masked(self) -> str:

        return mask(self.bvn_last4) if self.bvn_last4 else ""

    @property
    def bank_name(self) -> str:
        return bank_name(self.bank_code) if self.bank_code else ""

    @property
    def payout_account_confirmed(self) -> bool:
        """Confirmed, and for the account the member holds now (not one changed since)."""
        return (
            self.account_name_confirmed
            and bool(self.confirmed_account_number)
            and (self.confirmed_bank_code, self.confirmed_account_number)
            == (self.bank_code, self.account_number)
        )

    # What confirming (or clearing) the payout account writes.
    PAYOUT_CONFIRMATION_FIELDS = (
        "account_name",
        "account_name_confirmed",
        "confirmed_bank_code",
        "confirmed_account_number",
        "account_override_requested_by",
        "account_override_requested_at",
    )

    def mark_payout_confirmed(self, account_name: str) -> list[str]:
        """Bind the confirmation to the current account; returns the fields to save."""
        self.account_name = account_name[:150]
        self.account_name_confirmed = True
        self.confirmed_bank_code = self.bank_code
        self.confirmed_account_number = self.account_number
        self.account_override_requested_by = None
        self.account_override_requested_at = None
        return list(self.PAYOUT_CONFIRMATION_FIELDS)

    def clear_payout_confirmation(self) -> list[str]:
        self.account_name = ""
        self.account_name_confirmed = False
        self.confirmed_bank_code = ""
        self.confirmed_account_number = ""
        self.account_override_requested_by = None
        self.account_override_requested_at = None
        return list(self.PAYOUT_CONFIRMATION_FIELDS)

    @property
    def monthly_income(self) -> int:
        return self.monthly_allowance + self.other_income

    @property
    def is_kyc_editable(self) -> bool:
        return self.kyc_status in KYC_EDITABLE

    @property
    def is_kyc_verified(self) -> bool:
        """Verified: the member may apply for a loan."""
        return self.kyc_status == KycStatus.VERIFIED

    @property
    def is_kyc_in_review(self) -> bool:
        return self.kyc_status == KycStatus.SUBMITTED

    @property
    def is_kyc_rejected(self) -> bool:
        """Rejected: the member changes the profile (the reason says what) and submits again."""
        return self.kyc_status == KycStatus.REJECTED

    @property
    def is_profile_complete(self) -> bool:
        required = [
            self.full_name,
            self.date_of_birth,
            self.phone,
            self.bvn_hash,
            self.state_code,
            self.deployment_state,
            self.ppa_name,
            self.service_start,
            self.passing_out,
            self.bank_code,
            self.account_number,
        ]
        return all(required)


class DocumentKind(models.TextChoices):
    CALL_UP_LETTER = "call_up_letter", "NYSC call-up letter"
    ID_CARD = "id_card", "NYSC ID card"


REQUIRED_DOCUMENTS = (DocumentKind.CALL_UP_LETTER, DocumentKind.ID_CARD)


def _document_path(instance, filename):
    # The stored name never contains the member's file name: it may carry personal data.
    return f"documents/{instance.member_id}/{uuid.uuid4().hex}"


class MemberDocument(models.Model):
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(max_length=20, choices=DocumentKind)
    file = models.FileField(upload_to=_document_path, max_length=200)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(auto_now_add=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        indexes = [models.Index(fields=["member", "kind", "-uploaded_at"], name="doc_member_kind")]

    def __str__(self):
        return f"{self.get_kind_display()} of member {self.member_id}"


class DeletionStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved, waiting for the retention period"
    REJECTED = "rejected", "Rejected"
    COMPLETED = "completed", "Personal data anonymised"


class DeletionRequest(models.Model):
    """A member's request to delete their account (NDPA 2023 right to erasure).

    An administrator approves it; the personal data is anonymised once the legal retention
    period (``MEMBER_DATA_RETENTION_DAYS``) has passed since approval. Loans, payments and
    the ledger are kept: they are the lender's records and reference the member by id only.
    """

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="deletion_requests")
    status = models.CharField(
        max_length=10, choices=DeletionStatus, default=DeletionStatus.REQUESTED
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    anonymise_after = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        permissions = [("approve_deletion", "Can approve or reject a member's deletion request")]
        constraints = [
            models.UniqueConstraint(
                fields=["member"],
                condition=Q(status__in=["requested", "approved"]),
                name="one_open_deletion_request_per_member",
            ),
            models.CheckConstraint(
                condition=Q(status__in=DeletionStatus.values), name="deletion_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["status", "anonymise_after"], name="deletion_due")]

    def __str__(self):
        return f"Deletion request {self.pk} of member {self.member_id}"


class StaffIdentity(models.Model):
    """Who a staff account is, so the back office can tell when someone decides on a member
    who is (or shares an identity with) themselves or the other person of a maker-checker
    pair. Same storage as the member's BVN: ciphertext, keyed blind index, last 4."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="staff_identity"
    )
    bvn_encrypted = models.TextField(editable=False)
    bvn_hash = models.CharField(max_length=64, editable=False)
    bvn_last4 = models.CharField(max_length=4, editable=False)
    phone = models.CharField("phone (E.164)", max_length=16)
    bank_code = models.CharField(max_length=8, choices=BANK_CHOICES)
    account_number = models.CharField("NUBAN account number", max_length=10)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "staff identities"
        constraints = [
            models.UniqueConstraint(fields=["bvn_hash"], name="staff_identity_unique_bvn"),
        ]
        indexes = [
            models.Index(fields=["phone"], name="staff_identity_phone"),
            models.Index(fields=["bank_code", "account_number"], name="staff_identity_account"),
        ]

    def __str__(self):
        return f"Identity of {self.user}"

    @property
    def bvn_masked(self) -> str:

        return mask(self.bvn_last4) if self.bvn_last4 else ""


class RoleChangeKind(models.TextChoices):
    GRANT = "grant", "Grant"
    REVOKE = "revoke", "Revoke"


class RoleChangeStatus(models.TextChoices):
    PENDING = "pending", "Waiting for a second administrator"
    APPLIED = "applied", "Applied"
    REJECTED = "rejected", "Rejected"


ROLE_CHANGE_TRANSITIONS = {
    RoleChangeStatus.PENDING: {RoleChangeStatus.APPLIED, RoleChangeStatus.REJECTED},
    RoleChangeStatus.APPLIED: set(),
    RoleChangeStatus.REJECTED: set(),
}


class RoleGrantRequest(models.Model):
    """One change of a staff member's role, written only by ``members.role_changes``.

    Revokes and Loan officer grants apply at once; grants of Finance or Administrators wait
    for a second administrator (neither the requester nor the grantee)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="role_changes"
    )
    role = models.CharField(max_length=40)
    kind = models.CharField(max_length=6, choices=RoleChangeKind)
    reason = models.TextField()
    status = models.CharField(
        max_length=8, choices=RoleChangeStatus, default=RoleChangeStatus.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        permissions = [("approve_rolegrantrequest", "Can approve another administrator's grant")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=RoleChangeStatus.values), name="role_change_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=RoleChangeKind.values), name="role_change_kind_valid"
            ),
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=Q(status="pending"),
                name="role_change_one_pending_per_user_role",
            ),
        ]
        indexes = [models.Index(fields=["status", "-requested_at"], name="role_change_status")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.role} to {self.user}"


from members.service_year import ServiceBatch  # noqa: E402,F401  (the model lives there)
