"""The Nigerian banks a member can be paid into, with the codes transfers are routed by.

Deposit money banks carry their 3-digit CBN code, the code the NUBAN check digit is computed
from. Microfinance banks and mobile-money operators carry the longer codes the transfer
networks (NIBSS NIP, and the payment providers built on it) use for them; their account
numbers follow other numbering rules, so only the 10-digit rule applies to them.

The list is shipped with the code rather than fetched, so a form never depends on a
provider being up. Account names are still resolved through the payments provider before
the first disbursement, which catches a wrong bank as well as a wrong account.
"""

from dataclasses import dataclass

COMMERCIAL = "commercial"
NON_INTEREST = "non-interest"
MICROFINANCE = "microfinance"
MOBILE_MONEY = "mobile money"

# Kinds of bank whose 3-digit CBN code takes part in the NUBAN check-digit calculation.
_NUBAN_CHECKED_KINDS = frozenset({COMMERCIAL, NON_INTEREST})


@dataclass(frozen=True)
class Bank:
    code: str
    name: str
    short_name: str
    kind: str = COMMERCIAL

    @property
    def has_nuban_check_digit(self) -> bool:
        """True when the 10th digit of an account number can be checked for this bank.

        Only deposit money banks with a 3-digit CBN code. VFD's code is 3 digits too, but it
        is a microfinance bank whose numbers are not issued under that scheme, so checking
        would refuse real accounts.
        """
        return len(self.code) == 3 and self.kind in _NUBAN_CHECKED_KINDS

    def __str__(self):
        return self.name


BANKS: tuple[Bank, ...] = (
    # Commercial banks (3-digit CBN codes; Globus is the exception with a 5-digit code).
    Bank("044", "Access Bank", "Access"),
    Bank("023", "Citibank Nigeria", "Citibank"),
    Bank("050", "Ecobank Nigeria", "Ecobank"),
    Bank("070", "Fidelity Bank", "Fidelity"),
    Bank("011", "First Bank of Nigeria", "First Bank"),
    Bank("214", "First City Monument Bank", "FCMB"),
    Bank("00103", "Globus Bank", "Globus"),
    Bank("058", "Guaranty Trust Bank", "GTBank"),
    # Heritage Bank (030) is left out: the CBN revoked its licence in June 2024.
    Bank("082", "Keystone Bank", "Keystone"),
    Bank("107", "Optimus Bank", "Optimus"),
    Bank("104", "Parallex Bank", "Parallex"),
    Bank("076", "Polaris Bank", "Polaris"),
    Bank("105", "PremiumTrust Bank", "PremiumTrust"),
    Bank("101", "Providus Bank", "Providus"),
    Bank("106", "Signature Bank", "Signature"),
    Bank("221", "Stanbic IBTC Bank", "Stanbic IBTC"),
    Bank("068", "Standard Chartered Bank", "Standard Chartered"),
    Bank("232", "Sterling Bank", "Sterling"),
    Bank("100", "SunTrust Bank", "SunTrust"),
    Bank("102", "Titan Trust Bank", "Titan Trust"),
    Bank("032", "Union Bank of Nigeria", "Union"),
    Bank("033", "United Bank for Africa", "UBA"),
    Bank("215", "Unity Bank", "Unity"),
    Bank("035", "Wema Bank", "Wema"),
    Bank("057", "Zenith Bank", "Zenith"),
    # Non-interest (Islamic) banks: deposit money banks, same NUBAN rules.
    Bank("301", "Jaiz Bank", "Jaiz", NON_INTEREST),
    Bank("303", "Lotus Bank", "Lotus", NON_INTEREST),
    Bank("302", "TAJBank", "TAJ", NON_INTEREST),
    # Microfinance banks and mobile-money operators many corps members bank with.
    Bank("50211", "Kuda Microfinance Bank", "Kuda", MICROFINANCE),
    Bank("50515", "Moniepoint Microfinance Bank", "Moniepoint", MICROFINANCE),
    Bank("566", "VFD Microfinance Bank", "VFD", MICROFINANCE),
    Bank("999992", "OPay", "OPay", MOBILE_MONEY),
    Bank("999991", "PalmPay", "PalmPay", MOBILE_MONEY),
)

_BY_CODE: dict[str, Bank] = {bank.code: bank for bank in BANKS}

BANK_CHOICES: tuple[tuple[str, str], ...] = tuple(
    (bank.code, bank.name) for bank in sorted(BANKS, key=lambda bank: bank.name.casefold())
)


def bank_by_code(code: str | None) -> Bank | None:
    if not code:
        return None
    return _BY_CODE.get(str(code).strip())


def bank_name(code: str | None) -> str:
    """The bank's name; an unknown code is shown as it is rather than hidden."""
    bank = bank_by_code(code)
    if bank is not None:
        return bank.name
    return f"Unknown bank ({code})" if code else ""
