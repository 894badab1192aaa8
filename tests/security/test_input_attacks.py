"""Hostile input: script in every text staff later read, SQL-meaningful search strings, open
redirects through ``next``, oversized bodies, polyglot uploads and spreadsheet formulas."""

import csv
import io
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from arrears import services as arrears_services
from loans import services as loan_services
from members import services as member_services
from members.models import KycStatus, MemberDocument
from payments.reconciliation.services import import_statement
from tests.security.world import PASSWORD, PNG, build_world, reauthenticate

pytestmark = pytest.mark.django_db


def xss(n):
    return f'<script>alert("xss{n}")</script><img src=x onerror=alert({n})>'


def _escaped(n):
    return f"&lt;script&gt;alert(&quot;xss{n}&quot;)&lt;/script&gt;"


def _assert_escaped(html: str, n: int, where: str):
    assert f'<script>alert("xss{n}")' not in html, f"payload {n} runs on {where}"
    assert f"<img src=x onerror=alert({n})>" not in html, f"payload {n} runs on {where}"
    assert _escaped(n) in html, f"payload {n} is not shown (escaped) on {where}"


FILE_NAME_XSS = "<img src=x onerror=alert(2)>.png"


def test_script_in_every_text_staff_read_is_shown_escaped(client):
    w = build_world()
    a = w.member_a
    # 1 name, 2 document file name, 3 officer note, 4 statement narration, 5 contact note,
    # 6 write-off reason, 7 KYC rejection reason (the member reads it), 8 manual payment reason
    a.full_name = xss(1)
    a.kyc_status = KycStatus.INCOMPLETE
    a.save()
    member_services.upload_document(
        member=a,
        actor=a.user,
        kind="call_up_letter",
        # A file name keeps nothing before its last "/", so this payload has none.
        uploaded_file=SimpleUploadedFile(FILE_NAME_XSS, PNG, content_type="image/png"),
    )
    a.kyc_status = KycStatus.VERIFIED
    a.save()
    loan_services.add_note(application=w.application, actor=w.officer, text=xss(3))
    narration = f"Transfer {xss(4)}"
    statement = (
        "Value Date,Amount,Narration,Reference\n"
        f'{date.today():%d/%m/%Y},1200.00,"{narration.replace(chr(34), chr(34) * 2)}",XREF9\n'
    ).encode()
    import_statement(
        mapping=w.mapping,
        uploaded_file=SimpleUploadedFile("s.csv", statement, content_type="text/csv"),
        actor=w.finance,
    )
    arrears_services.log_contact(
        loan=w.loan, actor=w.officer, channel="call", outcome="reached", note=xss(5)
    )
    arrears_services.request_write_off(loan=w.loan, actor=w.officer, reason=xss(6) + " pad")

    pages = {
        w.officer: [
            (reverse("members:staff_list"), [1]),
            (reverse("members:staff_detail", args=[a.pk]), [1]),
            (reverse("loans:staff_application", args=[w.application.reference]), [1, 3]),
            (reverse("arrears:loan", args=[w.loan.reference]), [1, 5, 6]),
        ],
        w.finance: [
            (reverse("recon:lines"), [4]),
            (reverse("payments:staff_loan", args=[w.loan.reference]), [1]),
        ],
    }
    for user, urls in pages.items():
        client.force_login(user)
        for url, payloads in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            html = response.content.decode()
            for n in payloads:
                _assert_escaped(html, n, url)
            # HTMX partials go through the same escaping.
            partial = client.get(url, headers={"HX-Request": "true"}).content.decode()
            assert "<script>alert(" not in partial

    # The file name is only shown in the admin (administrators).
    document = MemberDocument.objects.get(member=a, kind="call_up_letter")
    client.force_login(w.administrator)
    html = client.get(
        reverse("admin:members_memberdocument_change", args=[document.pk])
    ).content.decode()
    assert "<img src=x onerror" not in html and "&lt;img src=x onerror=alert(2)&gt;" in html

    # The member reads the officer's rejection reason.
    a.kyc_status = KycStatus.SUBMITTED
    a.save()
    member_services.reject_kyc(member=a, actor=w.officer, reason=xss(7))
    client.force_login(a.user)
    _assert_escaped(client.get(reverse("members:profile")).content.decode(), 7, "profile")


SQL_STRINGS = [
    "' OR '1'='1",
    "'; DROP TABLE members_member; --",
    '" OR 1=1 --',
    "%",
    "_",
    "\\",
    "1) OR (1=1",
    "LN%' UNION SELECT email FROM members_user --",
    "a\x00b",
    "é" * 500,
]


@pytest.mark.parametrize("payload", SQL_STRINGS)
def test_sql_meaningful_search_strings_are_plain_text(client, payload):
    w = build_world()
    searches = [
        (w.officer, reverse("members:staff_list"), "q"),
        (w.officer, reverse("loans:queue"), "q"),
        (w.officer, reverse("arrears:worklist"), "q"),
        (w.officer, reverse("portal:audit_list") if False else reverse("audit_list"), "q"),
        (w.finance, reverse("payments:disbursement_queue"), "q"),
        (w.finance, reverse("recon:lines"), "q"),
    ]
    for user, url, name in searches:
        client.force_login(user)
        for extra in ({}, {"kyc_status": payload}, {"status": payload}, {"ordering": payload}):
            response = client.get(url, {name: payload, **extra})
            assert response.status_code in (200, 400), (url, payload, response.status_code)
            html = response.content.decode()
            if "\x00" not in payload:
                # Nothing matches these strings, so nobody's name comes back. (A NUL byte
                # makes the filter form invalid: the list is shown unfiltered, as for any
                # invalid filter, without reaching the database with it.)
                assert w.member_b.full_name not in html, (url, payload)
    from tests.api.conftest import Api, token_for

    api = Api(token_for(w.officer))
    for path in ("/applications", "/loans", "/payments"):
        response = api.get(path, data={"q": payload, "status": payload})
        # A NUL byte anywhere in the address is a 400 (core.middleware.NulByteMiddleware).
        expected = (400,) if "\x00" in payload else (200, 422)
        assert response.status_code in expected, (path, payload, response.status_code)
        if response.status_code == 200:
            assert response.json()["items"] == []


EVIL_NEXT = [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example/",
    "https:evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
]


@pytest.mark.parametrize("target", EVIL_NEXT)
def test_next_never_sends_anyone_to_another_site(client, target):
    w = build_world()
    response = client.post(
        f"{reverse('account_login')}?next={target}",
        {"login": w.member_a.user.email, "password": PASSWORD, "next": target},
    )
    assert response.status_code == 302
    assert "evil.example" not in response["Location"] and "javascript" not in response["Location"]

    client.force_login(w.finance)
    response = client.post(
        f"{reverse('account_reauthenticate')}?next={target}",
        {"password": PASSWORD, "next": target},
    )
    assert response.status_code == 302
    assert "evil.example" not in response["Location"] and "javascript" not in response["Location"]


def test_oversized_and_overstuffed_form_posts_are_a_400(client):
    w = build_world()
    client.force_login(w.member_a.user)
    url = reverse("members:profile_validate")
    big = client.post(url, {"full_name": "x" * (7 * 1024 * 1024)})
    assert big.status_code == 400
    many = client.post(url, {f"f{i}": "1" for i in range(1500)})
    assert many.status_code == 400


HTML = b"<html><script>alert(document.cookie)</script></html>"
POLYGLOTS = {
    "gif-html.gif": b"GIF89a/*\x00\x00" + HTML,
    "html.png.html": HTML,
    "svg.png": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
}


@pytest.mark.parametrize("name", POLYGLOTS)
def test_polyglot_and_disguised_uploads_are_refused(client, name):
    w = build_world()
    a = w.member_a
    a.kyc_status = KycStatus.INCOMPLETE
    a.save()
    client.force_login(a.user)
    before = MemberDocument.objects.count()
    client.post(
        reverse("members:upload_document"),
        {"kind": "call_up_letter", "file": SimpleUploadedFile(name, POLYGLOTS[name])},
    )
    assert MemberDocument.objects.count() == before


@pytest.mark.parametrize(
    "name, content, content_type",
    [
        ("png-html.png", PNG + HTML, "image/png"),
        (
            "pdf-js.pdf",
            b"%PDF-1.4\n1 0 obj<</OpenAction<</S/JavaScript/JS(app.alert(1))>>>>"
            b"endobj\n" + HTML + b"\n%%EOF\n",
            "application/pdf",
        ),
    ],
)
def test_files_that_pass_the_type_check_are_served_as_inert_attachments(
    client, name, content, content_type
):
    """A valid image or PDF may still carry HTML or script inside: it is only ever served as a
    download with its checked type, nosniff, and a CSP that runs nothing."""
    w = build_world()
    a = w.member_a
    a.kyc_status = KycStatus.INCOMPLETE
    a.save()
    client.force_login(a.user)
    client.post(
        reverse("members:upload_document"),
        {"kind": "call_up_letter", "file": SimpleUploadedFile(name, content)},
    )
    document = MemberDocument.objects.filter(member=a, kind="call_up_letter").get()
    assert document.content_type == content_type
    for user in (a.user, w.officer):
        client.force_login(user)
        response = client.get(reverse("members:document", args=[document.pk]))
        assert response.status_code == 200
        assert response["Content-Type"] == content_type
        assert response["Content-Disposition"].startswith("attachment;")
        assert name not in response["Content-Disposition"]  # our name, not the uploaded one
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "script-src 'self'" in response.get("Content-Security-Policy", "script-src 'self'")


FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1"]


def test_member_export_and_statement_csv_neutralise_formulas(client):
    w = build_world()
    a = w.member_a
    a.full_name = FORMULAS[0]
    a.ppa_name = FORMULAS[1]
    a.save()
    reauthenticate(client, a.user)
    response = client.get(reverse("privacy:export_my_data_csv"))
    assert response.status_code == 200
    cells = [cell for row in csv.reader(io.StringIO(response.content.decode())) for cell in row]
    assert FORMULAS[0] not in cells and "'" + FORMULAS[0] in cells
    assert "'" + FORMULAS[1] in cells
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]

    response = client.get(reverse("payments:statement_csv", args=[w.loan.reference]))
    cells = [cell for row in csv.reader(io.StringIO(response.content.decode())) for cell in row]
    assert cells and not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
