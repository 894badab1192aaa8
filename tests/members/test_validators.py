import tempfile
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError

if not settings.configured:
    # Runs without the project settings (``-p no:django``); tests/conftest.py's autouse
    # fixtures still touch the cache and PRIVATE_MEDIA_ROOT, so give them something harmless.
    settings.configure(
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        PRIVATE_MEDIA_ROOT=Path(tempfile.gettempdir()) / "allaweeplus-unit-no-media",
    )

from members.banks import BANK_CHOICES, BANKS, bank_by_code, bank_name  # noqa: E402
from members.validators import (  # noqa: E402
    NYSC_STATES,
    STATE_CHOICES,
    StateCode,
    expected_service_start,
    make_valid_nuban,
    normalise_phone,
    nuban_check_digit,
    parse_state_code,
    passing_out_date,
    validate_bvn,
    validate_nuban,
    validate_phone,
    validate_state_code,
)


def error_code(func, *args) -> str:
    with pytest.raises(ValidationError) as info:
        func(*args)
    assert info.value.messages[0]  # a person always gets a message, not just a code
    return info.value.code


# --- Phone -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "0803 123 4567",
        "08031234567",
        "+2348031234567",
        "2348031234567",
        "+234 (0) 803 123 4567",
        " 0803-123-4567 ",
    ],
)
def test_nigerian_mobile_numbers_in_every_usual_form_become_e164(typed):
    assert normalise_phone(typed) == "+2348031234567"


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("0701 234 5678", "+2347012345678"),
        ("0815 123 4567", "+2348151234567"),
        ("0905 123 4567", "+2349051234567"),
        ("0912 345 6789", "+2349123456789"),
    ],
)
def test_every_mobile_prefix_range_is_accepted(typed, e164):
    assert normalise_phone(typed) == e164


def test_lagos_landline_is_refused_as_not_mobile():
    assert error_code(normalise_phone, "0201 234 5678") == "not_mobile"


@pytest.mark.parametrize("typed", ["0700 123 4567", "0800 123 4567"])
def test_shared_cost_and_toll_free_numbers_are_refused(typed):
    assert error_code(normalise_phone, typed) == "not_mobile"


@pytest.mark.parametrize("typed", ["+44 7911 123456", "+1 202 555 0143", "+233 24 123 4567"])
def test_foreign_numbers_are_refused(typed):
    assert error_code(normalise_phone, typed) == "not_nigerian"


@pytest.mark.parametrize("typed", ["0803 123 456", "0803", "+234803123456", "080312345678"])
def test_numbers_of_the_wrong_length_are_refused(typed):
    assert error_code(normalise_phone, typed) == "invalid"


def test_text_that_is_not_a_number_is_refused():
    assert error_code(normalise_phone, "call me") == "invalid"


def test_empty_phone_is_required():
    assert error_code(normalise_phone, "  ") == "required"


def test_validate_phone_is_a_field_validator():
    assert validate_phone("0803 123 4567") is None
    with pytest.raises(ValidationError):
        validate_phone("0201 234 5678")


# --- BVN ---------------------------------------------------------------------------------


def test_bvn_of_eleven_digits_is_returned_without_spaces():
    assert validate_bvn(" 2234 5678 901 ") == "22345678901"


@pytest.mark.parametrize("typed", ["2234567890", "223456789012"])
def test_bvn_of_ten_or_twelve_digits_is_refused(typed):
    assert error_code(validate_bvn, typed) == "wrong_length"


@pytest.mark.parametrize(
    "typed", ["2234567890A", "BVN22345678", "22345-67890", "２２３４５６７８９０１"]
)
def test_bvn_with_letters_or_symbols_is_refused(typed):
    assert error_code(validate_bvn, typed) == "not_digits"


def test_bvn_of_one_repeated_digit_is_refused():
    assert error_code(validate_bvn, "11111111111") == "implausible"


def test_empty_bvn_is_required():
    assert error_code(validate_bvn, "") == "required"


# --- NYSC state code ---------------------------------------------------------------------


def test_state_code_is_parsed_into_its_parts():
    assert parse_state_code("LA/23A/1234") == StateCode(
        state="LA", year=23, batch="A", stream=None, serial="1234"
    )


@pytest.mark.parametrize(
    "typed", ["la/23a/1234", "NYSC/LA/23A/1234", "nysc/la/23a/1234", " LA / 23A / 1234 "]
)
def test_state_code_is_normalised_to_upper_case_without_nysc_prefix(typed):
    assert str(parse_state_code(typed)) == "LA/23A/1234"


def test_state_code_with_a_stream_keeps_it():
    code = parse_state_code("fc/24b2/00123")
    assert (code.state, code.year, code.batch, code.stream, code.serial) == (
        "FC",
        24,
        "B",
        2,
        "00123",
    )
    assert str(code) == "FC/24B2/00123"


def test_state_code_knows_its_state_and_year():
    code = parse_state_code("RV/05C/123")
    assert code.state_name == "Rivers"
    assert code.full_year == 2005
    assert str(code) == "RV/05C/123"


@pytest.mark.parametrize("typed", ["XX/23A/1234", "LG/23A/1234", "NY/23A/1234"])
def test_state_code_with_an_unknown_state_is_refused(typed):
    assert error_code(parse_state_code, typed) == "unknown_state"


@pytest.mark.parametrize("typed", ["LA/23D/1234", "LA/23Z1/1234"])
def test_state_code_with_a_batch_other_than_a_b_c_is_refused(typed):
    assert error_code(parse_state_code, typed) == "batch"


@pytest.mark.parametrize("typed", ["LA/23A/12", "LA/23A/123456", "LA/23A/12A4", "LA/23A/"])
def test_state_code_with_a_bad_serial_is_refused(typed):
    assert error_code(parse_state_code, typed) == "serial"


@pytest.mark.parametrize("typed", ["LA/2023A/1234", "LA/A23/1234", "LA/23/1234", "LA/23A0/1234"])
def test_state_code_with_a_bad_year_or_batch_part_is_refused(typed):
    assert error_code(parse_state_code, typed) == "year_batch"


@pytest.mark.parametrize("typed", ["LA23A1234", "LA-23A-1234", "L1/23A/1234", "LA/23A/1234/5"])
def test_state_code_in_the_wrong_shape_is_refused(typed):
    assert error_code(parse_state_code, typed) == "format"


def test_empty_state_code_is_required():
    assert error_code(parse_state_code, "") == "required"


def test_validate_state_code_is_a_field_validator():
    assert validate_state_code("la/23a/1234") is None
    with pytest.raises(ValidationError):
        validate_state_code("LA/23D/1234")


def test_all_36_states_and_the_fct_are_state_choices():
    assert len(NYSC_STATES) == 37
    assert dict(STATE_CHOICES) == NYSC_STATES
    assert [name for _, name in STATE_CHOICES] == sorted(NYSC_STATES.values())


@pytest.mark.parametrize(
    ("typed", "start"),
    [
        ("LA/23A/1234", date(2023, 3, 1)),
        ("LA/23A2/1234", date(2023, 4, 1)),
        ("LA/23B/1234", date(2023, 7, 1)),
        ("LA/23C/1234", date(2023, 11, 1)),
        ("LA/23C2/1234", date(2023, 12, 1)),
        ("LA/23C3/1234", date(2024, 1, 1)),
    ],
)
def test_expected_service_start_follows_the_batch_table(typed, start):
    assert expected_service_start(parse_state_code(typed)) == start
    assert expected_service_start(typed) == start


def test_passing_out_is_twelve_months_after_start():
    assert passing_out_date(date(2023, 3, 1)) == date(2024, 3, 1)
    assert passing_out_date(date(2023, 11, 30)) == date(2024, 11, 30)


def test_passing_out_from_a_leap_day_is_clamped_to_the_month_end():
    assert passing_out_date(date(2024, 2, 29)) == date(2025, 2, 28)


# --- NUBAN -------------------------------------------------------------------------------

# Worked by hand, GTBank (058) with serial 015264310, weights 3,7,3 repeated:
#   digits   0  5  8  0  1  5  2  6  4  3  1  0
#   weights  3  7  3  3  7  3  3  7  3  3  7  3
#   products 0 35 24  0  7 15  6 42 12  9  7  0  -> sum 157
#   check = (10 - 157 mod 10) mod 10 = (10 - 7) mod 10 = 3  -> NUBAN 0152643103
GTBANK_NUBAN = "0152643103"


def test_hand_computed_gtbank_nuban_is_valid():
    assert nuban_check_digit("058", "015264310") == 3
    assert validate_nuban(GTBANK_NUBAN, "058") == GTBANK_NUBAN


def test_nuban_with_a_wrong_check_digit_is_refused():
    assert error_code(validate_nuban, "0152643104", "058") == "check_digit"


def test_valid_nuban_for_one_bank_is_refused_for_another():
    assert error_code(validate_nuban, GTBANK_NUBAN, "044") == "check_digit"


@pytest.mark.parametrize("typed", ["015264310", "01526431030", "01526431O3", ""])
def test_nuban_that_is_not_ten_digits_is_refused(typed):
    assert error_code(validate_nuban, typed, "058") == "wrong_length"


def test_nuban_spaces_are_removed():
    assert validate_nuban("0152 643 103", "058") == GTBANK_NUBAN


def test_check_digit_zero_case():
    # sum over 000 + 000000000 is 0, so the check digit is (10 - 0) mod 10 = 0, not 10.
    assert nuban_check_digit("000", "000000000") == 0


@pytest.mark.parametrize("bank_code", ["50211", "999992", "50515", "999991", "566", "00103"])
def test_banks_without_a_known_check_digit_need_only_ten_digits(bank_code):
    for last in "0123456789":
        assert validate_nuban(f"123456789{last}", bank_code) == f"123456789{last}"
    assert error_code(validate_nuban, "123456789", bank_code) == "wrong_length"


def test_make_valid_nuban_passes_validation_for_every_checked_bank():
    for bank in BANKS:
        if bank.has_nuban_check_digit:
            account = make_valid_nuban(bank.code, "123456789")
            assert len(account) == 10
            assert validate_nuban(account, bank.code) == account


def test_make_valid_nuban_refuses_a_bank_code_that_is_not_three_digits():
    with pytest.raises(ValueError):
        make_valid_nuban("50211", "123456789")
    with pytest.raises(ValueError):
        make_valid_nuban("058", "12345678")


# --- Banks -------------------------------------------------------------------------------


def test_bank_codes_are_unique():
    codes = [bank.code for bank in BANKS]
    assert len(codes) == len(set(codes))


def test_bank_choices_are_sorted_by_name():
    names = [name for _, name in BANK_CHOICES]
    assert names == sorted(names, key=str.casefold)
    assert len(BANK_CHOICES) == len(BANKS)


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("044", "Access Bank"),
        ("058", "Guaranty Trust Bank"),
        ("057", "Zenith Bank"),
        ("033", "United Bank for Africa"),
        ("00103", "Globus Bank"),
        ("50211", "Kuda Microfinance Bank"),
        ("999992", "OPay"),
    ],
)
def test_banks_are_found_by_cbn_code(code, name):
    assert bank_by_code(code).name == name
    assert bank_name(code) == name


def test_unknown_bank_code_is_shown_rather_than_hidden():
    assert bank_by_code("999") is None
    assert bank_by_code("") is None
    assert bank_name("999") == "Unknown bank (999)"
    assert bank_name("") == ""


def test_only_deposit_money_banks_with_three_digit_codes_check_the_nuban():
    assert bank_by_code("058").has_nuban_check_digit
    assert bank_by_code("301").has_nuban_check_digit  # Jaiz, non-interest
    assert not bank_by_code("00103").has_nuban_check_digit
    assert not bank_by_code("566").has_nuban_check_digit  # VFD is a microfinance bank
    assert not bank_by_code("50211").has_nuban_check_digit
