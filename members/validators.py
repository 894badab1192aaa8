"""Checks and normalisation for what a corps member types into the KYC profile.

Every check raises ``django.core.exceptions.ValidationError`` with a message a member can
act on and a ``code`` the API can return. The functions need no configured settings.
"""

import calendar
import re
from dataclasses import dataclass
from datetime import date

import phonenumbers
from django.core.exceptions import ValidationError

from members.banks import bank_by_code

# --- Phone -------------------------------------------------------------------------------

# Nigerian mobile ranges: +234 then 10 digits, 070x/080x/081x/090x/091x when dialled locally.
_NG_MOBILE_NATIONAL = re.compile(r"^(70|80|81|90|91)\d{8}$")
_MOBILE_TYPES = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)


def normalise_phone(value: str) -> str:
    """A Nigerian mobile number in E.164 (``+2348031234567``).

    Accepts the ways people write it: ``0803 123 4567``, ``+2348031234567``,
    ``2348031234567``. Landlines, toll-free/shared-cost numbers (0700, 0800) and foreign
    numbers are refused: repayment reminders go by SMS.
    """
    text = str(value or "").strip()
    if not text:
        raise ValidationError("Enter your mobile phone number.", code="required")
    try:
        number = phonenumbers.parse(text, "NG")
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            "This is not a phone number. Enter it like 0803 123 4567.", code="invalid"
        ) from exc
    if number.country_code != 234:
        raise ValidationError(
            "Enter a Nigerian mobile number (+234); foreign numbers are not accepted.",
            code="not_nigerian",
        )
    national = str(number.national_number)
    if len(national) != 10 or not phonenumbers.is_possible_number(number):
        raise ValidationError(
            "A Nigerian mobile number has 11 digits, like 0803 123 4567.", code="invalid"
        )
    if not (
        _NG_MOBILE_NATIONAL.match(national) and phonenumbers.number_type(number) in _MOBILE_TYPES
    ):
        raise ValidationError(
            "This is not a Nigerian mobile number. Use a number starting 070, 080, 081, 090 "
            "or 091.",
            code="not_mobile",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_phone(value: str) -> None:
    """Field validator form of :func:`normalise_phone`."""
    normalise_phone(value)


# --- BVN ---------------------------------------------------------------------------------

BVN_LENGTH = 11


def validate_bvn(value: str) -> str:
    """The BVN with spaces removed; 11 digits. There is no public checksum to verify."""
    bvn = "".join(str(value or "").split())
    if not bvn:
        raise ValidationError("Enter your BVN.", code="required")
    if not bvn.isdigit() or not bvn.isascii():
        raise ValidationError("A BVN is made of digits only.", code="not_digits")
    if len(bvn) != BVN_LENGTH:
        raise ValidationError(
            f"A BVN is exactly {BVN_LENGTH} digits; this one has {len(bvn)}.",
            code="wrong_length",
        )
    if len(set(bvn)) == 1:
        raise ValidationError(
            "This is not a real BVN. Dial *565*0# from the phone linked to your bank "
            "account to see yours.",
            code="implausible",
        )
    return bvn


# --- NYSC state code ---------------------------------------------------------------------

NYSC_STATES: dict[str, str] = {
    "AB": "Abia",
    "AD": "Adamawa",
    "AK": "Akwa Ibom",
    "AN": "Anambra",
    "BA": "Bauchi",
    "BY": "Bayelsa",
    "BN": "Benue",
    "BO": "Borno",
    "CR": "Cross River",
    "DT": "Delta",
    "EB": "Ebonyi",
    "ED": "Edo",
    "EK": "Ekiti",
    "EN": "Enugu",
    "FC": "FCT",
    "GM": "Gombe",
    "IM": "Imo",
    "JG": "Jigawa",
    "KD": "Kaduna",
    "KN": "Kano",
    "KT": "Katsina",
    "KB": "Kebbi",
    "KG": "Kogi",
    "KW": "Kwara",
    "LA": "Lagos",
    "NS": "Nasarawa",
    "NG": "Niger",
    "OG": "Ogun",
    "OD": "Ondo",
    "OS": "Osun",
    "OY": "Oyo",
    "PL": "Plateau",
    "RV": "Rivers",
    "SO": "Sokoto",
    "TR": "Taraba",
    "YB": "Yobe",
    "ZM": "Zamfara",
}

STATE_CHOICES: tuple[tuple[str, str], ...] = tuple(
    sorted(NYSC_STATES.items(), key=lambda item: item[1])
)

BATCHES = ("A", "B", "C")

_YEAR_BATCH = re.compile(r"^(?P<year>\d{2})(?P<batch>[A-Z])(?P<stream>[1-9])?$")
_SERIAL = re.compile(r"^\d{3,5}$")
_FORMAT_HINT = "Enter your state code like LA/23A/1234."


@dataclass(frozen=True)
class StateCode:
    """A parsed NYSC state code such as ``LA/23A/1234`` (stream 1 of batch A, 2023)."""

    state: str
    year: int  # two digits: 23 means 2023
    batch: str
    stream: int | None
    serial: str  # text, so leading zeros survive

    def __str__(self):
        stream = "" if self.stream is None else str(self.stream)
        return f"{self.state}/{self.year:02d}{self.batch}{stream}/{self.serial}"

    @property
    def state_name(self) -> str:
        return NYSC_STATES[self.state]

    @property
    def full_year(self) -> int:
        return 2000 + self.year


def parse_state_code(value: str) -> StateCode:
    """Parse ``SS/YYB/NNNN`` (optionally ``NYSC/``-prefixed, any case, stray spaces)."""
    text = "".join(str(value or "").split()).upper()
    if not text:
        raise ValidationError("Enter your NYSC state code, e.g. LA/23A/1234.", code="required")
    text = text.removeprefix("NYSC/")
    parts = text.split("/")
    if len(parts) != 3:
        raise ValidationError(_FORMAT_HINT, code="format")
    state, year_batch, serial = parts
    if not (len(state) == 2 and state.isalpha() and state.isascii()):
        raise ValidationError(
            f"A state code starts with the two letters of a state. {_FORMAT_HINT}",
            code="format",
        )
    if state not in NYSC_STATES:
        raise ValidationError(
            f"“{state}” is not an NYSC state. Use your state of deployment, e.g. LA for Lagos "
            "or FC for the FCT.",
            code="unknown_state",
        )
    match = _YEAR_BATCH.match(year_batch)
    if match is None:
        raise ValidationError(
            "The middle part is the year and batch, e.g. 23A (or 23A1 with the stream).",
            code="year_batch",
        )
    if match["batch"] not in BATCHES:
        raise ValidationError(
            f"The batch is A, B or C; “{match['batch']}” is not a batch.", code="batch"
        )
    if not _SERIAL.match(serial):
        raise ValidationError(
            "The last part of a state code is your 3 to 5 digit number, e.g. 1234.",
            code="serial",
        )
    return StateCode(
        state=state,
        year=int(match["year"]),
        batch=match["batch"],
        stream=int(match["stream"]) if match["stream"] else None,
        serial=serial,
    )


def validate_state_code(value: str) -> None:
    """Field validator form of :func:`parse_state_code`."""
    parse_state_code(value)


# When each batch's stream 1 usually starts orientation camp, where the service year begins.
# An approximation for a default only: NYSC announces the dates each year, and the member
# or staff correct the start date on the profile. Later streams start about a month apart.
BATCH_START_MONTH = {"A": 3, "B": 7, "C": 11}


def _add_months(start: date, months: int) -> date:
    """Same day ``months`` later, clamped to the month's end (29 Feb → 28 Feb)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def expected_service_start(code: StateCode | str) -> date:
    """Approximate service start from the year and batch: 1st of the batch's month.

    ``LA/23A/1234`` → 2023-03-01, ``LA/23B/…`` → 2023-07-01, ``LA/23C/…`` → 2023-11-01;
    stream 2 a month later (``LA/23A2/…`` → 2023-04-01).
    """
    if not isinstance(code, StateCode):
        code = parse_state_code(code)
    first = date(code.full_year, BATCH_START_MONTH[code.batch], 1)
    return _add_months(first, (code.stream or 1) - 1)


SERVICE_MONTHS = 12


def passing_out_date(start: date) -> date:
    """The end of the 12-month service year: same day a year on, clamped to the month end."""
    return _add_months(start, SERVICE_MONTHS)


# --- NUBAN -------------------------------------------------------------------------------

NUBAN_LENGTH = 10
# CBN NUBAN scheme: weights 3,7,3 repeated over the 3-digit bank code + 9-digit serial.
_NUBAN_WEIGHTS = (3, 7, 3) * 4


def _checks_nuban(bank_code: str) -> bool:
    bank = bank_by_code(bank_code)
    if bank is not None:
        return bank.has_nuban_check_digit
    return len(bank_code) == 3 and bank_code.isdigit()


def nuban_check_digit(bank_code: str, first_nine: str) -> int:
    """The 10th digit of a NUBAN for a 3-digit CBN bank code."""
    bank_code, first_nine = str(bank_code), str(first_nine)
    if not (len(bank_code) == 3 and bank_code.isdigit() and bank_code.isascii()):
        raise ValueError(f"NUBAN check digits use a 3-digit CBN bank code, not {bank_code!r}")
    if not (len(first_nine) == 9 and first_nine.isdigit() and first_nine.isascii()):
        raise ValueError(f"expected the first 9 digits of an account number, not {first_nine!r}")
    total = sum(
        int(digit) * weight
        for digit, weight in zip(bank_code + first_nine, _NUBAN_WEIGHTS, strict=True)
    )
    return (10 - total % 10) % 10


def make_valid_nuban(bank_code: str, first_nine: str) -> str:
    """A 10-digit account number that passes :func:`validate_nuban` (demo and test data)."""
    return f"{first_nine}{nuban_check_digit(bank_code, first_nine)}"


def validate_nuban(account_number: str, bank_code: str) -> str:
    """The account number with spaces removed; 10 digits, check digit verified where known."""
    account = "".join(str(account_number or "").split())
    bank_code = str(bank_code or "").strip()
    if not account.isdigit() or not account.isascii() or len(account) != NUBAN_LENGTH:
        raise ValidationError(
            f"An account number (NUBAN) is exactly {NUBAN_LENGTH} digits.", code="wrong_length"
        )
    if _checks_nuban(bank_code) and int(account[-1]) != nuban_check_digit(bank_code, account[:9]):
        raise ValidationError(
            "This account number does not belong to the bank you chose. Check both.",
            code="check_digit",
        )
    return account
