"""The lending rules, written once and used twice: as hints while a member types a quote,
and as the recorded automatic assessment after submit. A person always decides."""

from dataclasses import asdict, dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError

from core.money import format_naira
from loans.schedule import Schedule, max_affordable_installment
from members.service_year import batch_for, no_calendar_message
from members.validators import parse_state_code


@dataclass(frozen=True)
class RuleResult:
    rule: str
    passed: bool
    reason: str
    warning: bool = False  # a flag for the officer, not a reason to reject

    def as_dict(self):
        return asdict(self)


def product_limit_rules(product, amount: int, tenure: int) -> list[RuleResult]:
    results = [
        RuleResult(
            "product_active",
            product.is_active,
            "The product is open for applications."
            if product.is_active
            else "This product is no longer offered.",
        ),
    ]
    in_range = product.min_principal <= amount <= product.max_principal
    results.append(
        RuleResult(
            "amount_within_limits",
            in_range,
            f"{format_naira(amount)} is within {format_naira(product.min_principal)}–"
            f"{format_naira(product.max_principal)}."
            if in_range
            else f"The amount must be between {format_naira(product.min_principal)} and "
            f"{format_naira(product.max_principal)}.",
        )
    )
    allowed = tenure in product.tenures
    results.append(
        RuleResult(
            "tenure_allowed",
            allowed,
            f"{tenure} months is offered."
            if allowed
            else f"Choose a tenure of {', '.join(str(t) for t in product.tenures)} months.",
        )
    )
    return results


def member_rules(member, product, schedule: Schedule) -> list[RuleResult]:
    """Rules that depend on the member: KYC, service dates and income."""
    results = [
        RuleResult(
            "kyc_verified",
            member.kyc_status == "verified",
            "Your profile is verified."
            if member.kyc_status == "verified"
            else "Your profile (KYC) must be verified before you can borrow.",
        )
    ]
    calendar_missing = _calendar_missing(member)
    if calendar_missing:
        results.append(RuleResult("service_calendar_known", False, calendar_missing))
    if member.passing_out:
        latest = member.passing_out - timedelta(days=product.min_days_before_passing_out)
        ok = schedule.last_due_date <= latest
        results.append(
            RuleResult(
                "ends_before_passing_out",
                ok,
                f"The last installment ({schedule.last_due_date:%d %b %Y}) is due before your "
                f"passing-out on {member.passing_out:%d %b %Y}."
                if ok
                else f"The last installment ({schedule.last_due_date:%d %b %Y}) must fall due by "
                f"{latest:%d %b %Y}, {product.min_days_before_passing_out} days before your "
                "passing-out, when the allowance stops. Choose a shorter tenure.",
            )
        )
    else:
        results.append(
            RuleResult(
                "ends_before_passing_out",
                False,
                "Your passing-out date is missing from your profile.",
            )
        )
    limit = max_affordable_installment(member.monthly_income, product.max_income_share)
    largest = max(i.total for i in schedule.installments)
    ok = largest <= limit
    share = f"{product.max_income_share * 100:.0f} %"
    results.append(
        RuleResult(
            "installment_affordable",
            ok,
            f"The largest installment {format_naira(largest)} is within {share} of your monthly "
            f"income ({format_naira(limit)})."
            if ok
            else f"The largest installment {format_naira(largest)} is more than {share} of your "
            f"monthly income ({format_naira(limit)}). Borrow less or over more months.",
        )
    )
    return results


def _calendar_missing(member) -> str:
    """Why the service year cannot be known (empty when it can): the member's batch has no
    entry in the NYSC calendar, and a lender must not guess when the allowance stops. (Members
    from before the calendar keep the dates staff checked.)"""
    if member.service_batch_id is not None or member.passing_out or not member.state_code:
        return ""
    try:
        code = parse_state_code(member.state_code)
    except ValidationError:
        return "Your NYSC state code is not valid; correct it on your profile."
    return "" if batch_for(code) is not None else no_calendar_message(code)


def failed(results: list[RuleResult]) -> list[RuleResult]:
    return [r for r in results if not r.passed and not r.warning]
