"""The hot lists render rows straight from their shape (no model instances, no per-item
pydantic validation). Each list must still say exactly what the validated path would say:
the same JSON, byte for byte, and a body its response schema accepts."""

import json

import pytest
from ninja.responses import NinjaJSONEncoder

from api import presenters
from api.schemas import ApplicationPage, LoanPage, PaymentPage
from loans import services as loan_services
from loans.models import Application, Loan
from payments import services as payment_services
from payments.models import Payment
from tests.api.conftest import Api, in_review, token_for
from tests.factories import active_loan, make_officer

pytestmark = pytest.mark.django_db


def validated_json(page_schema, items) -> list:
    """What ninja's validated path renders for these items."""
    page = page_schema.model_validate({"items": items, "next_cursor": None})
    return json.loads(json.dumps(page.model_dump()["items"], cls=NinjaJSONEncoder))


@pytest.fixture
def book(finance):
    officer = make_officer()
    loan = active_loan(officer=officer)  # approved, disbursed: dates and amounts filled in
    rejected = in_review()
    loan_services.reject_application(
        application=rejected, actor=officer, reason="Allowance too low for this amount"
    )
    pending = in_review()  # nothing decided: the nullable fields are null
    payment_services.record_payment(
        loan=loan,
        amount=12_345_67,
        channel="transfer",
        reference="PAY-SHAPE-0001",
        provider="manual",
        actor=finance,
    )
    return {"loan": loan, "applications": [loan.application, rejected, pending]}


@pytest.mark.parametrize(
    ("path", "model", "page_schema", "present", "order"),
    [
        ("/applications", Application, ApplicationPage, presenters.application, ["product"]),
        ("/loans", Loan, LoanPage, presenters.loan, ["application"]),
        ("/payments", Payment, PaymentPage, presenters.payment, ["loan"]),
    ],
)
def test_list_is_what_the_validated_path_would_render(
    book, finance, path, model, page_schema, present, order
):
    response = Api(token_for(finance)).get(f"{path}?limit=200")
    assert response.status_code == 200
    body = response.json()
    page_schema.model_validate(body)  # the documented schema accepts it
    objects = model.objects.select_related(*order).order_by("-created_at", "-id")
    assert objects.exists()
    assert body["items"] == validated_json(page_schema, [present(o) for o in objects])


def test_nulls_amounts_and_times_are_rendered_as_documented(book, finance):
    items = Api(token_for(finance)).get("/applications").json()["items"]
    by_reference = {item["reference"]: item for item in items}
    approved, rejected, pending = (by_reference[a.reference] for a in book["applications"])
    assert approved["approved_amount"] == "60000.00"
    assert approved["amount"] == "60000.00"
    assert pending["approved_amount"] is None and pending["decided_at"] is None
    assert rejected["status"] == "rejected" and rejected["decided_at"].endswith("Z")
    payment = Api(token_for(finance)).get("/payments").json()["items"][0]
    assert payment == payment | {"amount": "12345.67", "loan": book["loan"].reference}


def test_cursor_pages_cover_every_row_once(finance):
    for _ in range(5):
        in_review()
    api = Api(token_for(finance))
    seen, cursor = [], None
    while True:
        response = api.get("/applications?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        assert response.status_code == 200
        page = response.json()
        seen += [item["reference"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    expected = list(
        Application.objects.order_by("-created_at", "-id").values_list("reference", flat=True)
    )
    assert seen == expected
