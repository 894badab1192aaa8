"""After the demo data and a round of real flows (sign-up with a BVN, a duplicate BVN
refused, a staff reveal, the member's data export, API calls, a repayment), neither a raw
dump of the database nor the log output holds any BVN in clear.

On PostgreSQL the dump is ``pg_dump`` run as a separate process; on SQLite the same check
reads the connection's SQL dump, so ``make test`` runs it too."""

import io
import json
import logging
import os
import re
import subprocess
from datetime import date

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.urls import reverse

from core.crypto import pii_cipher
from core.logging import JsonFormatter, RequestIdFilter
from members.models import Member
from members.validators import make_valid_nuban
from tests import factories
from tests.factories import MemberFactory, UserFactory, make_admin, make_finance
from tests.form_tokens import with_form_token
from tests.security.world import PASSWORD, reauthenticate

SIGN_UP_BVN = "22412345678"
DUPLICATE_TRY = SIGN_UP_BVN  # another member typing the same BVN


def _profile(bvn, phone, serial, account):
    return {
        "full_name": "Chiamaka Obi",
        "date_of_birth": "2000-05-17",
        "phone": phone,
        "bvn": bvn,
        "state_code": f"LA/25A/{serial}",
        "ppa_name": "Lagos State Ministry of Health",
        "monthly_allowance": "77,000",
        "bank_code": "058",
        "account_number": make_valid_nuban("058", account),
    }


def _run_flows(client):
    with override_settings(DEBUG=True):  # the demo seeder refuses production settings
        call_command("seed_demo", stdout=io.StringIO())

    # A member fills in the KYC profile with a BVN; another tries the same BVN.
    first = UserFactory()
    client.force_login(first)
    response = client.post(
        reverse("members:profile"), _profile(SIGN_UP_BVN, "0803 555 0101", "4321", "012345678")
    )
    assert response.status_code == 302
    second = UserFactory()
    client.force_login(second)
    response = client.post(
        reverse("members:profile"), _profile(DUPLICATE_TRY, "0803 555 0102", "4322", "012345679")
    )
    assert response.status_code == 200  # refused, the form shown again
    assert SIGN_UP_BVN not in response.content.decode()

    # An administrator reveals it (audited), the member exports their data.
    member = Member.objects.get(user=first)
    administrator = make_admin()
    reauthenticate(client, administrator)
    response = client.post(reverse("members:reveal_bvn", args=[member.pk]))
    assert SIGN_UP_BVN in response.content.decode()  # shown once, on purpose
    reauthenticate(client, first)
    export = client.get(reverse("privacy:export_my_data_json"))
    assert export.status_code == 200 and SIGN_UP_BVN not in export.content.decode()

    # Money moves: a loan, a manual repayment, API reads.
    loan = factories.active_loan(
        member=MemberFactory(bvn="22598765432", passing_out=date(2027, 12, 1))
    )
    finance = make_finance()
    client.force_login(finance)
    client.post(
        reverse("payments:manual_payment", args=[loan.reference]),
        with_form_token(
            {"amount": "5,000", "reason": "Cash paid at the branch", "evidence": "RCPT-1"}
        ),
    )
    client.force_login(loan.member.user)
    assert client.get("/api/v1/me").status_code == 200
    assert client.get(f"/api/v1/loans/{loan.reference}").status_code == 200
    assert client.post(reverse("account_login"), {"login": "x@y.ng", "password": PASSWORD})


def _raw_dump() -> str:
    if connection.vendor == "postgresql":
        settings = connection.settings_dict
        env = {**os.environ, "PGPASSWORD": settings.get("PASSWORD") or ""}
        result = subprocess.run(
            [
                "pg_dump",
                "--data-only",
                "-h",
                settings.get("HOST") or "127.0.0.1",
                "-p",
                str(settings.get("PORT") or 5432),
                "-U",
                settings.get("USER") or "postgres",
                settings["NAME"],
            ],
            capture_output=True,
            text=True,
            env=env,
            check=True,
            timeout=120,
        )
        return result.stdout
    connection.ensure_connection()
    return "\n".join(connection.connection.iterdump())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_database_dump_and_logs_hold_no_clear_bvn(client):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    raw_messages = []

    class Raw(logging.Handler):
        def emit(self, record):
            raw_messages.append(record.getMessage() + json.dumps(record.__dict__, default=str))

    root = logging.getLogger()
    raw = Raw()
    root.addHandler(handler)
    root.addHandler(raw)
    try:
        _run_flows(client)
    finally:
        root.removeHandler(handler)
        root.removeHandler(raw)

    cipher = pii_cipher()
    bvns = {
        cipher.decrypt(token)
        for token in Member.objects.exclude(bvn_encrypted="").values_list(
            "bvn_encrypted", flat=True
        )
    }
    assert SIGN_UP_BVN in bvns and len(bvns) >= 20  # the demo's members and ours

    dump = _raw_dump()
    assert "bvn_encrypted" in dump or "gAAAAA" in dump  # the members really are in it
    assert len(dump) > 10_000
    leaks = sorted(bvn for bvn in bvns if re.search(rf"(?<!\d){bvn}(?!\d)", dump))
    assert not leaks, f"BVNs in clear in the database dump: {leaks}"

    logs = stream.getvalue()
    assert logs  # something was logged
    assert not [bvn for bvn in bvns if bvn in logs], "BVN in the log output"
    # Not only redacted on the way out: our code never hands a BVN to the logger at all.
    assert not [bvn for bvn in bvns if any(bvn in message for message in raw_messages)]
