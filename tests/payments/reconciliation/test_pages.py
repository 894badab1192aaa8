"""The back-office pages: mappings, upload, the reconciliation screen and its HTMX row actions."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.models import AuditEvent
from payments.models import (
    ColumnMapping,
    LineStatus,
    Payment,
    PaymentStatus,
    StatementLine,
)
from tests.payments.reconciliation.builders import (
    FIXTURES,
    active_loan,
    do_import,
    nothing_written,
    signed_mapping,
    statement_csv,
    suggested_line,
    upload,
)

pytestmark = pytest.mark.django_db


def recon_urls(line_pk=1, mapping_pk=1):
    return [
        ("get", reverse("recon:lines")),
        ("get", reverse("recon:upload")),
        ("post", reverse("recon:upload")),
        ("get", reverse("recon:mappings")),
        ("get", reverse("recon:mapping_create")),
        ("post", reverse("recon:mapping_create")),
        ("get", reverse("recon:mapping_edit", args=[mapping_pk])),
        ("post", reverse("recon:confirm", args=[line_pk])),
        ("post", reverse("recon:rematch", args=[line_pk])),
        ("post", reverse("recon:ignore", args=[line_pk])),
    ]


@pytest.mark.parametrize("who", ["member", "officer"])
def test_member_and_officer_get_403_on_every_recon_url(client, finance, who, request):
    loan = active_loan()
    line = suggested_line(finance, loan)
    user = request.getfixturevalue(who)
    client.force_login(user.user if who == "member" else user)
    for method, url in recon_urls(line.pk, line.statement.mapping_id):
        response = getattr(client, method)(url, {"reason": "trying", "loan_reference": "X"})
        assert response.status_code == 403, (method, url)
    line.refresh_from_db()
    assert line.status == LineStatus.SUGGESTED
    assert Payment.objects.count() == 0


def test_anonymous_visitors_are_sent_to_sign_in(client):
    for method, url in recon_urls():
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_reconciliation_screen_groups_lines_and_shows_totals(client, finance):
    loan = active_loan()
    content = statement_csv(
        (date(2025, 3, 3), "5,000.00", f"TRF {loan.reference}"),
        (date(2025, 3, 4), "2,000.00", "UNKNOWN DEPOSIT"),
    )
    do_import(content, actor=finance)
    client.force_login(finance)
    response = client.get(reverse("recon:lines"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Suggested matches" in html and "Unmatched" in html and "Matched (confirmed)" in html
    assert f"Confirm ₦5,000.00 to {loan.reference}" in html
    assert 'id="recon-totals"' in html and "₦7,000.00" in html
    assert response["Vary"] and "HX-Request" in response["Vary"]

    filtered = client.get(
        reverse("recon:lines"), {"status": "unmatched"}, headers={"HX-Request": "true"}
    )
    body = filtered.content.decode()
    assert "<html" not in body and 'id="recon-results"' in body
    assert "UNKNOWN DEPOSIT" in body and f"TRF {loan.reference}" not in body


def test_reconciliation_screen_query_count_stays_flat(client, finance):
    loan = active_loan()
    client.force_login(finance)
    mapping = signed_mapping()

    def queries_for(count, start):
        rows = [
            (date(2025, 3, 3), f"{start + i}.00", f"TRF {loan.reference}") for i in range(count)
        ]
        do_import(statement_csv(*rows), mapping=mapping, actor=finance)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("recon:lines"), {"statement": "all"}).status_code == 200
        return len(ctx.captured_queries)

    assert queries_for(2, 100) == queries_for(20, 200)


def test_htmx_confirm_returns_only_the_row_and_the_totals_out_of_band(client, finance):
    loan = active_loan()
    line = suggested_line(finance, loan, amount=5_000_00)
    client.force_login(finance)
    response = client.post(
        reverse("recon:confirm", args=[line.pk]),
        {"statement": str(line.statement_id), "next": "/x"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith(f'<tr id="line-{line.pk}">')
    assert "<html" not in body and "<nav" not in body
    assert "Matched (confirmed)" in body
    assert 'id="recon-totals"' in body and 'hx-swap-oob="true"' in body
    assert Payment.objects.filter(status=PaymentStatus.SUCCESSFUL).count() == 1

    again = client.post(
        reverse("recon:confirm", args=[line.pk]), {}, headers={"HX-Request": "true"}
    )
    assert again.status_code == 200
    assert "already matched" in again.content.decode()
    assert Payment.objects.count() == 1


def test_htmx_ignore_without_a_reason_shows_the_error_in_the_row(client, finance):
    do_import(statement_csv((date(2025, 3, 3), "100.00", "UNKNOWN")), actor=finance)
    line = StatementLine.objects.get()
    client.force_login(finance)
    response = client.post(
        reverse("recon:ignore", args=[line.pk]), {"reason": "no"}, headers={"HX-Request": "true"}
    )
    assert 'role="alert"' in response.content.decode()
    line.refresh_from_db()
    assert line.status == LineStatus.UNMATCHED


def test_without_javascript_actions_redirect_back_with_a_message(client, finance):
    do_import(statement_csv((date(2025, 3, 3), "100.00", "UNKNOWN")), actor=finance)
    line = StatementLine.objects.get()
    client.force_login(finance)
    back = reverse("recon:lines") + "?status=unmatched"
    response = client.post(
        reverse("recon:ignore", args=[line.pk]),
        {"reason": "Refund to sender", "next": back},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == back
    assert "ignored" in response.content.decode()
    offsite = client.post(
        reverse("recon:rematch", args=[line.pk]),
        {"loan_reference": "LNNOTREAL1", "next": "https://evil.example/"},
    )
    assert offsite["Location"] == reverse("recon:lines")


def test_upload_page_imports_and_shows_the_counts(client, finance):
    mapping = signed_mapping()
    client.force_login(finance)
    content = (FIXTURES / "statement_signed.csv").read_bytes()
    client.post(reverse("recon:upload"), {"mapping": mapping.pk, "file": upload(content)})
    response = client.post(
        reverse("recon:upload"), {"mapping": mapping.pk, "file": upload(content)}, follow=True
    )
    html = response.content.decode()
    assert "4 lines, 0 new, 4 already imported" in html
    assert StatementLine.objects.count() == 4


def test_upload_page_shows_a_malformed_file_error(client, finance):
    mapping = signed_mapping()
    client.force_login(finance)
    content = (FIXTURES / "statement_bad_date.csv").read_bytes()
    response = client.post(
        reverse("recon:upload"), {"mapping": mapping.pk, "file": upload(content)}
    )
    assert response.status_code == 200
    assert "Row 3" in response.content.decode()
    assert nothing_written()


def test_finance_creates_and_edits_a_column_mapping(client, finance):
    client.force_login(finance)
    data = {
        "bank_name": "First Bank",
        "date_column": "Date",
        "credit_column": "Credit",
        "debit_column": "Debit",
        "narration_column": "Details",
        "date_format": "%d-%b-%Y",
    }
    response = client.post(reverse("recon:mapping_create"), data)
    assert response.status_code == 302
    mapping = ColumnMapping.objects.get(bank_name="First Bank")
    response = client.post(
        reverse("recon:mapping_edit", args=[mapping.pk]), {**data, "narration_column": "Narrative"}
    )
    mapping.refresh_from_db()
    assert mapping.narration_column == "Narrative"
    assert AuditEvent.objects.filter(action="column_mapping.changed").exists()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"amount_column": "Amount"}, "not both"),
        ({"credit_column": "", "debit_column": ""}, "signed amount column, or the credit"),
        ({"date_format": "dd/mm/yyyy"}, "Not a full date format"),
    ],
)
def test_a_mapping_that_cannot_work_is_refused(client, finance, change, message):
    client.force_login(finance)
    data = {
        "bank_name": "First Bank",
        "date_column": "Date",
        "credit_column": "Credit",
        "debit_column": "Debit",
        "narration_column": "Details",
        "date_format": "%d/%m/%Y",
    }
    response = client.post(reverse("recon:mapping_create"), {**data, **change})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ColumnMapping.objects.exists()
