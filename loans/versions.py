"""Schedule versions: a loan's earlier schedules, kept when a prepayment, a settlement or a
restructure replaces the one in force. The live schedule is the loan's installments (version
``loan.schedule_version``); each row here is one that was replaced, exactly as it stood."""

from django.conf import settings
from django.db import models

from core import audit


class VersionReason(models.TextChoices):
    PREPAYMENT_SHORTER = "prepayment_shorter", "Prepayment: finish sooner"
    PREPAYMENT_LOWER = "prepayment_lower", "Prepayment: pay less each month"
    SETTLEMENT = "settlement", "Repaid early"
    RESTRUCTURE = "restructure", "Restructured"


class ScheduleVersion(models.Model):
    loan = models.ForeignKey("loans.Loan", on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveSmallIntegerField()
    # The schedule as it stood: one dict per installment (amounts in kobo, dates ISO).
    installments = models.JSONField()
    total_repayable = models.BigIntegerField()
    total_interest = models.BigIntegerField()
    replaced_at = models.DateTimeField(auto_now_add=True)
    replaced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    replaced_because = models.CharField(max_length=20, choices=VersionReason)

    class Meta:
        ordering = ["loan", "number"]
        constraints = [
            models.UniqueConstraint(fields=["loan", "number"], name="schedule_version_unique")
        ]

    def __str__(self):
        return f"{self.loan_id} v{self.number}"


SNAPSHOT_FIELDS = (
    "number",
    "principal",
    "interest",
    "fee",
    "late_fee",
    "paid_principal",
    "paid_interest",
    "paid_fee",
    "paid_late_fee",
    "status",
)


def snapshot(installments) -> list[dict]:
    return [
        {**{f: getattr(i, f) for f in SNAPSHOT_FIELDS}, "due_date": i.due_date.isoformat()}
        for i in sorted(installments, key=lambda i: i.number)
    ]


def keep_version(loan, installments, *, reason: str, actor) -> ScheduleVersion:
    """Keep the schedule in force as version ``loan.schedule_version`` and move the loan to
    the next number (the caller holds the loan's row lock and then writes the new schedule)."""
    rows = snapshot(installments)
    version = ScheduleVersion.objects.create(
        loan=loan,
        number=loan.schedule_version,
        installments=rows,
        total_repayable=sum(r["principal"] + r["interest"] + r["fee"] for r in rows),
        total_interest=sum(r["interest"] for r in rows),
        replaced_by=actor if actor is not None and actor.is_authenticated else None,
        replaced_because=reason,
    )
    loan.schedule_version += 1
    loan.save(update_fields=["schedule_version"])
    audit.record(
        actor=actor,
        action="loan.schedule_replaced",
        obj=loan,
        changes={"version": [version.number, loan.schedule_version], "reason": reason},
    )
    return version
