"""Demo loan products with realistic terms for corps members."""

from decimal import Decimal

from loans.models import LoanProduct

PRODUCTS = [
    {
        "name": "Allawee Quick (flat)",
        "description": "Small, short loan repaid from your allowance.",
        "min_principal": 10_000_00,
        "max_principal": 100_000_00,
        "tenures": [1, 2, 3],
        "interest_method": "flat",
        "monthly_rate": Decimal("0.04"),
        "fee_percent": Decimal("0.01"),
        "fee_fixed": 0,
        "fee_treatment": "deduct",
        "dual_approval_above": 75_000_00,
    },
    {
        "name": "Allawee Plus (reducing balance)",
        "description": "Larger loan over up to 6 months; interest only on what you still owe.",
        "min_principal": 20_000_00,
        "max_principal": 250_000_00,
        "tenures": [3, 4, 5, 6],
        "interest_method": "reducing",
        "monthly_rate": Decimal("0.035"),
        "fee_percent": Decimal("0.015"),
        "fee_fixed": 500_00,
        "fee_treatment": "first_installment",
        "dual_approval_above": 150_000_00,
    },
]


def seed(stdout=None):
    for spec in PRODUCTS:
        LoanProduct.objects.get_or_create(name=spec["name"], defaults=spec)
