"""The double-entry ledger's tables (kept under their ``payments_*`` names from before the
ledger was its own app).

Only ``ledger.posting`` writes journal entries and postings: it opens a writing context, and
saving, bulk-creating, updating or deleting either model outside it raises
``LedgerWriteRefused``. Raw SQL cannot be stopped this way; ``ledger.selectors.
entries_not_from_ledger`` finds any row written without the ledger's idempotency key format.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import models
from django.db.models import Q

_writing: ContextVar[bool] = ContextVar("ledger_writing", default=False)


class LedgerWriteRefused(RuntimeError):
    """A journal entry or posting written outside ``ledger.posting``."""


@contextmanager
def ledger_writes():
    """Open by ``ledger.posting`` around its writes; nothing else should use it."""
    token = _writing.set(True)
    try:
        yield
    finally:
        _writing.reset(token)


def _check_writer(what: str) -> None:
    if not _writing.get():
        raise LedgerWriteRefused(
            f"{what} is written only through ledger.posting (post_entry, reverse_entry, "
            "post_loan_entries)."
        )


class LedgerQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        _check_writer(self.model.__name__)
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, *args, **kwargs):
        _check_writer(self.model.__name__)
        return super().bulk_update(objs, *args, **kwargs)

    def update(self, **kwargs):
        _check_writer(self.model.__name__)
        return super().update(**kwargs)

    def delete(self):
        _check_writer(self.model.__name__)
        return super().delete()


class GuardedModel(models.Model):
    objects = LedgerQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        _check_writer(type(self).__name__)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        _check_writer(type(self).__name__)
        return super().delete(*args, **kwargs)


class AccountType(models.TextChoices):
    ASSET = "asset", "Asset"
    LIABILITY = "liability", "Liability"
    INCOME = "income", "Income"
    EXPENSE = "expense", "Expense"
    EQUITY = "equity", "Equity"


class Account(models.Model):
    """Chart of accounts (created by a data migration; codes in ledger.chart)."""

    code = models.CharField(max_length=10, unique=True)
    name = models.CharField(max_length=100)
    type = models.CharField(max_length=10, choices=AccountType)

    class Meta:
        db_table = "payments_account"
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} {self.name}"


class EntryKind(models.TextChoices):
    DISBURSEMENT = "disbursement", "Disbursement"
    REPAYMENT = "repayment", "Repayment"
    REVERSAL = "reversal", "Reversal"
    LATE_FEE = "late_fee", "Late fee"
    INTEREST_RECOGNITION = "interest", "Interest recognised"
    WRITE_OFF = "write_off", "Write-off"
    WAIVER = "waiver", "Waiver"
    CREDIT_APPLIED = "credit", "Member credit applied"
    REFUND = "refund", "Refund"
    ADJUSTMENT = "adjustment", "Adjustment"


class JournalEntry(GuardedModel):
    """One balanced movement of money. Postings sum to zero (debits positive)."""

    created_at = models.DateTimeField(auto_now_add=True)
    effective_date = models.DateField()
    kind = models.CharField(max_length=20, choices=EntryKind)
    memo = models.CharField(max_length=200, blank=True)
    loan = models.ForeignKey(
        "loans.Loan",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="journal_entries",
    )
    payment = models.ForeignKey(
        "payments.Payment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="journal_entries",
    )
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    # A natural key for the business event ("<event>:<id>", e.g. "disbursement:42"), so that a
    # retried task or a duplicate webhook can never post the same movement twice. Required by
    # ledger.posting; nullable in the table only for rows older than that rule.
    idempotency_key = models.CharField(max_length=120, unique=True, null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        db_table = "payments_journalentry"
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "journal entries"
        permissions = [("view_ledger", "Can view the ledger and trial balance")]
        indexes = [
            models.Index(fields=["loan", "created_at"], name="entry_loan"),
            models.Index(fields=["kind", "effective_date"], name="entry_kind_date"),
            models.Index(fields=["effective_date"], name="entry_date"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"


class Posting(GuardedModel):
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="postings")
    loan = models.ForeignKey(
        "loans.Loan", null=True, blank=True, on_delete=models.PROTECT, related_name="postings"
    )
    member = models.ForeignKey(
        "members.Member", null=True, blank=True, on_delete=models.PROTECT, related_name="postings"
    )
    amount = models.BigIntegerField(help_text="Kobo; debit positive, credit negative.")

    class Meta:
        db_table = "payments_posting"
        ordering = ["entry", "id"]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="posting_not_zero")]
        indexes = [
            models.Index(fields=["loan", "account"], name="posting_loan_account"),
            models.Index(fields=["member", "account"], name="posting_member_account"),
            models.Index(fields=["account"], name="posting_account"),
        ]

    def __str__(self):
        return f"{self.account.code} {self.amount}"
