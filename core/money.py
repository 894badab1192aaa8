"""Money is integer kobo everywhere inside the system (1 naira = 100 kobo).

This module is the one place that turns kobo into text for people (``₦150,000.00``),
for the JSON API (``"150000.00"``) and back. Interest maths elsewhere uses ``Decimal``
and converts to kobo with ``to_kobo`` and an explicit rounding rule.
"""

import re
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

KOBO_PER_NAIRA = 100
NAIRA_SIGN = "₦"


def to_kobo(amount: Decimal, *, rounding: str = ROUND_HALF_UP) -> int:
    """Round a Decimal amount of *kobo* to an integer kobo with an explicit rule."""
    if not isinstance(amount, Decimal):
        raise TypeError("to_kobo takes a Decimal (never a float)")
    return int(amount.quantize(Decimal(1), rounding=rounding))


# --- Reading an amount typed or sent by someone ---------------------------------------------
#
# Every amount that arrives as text (forms, filters, the bank-statement import, the JSON API)
# is read by ``parse_naira`` and nothing else. ``Decimal(text)`` is never used on such text:
# it accepts exponents, so ``9e999997`` became a million-digit integer (a worker busy for
# seconds per request) and ``1e999999`` raised ``decimal.Overflow`` (a 500). The grammar is
# deliberately small and is checked in an order that keeps every input cheap: the length
# first, then one anchored ASCII-only regular expression (no backtracking on 40 characters),
# then the number of digits, and only then a conversion of at most a dozen digits to int.

# "NGN 999,999,999,999.99" is 22 characters; anything much longer is not an amount.
MAX_AMOUNT_TEXT_LENGTH = 40
# At most ₦999,999,999,999.99: beyond any loan, repayment or statement line of this lender,
# and far inside a PostgreSQL bigint.
MAX_NAIRA_DIGITS = 12
MAX_KOBO = 10**MAX_NAIRA_DIGITS * KOBO_PER_NAIRA - 1

# re.ASCII: ``\s`` is ASCII whitespace only; the digits are spelled [0-9] because ``\d`` and
# ``str.isdigit()`` also accept Arabic-Indic, Devanagari and other digits, which ``int()``
# would then happily convert.
_AMOUNT = re.compile(
    r"""
    (?P<sign>-)?[ ]?
    (?P<currency>₦|NGN)?[ ]?
    (?P<naira>
        [1-9][0-9]{0,2}(?:,[0-9]{3})+   # 150,000 (a separator every three digits)
      | [0-9]+                          # 150000
    )
    (?:\.(?P<kobo>[0-9]{1,2}))?         # at most two decimals
    """,
    re.ASCII | re.VERBOSE | re.IGNORECASE,
)
# The JSON API's decimal string, as its OpenAPI pattern documents it (no leading zeros).
_PLAIN_AMOUNT = re.compile(
    r"(?P<sign>-)?(?P<naira>0|[1-9][0-9]*)(?:\.(?P<kobo>[0-9]{1,2}))?", re.ASCII
)
# Only to word the refusal of text already known to be short.
_MORE_DECIMALS = re.compile(r"[^.]*[0-9]\.[0-9]{3,}", re.ASCII)
_EXPONENT = re.compile(r"[0-9.][eE][-+]?[0-9]", re.ASCII)


class MoneyError(ValueError):
    """Raised for text that is not an amount of money; the message is fit to show a person
    and ``code`` says which rule it broke."""

    def __init__(self, message: str, *, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.code = code


def parse_naira(
    text: str,
    *,
    allow_negative: bool = False,
    plain: bool = False,
    max_kobo: int = MAX_KOBO,
) -> int:
    """Integer kobo from an amount in naira written by a person or another system.

    Accepted: ASCII digits, optionally grouped by commas every three digits, optionally one
    or two decimals after a point, optionally preceded by ``₦`` or ``NGN`` (one space may
    follow it), surrounding whitespace: ``150000``, ``150,000.50``, ``₦150,000.00``,
    ``NGN 1500``. A leading ``-`` only with ``allow_negative`` (bank statements hold debits).
    ``plain`` is the JSON API's decimal string: digits and an optional point only
    (``"150000.00"``).

    Refused with a ``MoneyError``: anything longer than ``MAX_AMOUNT_TEXT_LENGTH``
    characters, exponents (``5e4``), underscores (``1_000``), separators in the wrong places
    (``1,0,0``), other scripts' digits (``١٢٣``), more than two decimals, ``NaN``/``Infinity``
    and more than ``max_kobo``. Never converts more than ``MAX_NAIRA_DIGITS`` digits.
    """
    if isinstance(text, float):
        raise TypeError("money is never a float")
    if not isinstance(text, str):
        raise TypeError(f"an amount to parse is text, not {type(text).__name__}")
    # The length first: nothing below ever sees a long string.
    if len(text) > MAX_AMOUNT_TEXT_LENGTH:
        raise MoneyError(
            f"An amount is at most {MAX_AMOUNT_TEXT_LENGTH} characters long.", code="too_long"
        )
    text = text.strip(" \t\r\n")
    if not text:
        raise MoneyError("Enter an amount.", code="required")
    match = (_PLAIN_AMOUNT if plain else _AMOUNT).fullmatch(text)
    if match is None:
        raise _explain(text, plain=plain)
    if match["sign"] and not allow_negative:
        raise MoneyError("An amount cannot be negative.", code="negative")
    # Compare digit counts, never build a big integer to compare it.
    digits = match["naira"].replace(",", "").lstrip("0")
    if len(digits) > MAX_NAIRA_DIGITS:
        raise _too_large(max_kobo)
    kobo = int(digits or "0") * KOBO_PER_NAIRA + int((match["kobo"] or "0").ljust(2, "0"))
    if kobo > max_kobo:
        raise _too_large(max_kobo)
    return -kobo if match["sign"] else kobo


_WHOLE_KOBO = re.compile(r"[0-9]+", re.ASCII)


def parse_kobo(value: int | str, *, max_kobo: int = MAX_KOBO) -> int:
    """A whole number of kobo sent by another system (a payment provider's ``"amount":
    150000``), as an int or a string of ASCII digits, 0 to ``max_kobo``. Not for people:
    they write naira (``parse_naira``). Anything else, a bool or a float included, is a
    ``MoneyError``; nothing is rounded."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise MoneyError("An amount in kobo is a whole number.", code="invalid")
    if isinstance(value, int):
        kobo = value
    else:
        if len(value) > MAX_AMOUNT_TEXT_LENGTH:
            raise MoneyError(
                f"An amount is at most {MAX_AMOUNT_TEXT_LENGTH} characters long.",
                code="too_long",
            )
        text = value.strip(" \t\r\n")
        if not _WHOLE_KOBO.fullmatch(text):
            raise MoneyError("An amount in kobo is written with the digits 0–9 only.")
        digits = text.lstrip("0")
        if len(digits) > len(str(max_kobo)):
            raise _too_large(max_kobo)
        kobo = int(digits or "0")
    if not 0 <= kobo <= max_kobo:
        raise _too_large(max_kobo)
    return kobo


def _too_large(max_kobo: int) -> MoneyError:
    return MoneyError(f"An amount is at most {format_naira(max_kobo)}.", code="too_large")


def _explain(text: str, *, plain: bool) -> MoneyError:
    """Which rule the (already short) text broke, in words."""
    example = '"150000.00"' if plain else "150000 or 150,000.00"
    if _MORE_DECIMALS.fullmatch(text):
        return MoneyError(
            "An amount in naira has at most two decimals (kobo), e.g. 150,000.50.", code="decimals"
        )
    if _EXPONENT.search(text):
        return MoneyError(
            f"Write the amount in full, without an exponent, e.g. {example}.", code="exponent"
        )
    if any(ch.isdigit() and not "0" <= ch <= "9" for ch in text):
        return MoneyError(f"Write the amount with the digits 0–9, e.g. {example}.", code="digits")
    if "," in text and not plain:
        return MoneyError(
            "Put a comma every three digits (1,500,000.00) or none (1500000.00).",
            code="separators",
        )
    return MoneyError(f"Enter an amount in naira, e.g. {example}.", code="invalid")


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
    "MAX_AMOUNT_TEXT_LENGTH",
    "MAX_KOBO",
    "MoneyError",
    "ROUND_HALF_EVEN",
    "ROUND_HALF_UP",
    "api_amount",
    "format_naira",
    "kobo_to_decimal",
    "parse_kobo",
    "parse_naira",
    "to_kobo",
]
