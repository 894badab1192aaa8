"""seed_scale: realistic fake data, valid by the product's own rules, re-runnable."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from core.crypto import bvn_blind_index, pii_cipher
from core.models import AuditEvent
from devdata import scale_seed
from loans.models import Application, Installment, Loan
from members.models import Member, User
from members.validators import normalise_phone, parse_state_code, validate_nuban
from payments.models import Payment, WebhookEvent

pytestmark = pytest.mark.django_db


def seed(members, **options):
    out = StringIO()
    call_command(
        "seed_scale", members=members, batch_size=10, no_progress=True, stdout=out, **options
    )
    return out.getvalue()


def test_seeded_members_pass_the_products_own_validation():
    seed(40)
    members = list(Member.objects.filter(user__email__endswith=scale_seed.EMAIL_DOMAIN))
    assert len(members) == 40
    assert len({m.deployment_state for m in members}) > 5
    for member in members:
        assert normalise_phone(member.phone) == member.phone
        code = parse_state_code(member.state_code)
        assert code.state == member.deployment_state
        if member.bvn_hash:
            bvn = pii_cipher().decrypt(member.bvn_encrypted)
            assert len(bvn) == 11 and bvn_blind_index(bvn) == member.bvn_hash
            assert bvn.endswith(member.bvn_last4)
            validate_nuban(member.account_number, member.bank_code)


def test_money_is_consistent_kobo_and_schedules_add_up():
    seed(60)
    loans = Loan.objects.filter(reference__startswith="LS")
    assert loans.exists() and Installment.objects.exists() and Payment.objects.exists()
    for loan in loans[:30]:
        installments = list(loan.installments.all())
        assert len(installments) == loan.tenure_months
        assert sum(i.principal for i in installments) == loan.principal
        assert sum(i.principal + i.interest + i.fee for i in installments) == (loan.total_repayable)
        if loan.status == "closed":
            assert all(i.status == "paid" for i in installments)
    for payment in Payment.objects.filter(status="successful")[:30]:
        assert isinstance(payment.amount, int) and payment.amount > 0
    checkout = Payment.objects.filter(channel="checkout").count()
    assert WebhookEvent.objects.count() == checkout
    # at most one open application per member, as the database constraint demands
    assert Application.objects.filter(status__in=["draft", "submitted", "in_review"]).count() <= 60


def test_a_second_run_adds_nothing_and_a_larger_run_adds_only_the_rest():
    first = seed(20)
    counts = (User.objects.count(), Application.objects.count(), AuditEvent.objects.count())
    again = seed(20)
    assert "0 batches (2 already present)" in again and "seeded 0 rows" in again
    assert (User.objects.count(), Application.objects.count(), AuditEvent.objects.count()) == (
        counts
    )
    seed(30)
    assert Member.objects.filter(user__email__endswith=scale_seed.EMAIL_DOMAIN).count() == 30
    assert "2 batches (0 already present)" in first


@pytest.mark.postgres
def test_copy_is_measured_against_bulk_create_on_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    out = seed(10, compare=200)
    assert "bulk_create" in out and "COPY is" in out
    assert User.objects.filter(email__startswith="corper9").count() == 0  # rolled back
