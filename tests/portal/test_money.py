from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.money import MoneyError, api_amount, format_naira, naira_to_kobo, to_kobo


@pytest.mark.parametrize(
    ("kobo", "text"),
    [(15_000_000, "₦150,000.00"), (1, "₦0.01"), (0, "₦0.00"), (-100_050, "-₦1,000.50")],
)
def test_naira_formatting_for_people(kobo, text):
    assert format_naira(kobo) == text


def test_api_amount_is_a_decimal_string():
    assert api_amount(15_000_000) == "150000.00"


@pytest.mark.parametrize("text", ["abc", "1.005", "NaN", "Infinity", ""])
def test_bad_amounts_are_refused(text):
    with pytest.raises(MoneyError):
        naira_to_kobo(text)


def test_floats_are_refused():
    with pytest.raises(TypeError):
        naira_to_kobo(1.5)
    with pytest.raises(TypeError):
        to_kobo(1.5)


@given(st.integers(min_value=-(10**13), max_value=10**13))
def test_kobo_round_trips_through_naira_text(kobo):
    assert naira_to_kobo(api_amount(kobo)) == kobo
    assert naira_to_kobo(format_naira(kobo).replace("₦", "")) == kobo


def test_to_kobo_rounds_half_up_by_default():
    assert to_kobo(Decimal("2.5")) == 3
    assert to_kobo(Decimal("-2.5")) == -3
