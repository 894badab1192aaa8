"""A loan product: its price, limits and rules. Changing a product never changes applications
already made: each application and loan keeps a snapshot of the terms it was priced with."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from loans.schedule import FeeTreatment, InterestMethod, ScheduleTerms
from loans.settlement import SettlementRule


class LoanProduct(models.Model):
    """A product's terms. Changing a product never changes applications already made: each
    application and loan keeps a snapshot of the terms it was priced with."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    min_principal = models.BigIntegerField(
        "minimum principal (kobo)", validators=[MinValueValidator(1_000_00)]
    )
    max_principal = models.BigIntegerField("maximum principal (kobo)")
    tenures = models.JSONField(help_text="Allowed tenures in months, e.g. [1, 2, 3, 6].")
    interest_method = models.CharField(
        max_length=10, choices=[(m.value, m.value.title()) for m in InterestMethod]
    )
    monthly_rate = models.DecimalField(
        max_digits=7,
        decimal_places=5,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal("0.15"))],
        help_text="Per month as a fraction: 0.05 = 5 % a month.",
    )
    fee_percent = models.DecimalField(
        max_digits=6,
        decimal_places=5,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal("0.10"))],
        help_text="Processing fee as a fraction of principal: 0.01 = 1 %.",
    )
    fee_fixed = models.BigIntegerField(
        "fixed processing fee (kobo)", default=0, validators=[MinValueValidator(0)]
    )
    fee_treatment = models.CharField(
        max_length=20,
        default=FeeTreatment.DEDUCT,
        choices=[
            (FeeTreatment.DEDUCT.value, "Deducted from the amount paid out"),
            (FeeTreatment.FIRST_INSTALLMENT.value, "Added to the first installment"),
        ],
    )
    late_fee_percent_per_day = models.DecimalField(
        max_digits=6,
        decimal_places=5,
        default=Decimal("0.001"),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal("0.01"))],
        help_text="Of the overdue installment amount, per day after the grace days.",
    )
    late_fee_cap_percent = models.DecimalField(
        max_digits=6,
        decimal_places=5,
        default=Decimal("0.10"),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal("0.5"))],
        help_text="Total late fees on one installment never exceed this share of it.",
    )
    grace_days = models.PositiveSmallIntegerField(default=3)
    due_day = models.PositiveSmallIntegerField(
        default=28,
        validators=[MinValueValidator(1), MaxValueValidator(28)],
        help_text="Day of the month installments fall due (after the allowance lands).",
    )
    max_income_share = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.33"),
        validators=[MinValueValidator(Decimal("0.05")), MaxValueValidator(Decimal("0.6"))],
        help_text="An installment may take at most this share of monthly income.",
    )
    cooling_off_days = models.PositiveSmallIntegerField(default=3)
    approval_valid_days = models.PositiveSmallIntegerField(
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text="An approval not paid out within this many days expires; the member is told.",
    )
    # What paying early saves, shown in the key facts (blank: the usual rule of the method).
    early_settlement_rule = models.CharField(max_length=16, choices=SettlementRule, blank=True)
    min_days_before_passing_out = models.PositiveSmallIntegerField(
        default=14,
        help_text="The last installment falls due at least this many days before "
        "passing-out (the allowance stops then).",
    )
    dual_approval_above = models.BigIntegerField(
        "two approvals above (kobo)",
        default=100_000_00,
        help_text="Applications above this amount need two different officers.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_principal__gte=models.F("min_principal")),
                name="product_principal_range",
            ),
            models.CheckConstraint(
                condition=Q(due_day__gte=1, due_day__lte=28), name="product_due_day_range"
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        tenures = self.tenures or []
        if not tenures or not all(isinstance(t, int) and 1 <= t <= 24 for t in tenures):
            raise ValidationError({"tenures": "Give a list of whole months between 1 and 24."})
        self.tenures = sorted(set(tenures))
        if (
            self.max_principal is not None
            and self.min_principal is not None
            and self.max_principal < self.min_principal
        ):
            raise ValidationError({"max_principal": "Must be at least the minimum."})

    def terms(self, *, principal: int, tenure_months: int, start_date) -> ScheduleTerms:
        return ScheduleTerms(
            principal=principal,
            tenure_months=tenure_months,
            method=InterestMethod(self.interest_method),
            monthly_rate=self.monthly_rate,
            fee_percent=self.fee_percent,
            fee_fixed=self.fee_fixed,
            fee_treatment=FeeTreatment(self.fee_treatment),
            due_day=self.due_day,
            start_date=start_date,
        )
