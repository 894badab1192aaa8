"""core.money: formatting for people and the API, and the one amount parser
(``parse_naira``). The attacks on it through every entry point are in
tests/security/test_amounts.py."""

import string
from decimal import Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from core.money import (
    MAX_AMOUNT_TEXT_LENGTH,
    MAX_KOBO,
    MoneyError,
    api_amount,
    format_naira,
    parse_kobo,
    parse_naira,
    to_kobo,
)


@pytest.mark.parametrize(
    ("kobo", "text"),
    [(15_000_000, "₦150,000.00"), (1, "₦0.01"), (0, "₦0.00"), (-100_050, "-₦1,000.50")],
)
def test_naira_formatting_for_people(kobo, text):
    assert format_naira(kobo) == text


def test_api_amount_is_a_decimal_string():
    assert api_amount(15_000_000) == "150000.00"


@pytest.mark.parametrize(
    ("text", "kobo"),
    [
        ("150000", 15_000_000),
        ("150000.5", 15_000_050),
        ("150,000.50", 15_000_050),
        ("1,500,000", 150_000_000),
        ("₦150,000.00", 15_000_000),
        ("₦ 150,000", 15_000_000),
        ("NGN 1500", 150_000),
        ("ngn1500.00", 150_000),
        ("  150000 \n", 15_000_000),
        ("0.01", 1),
        ("0", 0),
        ("999,999,999,999.99", MAX_KOBO),
    ],
)
def test_amounts_people_write_are_read_to_the_kobo(text, kobo):
    assert parse_naira(text) == kobo


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("abc", "invalid"),
        ("", "required"),
        ("1.005", "decimals"),
        ("150000.500", "decimals"),
        ("NaN", "invalid"),
        ("Infinity", "invalid"),
        ("5e4", "exponent"),
        ("1e-2", "exponent"),
        ("9e999997", "exponent"),
        ("1E+3", "exponent"),
        ("1_000", "invalid"),
        ("1,0,0", "separators"),
        ("1,5000", "separators"),
        ("15,00.00", "separators"),
        (",150", "separators"),
        ("١٢٣", "digits"),  # Arabic-Indic
        ("१२३", "digits"),  # Devanagari
        ("１２３", "digits"),  # fullwidth
        ("-150", "negative"),
        ("+150", "invalid"),
        ("0x10", "invalid"),
        (".50", "invalid"),
        ("150.", "invalid"),
        ("150 000", "invalid"),
        ("₦-150", "invalid"),
        ("1000000000000", "too_large"),
        ("9" * MAX_AMOUNT_TEXT_LENGTH, "too_large"),
        ("9" * (MAX_AMOUNT_TEXT_LENGTH + 1), "too_long"),
        (" " * 1000 + "1", "too_long"),
        ("1\x00", "invalid"),
    ],
)
def test_anything_else_is_refused_with_the_rule_it_broke(text, code):
    with pytest.raises(MoneyError) as refused:
        parse_naira(text)
    assert refused.value.code == code
    assert refused.value.message.endswith(".")


def test_negatives_only_when_the_caller_allows_them():
    assert parse_naira("-₦1,000.50", allow_negative=True) == -100_050
    assert parse_naira("-1000.50", allow_negative=True) == -100_050
    with pytest.raises(MoneyError):
        parse_naira("--1000", allow_negative=True)


def test_the_api_form_is_a_plain_decimal_string():
    assert parse_naira("150000.00", plain=True) == 15_000_000
    for text in ("150,000.00", "₦150000", "0150000", "NGN 5"):
        with pytest.raises(MoneyError):
            parse_naira(text, plain=True)


def test_a_caller_bound_is_checked_in_kobo():
    assert parse_naira("999999999.99", max_kobo=999_999_999_99) == 999_999_999_99
    with pytest.raises(MoneyError) as refused:
        parse_naira("1000000000", max_kobo=999_999_999_99)
    assert refused.value.code == "too_large"
    assert "₦999,999,999.99" in refused.value.message


def test_floats_and_other_types_are_refused():
    for value in (1.5, Decimal("1.5"), 150, None, b"150"):
        with pytest.raises(TypeError):
            parse_naira(value)
    with pytest.raises(TypeError):
        to_kobo(1.5)


@pytest.mark.parametrize(
    ("value", "kobo"), [(150000, 150_000), ("150000", 150_000), (" 7 ", 7), (0, 0)]
)
def test_a_provider_amount_is_whole_kobo(value, kobo):
    assert parse_kobo(value) == kobo


@pytest.mark.parametrize(
    "value", [True, 1.5, "1.5", "1e5", "١٢٣", "-5", -5, 10**400, "9" * 400, None, [], "1_000"]
)
def test_a_provider_amount_that_is_not_whole_kobo_in_range_is_refused(value):
    with pytest.raises(MoneyError):
        parse_kobo(value)


kobo_in_range = st.integers(min_value=-MAX_KOBO, max_value=MAX_KOBO)


@given(kobo_in_range)
@example(MAX_KOBO)
@example(-MAX_KOBO)
@example(0)
def test_kobo_round_trips_through_every_way_money_is_written(kobo):
    assert parse_naira(format_naira(kobo), allow_negative=True) == kobo
    assert parse_naira(format_naira(kobo, sign=False), allow_negative=True) == kobo
    assert parse_naira(api_amount(kobo), plain=True, allow_negative=True) == kobo
    if kobo >= 0:
        assert parse_naira(format_naira(kobo)) == kobo
        assert parse_naira(api_amount(kobo), plain=True) == kobo


# Hostile shapes: long digit runs, exponents, other scripts' digits, separators anywhere,
# signs, blanks and the characters an amount is made of, in any order.
AMOUNT_ALPHABET = string.digits + ",._-+eE ₦NG\t\n" + "٠١٢٣٤٥٦٧٨٩" + "०१२" + "０１"
hostile_texts = st.one_of(
    st.text(),
    st.text(alphabet=AMOUNT_ALPHABET, max_size=60),
    st.builds(
        lambda digits, exponent: f"{digits}e{exponent}",
        st.text(alphabet=string.digits, min_size=1, max_size=5),
        st.integers(-(10**6), 10**6),
    ),
    st.integers(0, 10**6).map(lambda n: "9" * n),
    st.integers(0, 10**50).map(lambda n: f"{n:,}"),
    st.integers(0, 10**15).map(lambda n: f"{n:_}"),
    st.from_regex(r"\A-?[0-9]{1,3}(,[0-9]{1,4})*(\.[0-9]{0,4})?\Z"),
)


@settings(max_examples=400)
@given(hostile_texts, st.booleans(), st.booleans())
def test_any_text_is_read_or_refused_never_anything_else(text, allow_negative, plain):
    try:
        kobo = parse_naira(text, allow_negative=allow_negative, plain=plain)
    except MoneyError as exc:
        assert exc.message and exc.code
        return
    assert isinstance(kobo, int)
    assert abs(kobo) <= MAX_KOBO
    assert kobo >= 0 or allow_negative
    assert len(text) <= MAX_AMOUNT_TEXT_LENGTH
    assert set(text.strip(" \t\r\n")) <= set(string.digits + ",.-₦NGngG ")
    # What was accepted means what it says: it formats back to the same amount.
    assert parse_naira(format_naira(kobo), allow_negative=True) == kobo


def test_to_kobo_rounds_half_up_by_default():
    assert to_kobo(Decimal("2.5")) == 3
    assert to_kobo(Decimal("-2.5")) == -3
