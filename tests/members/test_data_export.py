"""A member downloads everything we hold about them; a loan statement downloads as CSV."""

import csv
import io
import json

import pytest
from django.urls import reverse

from core.models import AuditEvent
from payments import services as payment_services
from tests import factories
from tests.factories import MemberFactory, make_finance, make_officer

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"


def reauthenticated(client, user):
    client.force_login(user)
    response = client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert response.status_code == 302


def test_member_exports_own_data_as_json_and_csv_after_reauthentication(client):
    loan = factories.active_loan()
    member = loan.member
    payment_services.record_manual_payment(
        loan=loan, actor=make_finance(), amount=10_000_00, reason="Paid at the branch"
    )
    other = factories.active_loan()  # someone else's loan must not appear
    url = reverse("privacy:export_my_data_json")

    client.force_login(member.user)
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/reauthenticate/" in response["Location"]

    reauthenticated(client, member.user)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]
    data = json.loads(response.content)
    assert data["account"]["email"] == member.user.email
    assert data["profile"]["full_name"] == member.full_name
    # Masked: the last four digits only.
    assert data["profile"]["bvn"] == member.bvn_masked
    assert member.bvn_last4 in data["profile"]["bvn"] and len(member.bvn_last4) == 4
    assert [x["reference"] for x in data["loans"]] == [loan.reference]
    assert [p["amount"] for p in data["payments"]] == ["10000.00"]
    assert data["applications"][0]["consent"]["key_facts_hash"]
    body = response.content.decode()
    assert other.reference not in body and other.member.full_name not in body

    response = client.get(reverse("privacy:export_my_data_csv"))
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["field", "value"]
    assert ["profile.full_name", member.full_name] in rows
    assert ["loans[0].reference", loan.reference] in rows
    assert AuditEvent.objects.filter(action="member.data_exported").count() == 2


def test_export_cells_that_look_like_formulas_are_neutralised(client):
    member = MemberFactory(full_name='=HYPERLINK("http://evil")')
    reauthenticated(client, member.user)
    rows = list(
        csv.reader(io.StringIO(client.get(reverse("privacy:export_my_data_csv")).content.decode()))
    )
    assert ["profile.full_name", '\'=HYPERLINK("http://evil")'] in rows


def test_anonymous_and_staff_without_a_member_profile_get_no_export(client):
    response = client.get(reverse("privacy:export_my_data_json"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    reauthenticated(client, make_officer())
    assert client.get(reverse("privacy:export_my_data_json")).status_code in (403, 404)


def test_statement_lists_installments_and_payments_for_the_owner_and_staff_only(client):
    loan = factories.active_loan()
    payment_services.record_manual_payment(
        loan=loan, actor=make_finance(), amount=5_000_00, reason="Paid at the branch"
    )
    url = reverse("payments:statement_csv", args=[loan.reference])

    client.force_login(loan.member.user)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["type", "date", "reference"]
    kinds = [row[0] for row in rows[1:]]
    assert kinds.count("installment") == loan.installments.count()
    assert kinds.count("payment") == 1
    payment_row = next(row for row in rows if row[0] == "payment")
    assert payment_row[5] == "5000.00"
    assert not AuditEvent.objects.filter(action="loan.statement_downloaded").exists()

    intruder = factories.active_loan().member
    client.force_login(intruder.user)
    assert client.get(url).status_code == 404

    client.force_login(make_finance())
    assert client.get(url).status_code == 200
    assert AuditEvent.objects.filter(action="loan.statement_downloaded").count() == 1
