"""Fuzzing the two parsers of untrusted or extreme input with hypothesis: the schedule
engine (any terms a product admin or an API caller could send) and the bank statement parser
(any file finance could upload). Existing property tests of the engine's arithmetic live in
tests/loans/test_schedule.py; these look for crashes and round-trip invariants."""

import csv
import io
from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loans.schedule import FeeTreatment, InterestMethod, ScheduleTerms, build_schedule
from payments.models import ColumnMapping
from payments.reconciliation.parsing import StatementError, parse_statement

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- Schedule engine --------------------------------------------------------------------------

edge_ints = st.one_of(
    st.integers(-(10**15), 10**15),
    st.sampled_from([0, 1, 2, 99, 100, 10**12, 2**63 - 1, -1]),
)
edge_decimals = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True, places=6),
    st.sampled_from([Decimal(0), Decimal(1), Decimal("1.000001"), Decimal("-0.0001")]),
)


# Mostly valid terms at the edges of their ranges, sometimes anything at all.
principals = st.one_of(st.integers(1, 10**12), edge_ints)
fractions = st.one_of(st.decimals(0, 1, places=6), edge_decimals)
fixed_fees = st.one_of(st.integers(0, 10**6), edge_ints)


@FUZZ
@given(
    principal=principals,
    tenure=st.integers(-3, 80),
    method=st.sampled_from(list(InterestMethod)),
    rate=fractions,
    fee_percent=fractions,
    fee_fixed=fixed_fees,
    treatment=st.sampled_from(list(FeeTreatment)),
    due_day=st.integers(-1, 31),
    start=st.dates(date(1990, 1, 1), date(2090, 12, 31)),
)
def test_any_terms_give_a_consistent_schedule_or_a_clear_refusal(
    principal, tenure, method, rate, fee_percent, fee_fixed, treatment, due_day, start
):
    try:
        terms = ScheduleTerms(
            principal=principal,
            tenure_months=tenure,
            method=method,
            monthly_rate=rate,
            fee_percent=fee_percent,
            fee_fixed=fee_fixed,
            fee_treatment=treatment,
            due_day=due_day,
            start_date=start,
        )
        schedule = build_schedule(terms)
    except ValueError as exc:
        assert str(exc)  # a message fit to show a person, never a bare error
        return
    items = schedule.installments
    assert len(items) == tenure
    assert sum(i.principal for i in items) == principal
    assert all(i.principal >= 0 and i.interest >= 0 and i.fee >= 0 for i in items)
    assert schedule.total_repayable == sum(i.total for i in items)
    assert all(isinstance(i.total, int) for i in items)
    assert 0 <= schedule.disbursed_amount <= principal
    assert schedule.apr >= 0


# --- Statement parser -------------------------------------------------------------------------


def _mapping():
    return ColumnMapping(
        bank_name="Fuzz Bank",
        date_column="Value Date",
        amount_column="Amount",
        narration_column="Narration",
        reference_column="Reference",
        date_format="%d/%m/%Y",
    )


@FUZZ
@given(content=st.binary(max_size=4000), name=st.sampled_from(["s.csv", "s.xlsx", "s.txt"]))
def test_any_bytes_are_parsed_or_refused_with_a_statement_error(content, name):
    try:
        lines = parse_statement(content, name, _mapping())
    except StatementError as exc:
        assert str(exc)
        return
    assert all(isinstance(line.amount_kobo, int) for line in lines)


cell_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00"), max_size=40
)


@FUZZ
@given(
    rows=st.lists(
        st.tuples(
            st.dates(date(2000, 1, 1), date(2099, 12, 31)),
            st.integers(-(10**11), 10**11).filter(lambda k: k != 0),
            cell_text,
            cell_text,
        ),
        min_size=1,
        max_size=30,
    ),
    style=st.sampled_from(["plain", "naira", "brackets", "crdr"]),
    junk_header=st.lists(cell_text, max_size=3),
)
def test_a_written_statement_is_read_back_to_the_kobo(rows, style, junk_header):
    def amount_text(kobo):
        naira = f"{abs(kobo) // 100:,}.{abs(kobo) % 100:02d}"
        if style == "naira":
            return ("-" if kobo < 0 else "") + "₦" + naira if kobo > 0 else f"({naira})"
        if style == "brackets":
            return f"({naira})" if kobo < 0 else naira
        if style == "crdr":
            return f"{naira} {'DR' if kobo < 0 else 'CR'}"
        return ("-" if kobo < 0 else "") + naira.replace(",", "")

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for text in junk_header:  # banks put a title or account line above the header
        writer.writerow([text.replace("Value Date", "")])
    writer.writerow(["Value Date", "Amount", "Narration", "Reference"])
    for value_date, kobo, narration, reference in rows:
        writer.writerow([value_date.strftime("%d/%m/%Y"), amount_text(kobo), narration, reference])
    try:
        lines = parse_statement(buffer.getvalue().encode(), "s.csv", _mapping())
    except StatementError:
        # Only a junk line that itself looks like our header row may confuse the parser.
        assert any("value date" in t.lower() for t in junk_header)
        return
    assert [(line.value_date, line.amount_kobo) for line in lines] == [
        (value_date, kobo) for value_date, kobo, _, _ in rows
    ]
    assert [" ".join(line.narration.split()) for line in lines] == [
        " ".join(narration.split()) for _, _, narration, _ in rows
    ]
