"""H1 of the second outside review: CPU denial of service through amounts.

``core.money`` used to hand the text of an amount to ``Decimal()``, which reads exponents:
``int()`` of ``9e999997`` naira built a million-digit integer (one ~100-byte GET to the apply
preview held a gunicorn worker until it was killed at 30 s) and ``1e999999`` raised
``decimal.Overflow`` (a 500). Arabic-Indic digits, ``5e4``, ``1e-2``, ``1_000`` and ``1,0,0``
were taken as amounts. Each test below is the attack through one entry point: every form with
a ``NairaField``, the amount filters of the back-office lists, the bank-statement import, the
JSON API and the amounts a payment provider sends. Each hostile amount must get a clear
refusal (a form error on the page, a JSON 422 with a code, a statement line error), never a
500 and never a conversion of more digits than an amount can have.

The parser's own rules and property tests are in tests/core/test_money.py; the worst-case
time is measured by bench/amount_parse.py (no timing assertions here).
"""

from datetime import date
from decimal import Decimal

import pytest
from django import forms
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

import core.money
from api.services import create_token
from arrears.forms import ContactForm
from arrears.models import CollectionContact
from core.forms import NairaField
from core.money import MAX_NAIRA_DIGITS, MoneyError, parse_naira
from loans.filters import ApplicationFilter
from loans.forms import ApproveForm, QuoteForm
from loans.models import Application
from members.forms import MemberProfileForm
from payments.models import ColumnMapping, Payment, StatementImport, StatementLine
from payments.providers.webhooks import as_kobo, notice_from_payload
from payments.reconciliation.parsing import StatementError, parse_statement
from payments.refund_forms import CreditRefundForm
from payments.views import ManualPaymentForm, PayForm
from tests import factories
from tests.factories import MemberFactory, make_finance, make_officer
from tests.form_tokens import with_form_token

pytestmark = pytest.mark.django_db

# The attack strings of the review, and what the person sent them is told.
HOSTILE = {
    "9e999997": "without an exponent",
    "1e999999": "without an exponent",
    "١٥٠٠٠٠": "digits 0–9",  # Arabic-Indic 150000
    "५००००": "digits 0–9",  # Devanagari 50000
    "5e4": "without an exponent",
    "1e-2": "without an exponent",
    "1_000": "Enter an amount in naira",
    "1,0,0": "a comma every three digits",
    "NaN": "Enter an amount in naira",
    "-Infinity": "Enter an amount in naira",
    "9" * 100_000: "at most 40 characters",
    "1" * 30: "An amount is at most ₦",
}
CASES = list(HOSTILE.items())
IDS = [text if len(text) < 20 else f"{text[:4]}…×{len(text)}" for text in HOSTILE]


def _long_serving_member():
    """KYC verified, far from passing out: a loan of any tenure is allowed."""
    return MemberFactory(passing_out=date(2027, 12, 1), monthly_allowance=300_000_00)


@pytest.fixture
def verified_member():
    return _long_serving_member()


@pytest.fixture
def product():
    return factories.product()


def _amount_errors(response) -> str:
    return " ".join(response.context["form"].errors.get("amount", []))


# --- The apply preview: the page of the report ---------------------------------------------


@pytest.mark.parametrize(("text", "message"), CASES, ids=IDS)
@pytest.mark.parametrize("how", ["get", "htmx", "post-continue"])
def test_apply_preview_answers_a_hostile_amount_with_a_form_error(
    client, verified_member, product, text, message, how
):
    client.force_login(verified_member.user)
    data = {"product": product.pk, "amount": text, "tenure": 3}
    url = reverse("loans:apply")
    if how == "get":
        response = client.get(url, data)
    elif how == "htmx":
        response = client.post(url, data, headers={"HX-Request": "true"})
    else:
        response = client.post(url, {**data, "continue": "1"})
    assert response.status_code == 200
    assert message in _amount_errors(response)
    assert response.context["quote"] is None
    assert message in response.content.decode()
    assert not Application.objects.exists()


def test_apply_preview_still_reads_what_people_type(client, verified_member, product):
    client.force_login(verified_member.user)
    for text in ("60000", "60,000.00", "₦60,000", "NGN 60000.5"):
        response = client.get(
            reverse("loans:apply"), {"product": product.pk, "amount": text, "tenure": 3}
        )
        assert response.context["form"].errors == {}, text
        assert response.context["quote"] is not None


# --- Every form with an amount ---------------------------------------------------------------

# (form, amount field) for every form with a NairaField; the test below
# fails when a form with a NairaField is added without a line here.
NAIRA_FORMS = [
    (QuoteForm, "amount"),
    (ApproveForm, "amount"),
    (MemberProfileForm, "monthly_allowance"),
    (MemberProfileForm, "other_income"),
    (ContactForm, "promise_amount"),
    (PayForm, "amount"),
    (ManualPaymentForm, "amount"),
    (CreditRefundForm, "amount"),
]
NAIRA_FILTERS = [(ApplicationFilter, "amount_min"), (ApplicationFilter, "amount_max")]


def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


def test_every_form_and_filter_with_an_amount_is_attacked_here():
    import django_filters

    from loans.filters import NairaFilter

    forms_with_amounts = {
        (form, name)
        for form in _all_subclasses(forms.Form)
        if form.__module__.split(".")[0] in {"loans", "members", "payments", "arrears", "reports"}
        for name, field in form.base_fields.items()
        if isinstance(field, NairaField)
    }
    assert forms_with_amounts == set(NAIRA_FORMS)
    filters_with_amounts = {
        (filterset, name)
        for filterset in _all_subclasses(django_filters.FilterSet)
        if filterset.__module__.split(".")[0] != "django_filters"
        for name, f in filterset.base_filters.items()
        if isinstance(f, NairaFilter) or f.field_class is NairaField
    }
    assert filters_with_amounts == set(NAIRA_FILTERS)


@pytest.mark.parametrize(
    ("form_class", "name"), NAIRA_FORMS, ids=lambda v: getattr(v, "__name__", v)
)
@pytest.mark.parametrize(("text", "message"), CASES, ids=IDS)
def test_every_amount_field_refuses_a_hostile_amount_in_words(form_class, name, text, message):
    with pytest.raises(forms.ValidationError) as refused:
        form_class.base_fields[name].clean(text)
    assert message in " ".join(refused.value.messages)


@pytest.mark.parametrize(("filterset", "name"), NAIRA_FILTERS)
@pytest.mark.parametrize(("text", "message"), CASES, ids=IDS)
def test_every_amount_filter_refuses_a_hostile_amount_in_words(filterset, name, text, message):
    filters = filterset(data={name: text}, queryset=Application.objects.all())
    assert not filters.is_valid()
    assert message in " ".join(filters.errors[name])


@pytest.mark.parametrize(("text", "message"), CASES, ids=IDS)
def test_application_queue_filter_shows_the_amount_error_on_the_page(text, message):
    client = Client()
    client.force_login(make_officer())
    for name in ("amount_min", "amount_max"):
        response = client.get(reverse("loans:queue"), {name: text})
        assert response.status_code == 200
        assert message in " ".join(response.context["filter"].errors[name])
        assert message in response.content.decode()


# --- Back-office and member actions that post an amount ----------------------------------


@pytest.mark.parametrize(("text", "message"), CASES, ids=IDS)
def test_money_actions_refuse_a_hostile_amount_and_change_nothing(text, message):
    loan = factories.active_loan(member=_long_serving_member())
    finance, officer = make_finance(), make_officer()
    payments_before = Payment.objects.count()

    client = Client()
    client.force_login(finance)
    response = client.post(
        reverse("payments:manual_payment", args=[loan.reference]),
        with_form_token(
            {"amount": text, "reason": "Cash paid at the branch", "evidence": "RCPT-1"}
        ),
    )
    assert response.status_code == 302
    assert any(message in str(m) for m in get_messages(response.wsgi_request))

    client.force_login(officer)
    response = client.post(
        reverse("arrears:log_contact", args=[loan.reference]),
        {"channel": "call", "outcome": "promised", "promise_date": "2030-01-01"}
        | {"promise_amount": text},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not CollectionContact.objects.filter(loan=loan).exists()

    client.force_login(loan.member.user)
    response = client.post(
        reverse("payments:pay", args=[loan.reference]), with_form_token({"amount": text})
    )
    assert response.status_code == 200
    assert message in _amount_errors(response)
    assert Payment.objects.count() == payments_before


# --- Bank statement import -------------------------------------------------------------------


def _mapping():
    return ColumnMapping(
        bank_name="Attack Bank",
        date_column="Value Date",
        amount_column="Amount",
        narration_column="Narration",
        reference_column="Reference",
        date_format="%d/%m/%Y",
    )


def _statement(amount: str) -> bytes:
    return (
        "Value Date,Amount,Narration,Reference\n"
        "01/03/2026,1500.00,Transfer from Ada,LN1\n"
        f'02/03/2026,"{amount}",Transfer from Bola,LN2\n'
    ).encode()


@pytest.mark.parametrize(("text", "message"), CASES, ids=IDS)
def test_statement_import_names_the_line_with_a_hostile_amount(text, message):
    with pytest.raises(StatementError) as refused:
        parse_statement(_statement(text), "statement.csv", _mapping())
    error = str(refused.value.message)
    assert error.startswith("Row 3, column “Amount”:")
    assert message in error
    assert len(error) < 300  # the cell is quoted shortened, never repeated whole


@pytest.mark.parametrize("text", ["9e999997", "١٥٠٠٠٠", "1,0,0"])
def test_statement_upload_page_shows_the_line_error_and_imports_nothing(client, text):
    mapping = _mapping()
    mapping.save()
    client.force_login(make_finance())
    response = client.post(
        reverse("recon:upload"),
        {
            "mapping": mapping.pk,
            "file": SimpleUploadedFile("s.csv", _statement(text), content_type="text/csv"),
        },
    )
    assert response.status_code == 200
    assert "Row 3" in response.content.decode()
    assert HOSTILE[text] in response.content.decode()
    assert not StatementImport.objects.exists() and not StatementLine.objects.exists()


@pytest.mark.parametrize(
    ("cell", "kobo"),
    [
        ("1,500.00", 150_000),
        ("-1,500.00", -150_000),
        ("(1,500.00)", -150_000),
        ("1500 DR", -150_000),
        ("1500 CR", 150_000),
        ("1500-", -150_000),
        ("₦1,500", 150_000),
        ("NGN 1500.5", 150_050),
        ("N1500", 150_000),
        ("1.500,00", 150_000),
    ],
)
def test_statement_amounts_banks_write_are_still_read(cell, kobo):
    (line,) = parse_statement(
        f'Value Date,Amount,Narration,Reference\n01/03/2026,"{cell}",Transfer,LN1\n'.encode(),
        "statement.csv",
        _mapping(),
    )
    assert line.amount_kobo == kobo


# --- JSON API ------------------------------------------------------------------------------


def _api(user) -> Client:
    token = create_token(user=user, name="attack", scope="write", expires_in_days=None)[1]
    return Client(headers={"Authorization": f"Bearer {token}"})


def _assert_refused_in_json(response, message):
    if response.status_code == 413:  # a body past the API's cap is refused before parsing
        assert response.json()["error"]["code"] == "body_too_large"
        return
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert message in error["fields"]["amount"]


# The API takes the plain decimal string only ("150000.00"): a thousands separator is
# refused there as not being an amount, not as misplaced.
API_CASES = [(t, "Enter an amount" if m.startswith("a comma") else m) for t, m in CASES]


@pytest.mark.parametrize(("text", "message"), API_CASES, ids=IDS)
def test_api_quote_and_money_bodies_refuse_a_hostile_amount_with_a_422(text, message):
    member = _long_serving_member()
    prod = factories.product()
    response = Client().get(
        "/api/v1/quote", {"product": prod.pk, "amount": text, "tenure_months": 3}
    )
    _assert_refused_in_json(response, message)

    response = _api(member.user).post(
        "/api/v1/applications",
        {"product": prod.pk, "amount": text, "tenure_months": 3},
        content_type="application/json",
    )
    _assert_refused_in_json(response, message)
    assert not Application.objects.exists()

    loan = factories.active_loan(member=_long_serving_member())
    before = Payment.objects.count()
    response = _api(make_finance()).post(
        "/api/v1/payments",
        {"loan": loan.reference, "amount": text, "reason": "Cash at branch"},
        content_type="application/json",
        headers={"Idempotency-Key": f"attack-{abs(hash(text))}"},
    )
    _assert_refused_in_json(response, message)
    assert Payment.objects.count() == before


def test_api_approval_refuses_a_hostile_lower_amount():
    from tests.api.conftest import in_review

    application = in_review()
    response = _api(make_officer()).post(
        f"/api/v1/applications/{application.reference}/approve",
        {"amount": "9e999997"},
        content_type="application/json",
    )
    _assert_refused_in_json(response, "without an exponent")


@pytest.mark.parametrize("raw", ["1e999999", "9" * 5000, "NaN", "-1"])
def test_api_amount_sent_as_a_json_number_is_a_422(raw):
    member = _long_serving_member()
    prod = factories.product()
    response = _api(member.user).post(
        "/api/v1/applications",
        f'{{"product": {prod.pk}, "amount": {raw}, "tenure_months": 3}}',
        content_type="application/json",
    )
    assert response.status_code in (400, 422), response.content
    assert response.json()["error"]["code"] in ("validation_error", "malformed_json")


# --- What a payment provider sends ------------------------------------------------------------


@pytest.mark.parametrize(
    "amount", ["١٥٠٠٠٠", "9" * 5000, 10**400, "1e5", 1.5, True, -100, "150000.00", "1_000"]
)
def test_a_provider_amount_that_is_not_whole_kobo_is_no_amount(amount):
    notice = notice_from_payload(
        {"event": "charge.success", "data": {"id": 1, "reference": "PAY-1", "amount": amount}}
    )
    assert notice.amount is None
    assert as_kobo(amount) is None


def test_a_provider_amount_in_kobo_is_kept():
    assert as_kobo(150_000) == 150_000
    assert as_kobo("150000") == 150_000


# --- Never slow: no conversion of more digits than an amount has -------------------------


@pytest.mark.parametrize(("text", "message"), CASES, ids=IDS)
def test_no_hostile_amount_reaches_a_big_conversion(monkeypatch, text, message):
    """Instead of timing: ``int()`` inside the money module is watched, and may only ever see
    as many digits as an amount can have (the old code turned ``Decimal("9e999997") * 100``
    into an int of a million digits)."""
    real_int = int

    def watched_int(value, *args):
        if isinstance(value, Decimal):
            assert value.is_finite() and value.adjusted() <= MAX_NAIRA_DIGITS + 2, value
        elif isinstance(value, str):
            assert len(value) <= MAX_NAIRA_DIGITS + 2, len(value)
        return real_int(value, *args)

    monkeypatch.setattr(core.money, "int", watched_int, raising=False)
    with pytest.raises(MoneyError):
        parse_naira(text)
    form = QuoteForm(data={"amount": text})
    assert not form.is_valid() and "amount" in form.errors
    with pytest.raises(StatementError):
        parse_statement(_statement(text), "statement.csv", _mapping())
