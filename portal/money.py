"""Money is integer kobo everywhere inside the system (1 naira = 100 kobo).

This module is the one place that turns kobo into text for people (``₦150,000.00``),
for the JSON API (``"150000.00"``) and back. Interest maths elsewhere uses ``Decimal``
and converts to kobo with ``to_kobo`` and an explicit rounding rule.
"""

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation

KOBO_PER_NAIRA = 100
NAIRA_SIGN = "₦"


class MoneyError(ValueError):
    """Raised for text that is not an amount of money."""


def to_kobo(amount: Decimal, *, rounding: str = ROUND_HALF_UP) -> int:
    """Round a Decimal amount of *kobo* to an integer kobo with an explicit rule."""
    if not isinstance(amount, Decimal):
        raise TypeError("to_kobo takes a Decimal (never a float)")
    return int(amount.quantize(Decimal(1), rounding=rounding))


def naira_to_kobo(naira: Decimal | int | str) -> int:
    """Exact conversion of a naira amount with at most two decimals to kobo."""
    if isinstance(naira, float):
        raise TypeError("money is never a float")
    try:
        value = Decimal(str(naira).replace(",", "").replace(NAIRA_SIGN, "").strip())
    except InvalidOperation as exc:
        raise MoneyError(f"{naira!r} is not an amount") from exc
    if not value.is_finite():
        raise MoneyError(f"{naira!r} is not an amount")
    kobo = value * KOBO_PER_NAIRA
    if kobo != kobo.to_integral_value():
        raise MoneyError("an amount has at most two decimals (kobo)")
    return int(kobo)


def kobo_to_decimal(kobo: int) -> Decimal:
    """Naira as a Decimal with two places, e.g. 15000000 -> Decimal('150000.00')."""
    return (Decimal(int(kobo)) / KOBO_PER_NAIRA).quantize(Decimal("0.01"))


def api_amount(kobo: int) -> str:
    """The JSON API's money: a decimal string in naira, ``"150000.00"``."""
    return str(kobo_to_decimal(kobo))


def format_naira(kobo: int | None, *, sign: bool = True) -> str:
    """For people: ``₦150,000.00``; negative amounts as ``-₦1,000.00``."""
    if kobo is None:
        return ""
    kobo = int(kobo)
    negative = kobo < 0
    naira, rest = divmod(abs(kobo), KOBO_PER_NAIRA)
    text = f"{naira:,}.{rest:02d}"
    if sign:
        text = NAIRA_SIGN + text
    return f"-{text}" if negative else text


__all__ = [
    "KOBO_PER_NAIRA",
    "MoneyError",
    "ROUND_HALF_EVEN",
    "ROUND_HALF_UP",
    "api_amount",
    "format_naira",
    "kobo_to_decimal",
    "naira_to_kobo",
    "to_kobo",
]
