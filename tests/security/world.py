"""One small lending book with two members, built through the real services, that the
security tests attack: member A owns every object; member B owns a loan of their own."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from api.services import create_token
from arrears import services as arrears_services
from members import services as member_services
from members.models import KycStatus
from payments import services as payment_services
from payments.models import ColumnMapping
from payments.reconciliation.services import import_statement
from reports.services import generate_daily_report
from servicing.services.waivers import request_waiver
from tests import factories
from tests.factories import MemberFactory, make_admin, make_finance, make_officer

PASSWORD = "correct-horse-battery"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
# The order of the columns of every access rule.
ROLES = ("anonymous", "member_a", "member_b", "officer", "finance", "administrator")


@dataclass
class World:
    member_a: object
    member_b: object
    officer: object
    finance: object
    administrator: object
    loan: object  # member A's active loan
    application: object  # member A's application (of that loan)
    document: object
    payment: object
    checkout: object  # member A's pending checkout payment
    token: object  # member A's API token (the row)
    token_value: str
    statement_line: object
    mapping: object
    allowance_delay: object
    write_off: object
    report_day: date
    loan_b: object = None
    waiver: object = None  # a waiver of member A's interest waiting for a second person
    restructure: object = None  # an offer of new terms on member A's loan, not yet accepted

    def user(self, role):
        if role == "anonymous":
            return None
        if role.startswith("member_"):
            return getattr(self, role).user
        return getattr(self, role)

    def client(self, role) -> Client:
        client = Client()
        user = self.user(role)
        if user is not None:
            client.force_login(user)
        return client


def reauthenticate(client, user):
    """Money decisions and personal data ask for the password again (allauth)."""
    client.force_login(user)
    response = client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert response.status_code == 302, response.content


def build_world() -> World:
    officer, finance, administrator = make_officer(), make_finance(), make_admin()
    member_a = MemberFactory(
        full_name="Amaka Adeyemi", passing_out=date(2027, 12, 1), monthly_allowance=300_000_00
    )
    member_b = MemberFactory(
        full_name="Bola Bello", passing_out=date(2027, 12, 1), monthly_allowance=300_000_00
    )
    # Documents are uploaded while KYC is still open, then KYC is verified.
    member_a.kyc_status = KycStatus.INCOMPLETE
    member_a.save(update_fields=["kyc_status"])
    document = member_services.upload_document(
        member=member_a,
        actor=member_a.user,
        kind="id_card",
        uploaded_file=SimpleUploadedFile("id.png", PNG, content_type="image/png"),
    )
    member_a.kyc_status = KycStatus.VERIFIED
    member_a.save(update_fields=["kyc_status"])
    loan = factories.active_loan(member=member_a, officer=officer)
    loan_b = factories.active_loan(member=member_b, officer=officer)
    payment = payment_services.record_manual_payment(
        loan=loan, actor=finance, amount=5_000_00, reason="Cash paid at the branch"
    )
    checkout, _ = payment_services.start_checkout(
        loan=loan, actor=member_a.user, amount=1_000_00, callback_url="http://testserver/"
    )
    token, token_value = create_token(
        user=member_a.user, name="laptop", scope="write", expires_in_days=None
    )
    mapping, _ = ColumnMapping.objects.get_or_create(
        bank_name="GTBank",
        defaults=dict(
            date_column="Value Date",
            amount_column="Amount",
            narration_column="Narration",
            reference_column="Reference",
            date_format="%d/%m/%Y",
        ),
    )
    today = date.today()
    csv = (
        "Value Date,Amount,Narration,Reference\n"
        f"{today:%d/%m/%Y},2500.00,Transfer from {member_a.full_name},{loan.reference}\n"
    ).encode()
    statement = import_statement(
        mapping=mapping,
        uploaded_file=SimpleUploadedFile("statement.csv", csv, content_type="text/csv"),
        actor=finance,
    )
    delay = arrears_services.set_allowance_delay(
        actor=finance,
        starts_on=today + timedelta(days=30),
        ends_on=today + timedelta(days=40),
        reason="Allowance for the batch is late this month",
    )
    write_off = arrears_services.request_write_off(
        loan=loan_b, actor=officer, reason="Member passed away; family informed us."
    )
    waiver = request_waiver(
        loan=loan,
        actor=officer,
        component="interest",
        amount=5_500_00,
        reason="Goodwill after the allowance came three weeks late.",
    )
    from servicing.services.restructure import propose_restructure

    restructure = propose_restructure(
        loan=loan,
        actor=officer,
        new_installments=1,
        holiday_months=0,
        treatment="waive",
        reason="The member's allowance stopped for two months.",
    )
    # A row for every model of the admin, so each admin page is checked on a real object.
    from allauth.mfa.models import Authenticator

    from api.models import IdempotencyKey
    from arrears.overdue import run_overdue
    from loans import services as loan_services

    Authenticator.objects.create(user=member_b.user, type="totp", data={"secret": "JBSWY3DP"})
    from members.role_changes import request_role_change
    from members.roles import FINANCE

    request_role_change(
        user=officer,
        role=FINANCE,
        kind="grant",
        actor=administrator,
        reason="Covers the finance desk while the team is short.",
    )
    loan_services.add_note(application=loan.application, actor=officer, text="Called the PPA.")
    arrears_services.log_contact(
        loan=loan, actor=officer, channel="call", outcome="reached", note="Will pay on the 27th"
    )
    run_overdue(run_date=today)
    IdempotencyKey.objects.create(
        user=finance,
        key="k-1",
        request_hash="0" * 64,
        method="POST",
        path="/api/v1/payments",
        response_status=201,
        response_body={},
    )
    from privacy.deletion import request_deletion

    request_deletion(member=member_b, actor=member_b.user)
    from core.form_tokens import new_token
    from core.models import FormSubmission

    # A money form submitted once (its one-time token, issue 15 M5).
    FormSubmission.objects.create(
        user=finance, token=new_token(), path=f"/backoffice/loans/{loan.reference}/payments/"
    )
    report_day = today - timedelta(days=1)
    generate_daily_report(report_date=report_day)
    loan.refresh_from_db()
    return World(
        member_a=member_a,
        member_b=member_b,
        officer=officer,
        finance=finance,
        administrator=administrator,
        loan=loan,
        application=loan.application,
        document=document,
        payment=payment,
        checkout=checkout,
        token=token,
        token_value=token_value,
        statement_line=statement.lines.first(),
        mapping=mapping,
        allowance_delay=delay,
        write_off=write_off,
        report_day=report_day,
        loan_b=loan_b,
        waiver=waiver,
        restructure=restructure,
    )
