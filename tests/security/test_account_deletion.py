"""A member asks for deletion, an administrator approves, and after the retention period the
member's personal data is anonymised while the loans, payments and ledger stay intact."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils import timezone

from core.errors import Conflict, NotAllowed
from core.models import AuditEvent
from ledger.models import JournalEntry
from ledger.selectors import loan_balance, trial_balance
from loans.models import Loan, LoanStatus
from members.models import DeletionRequest, DeletionStatus, Member
from payments import services
from payments.models import Payment
from privacy.deletion import anonymise_due, approve_deletion, reject_deletion, request_deletion
from tests.factories import MemberFactory, active_loan, make_admin, make_finance, make_officer
from tests.security.world import PASSWORD

pytestmark = pytest.mark.django_db


def _repaid_loan():
    loan = active_loan()
    services.record_manual_payment(
        loan=loan,
        actor=make_finance(),
        amount=loan_balance(loan),
        reason="Paid in full at the branch",
    )
    loan.refresh_from_db()
    assert loan.status == LoanStatus.CLOSED
    return loan


def test_member_asks_admin_approves_and_pii_is_anonymised_after_retention(client, settings):
    settings.MEMBER_DATA_RETENTION_DAYS = 30
    loan = _repaid_loan()
    member = loan.member
    email, bvn_hash = member.user.email, member.bvn_hash
    books = (
        trial_balance(),
        list(Payment.objects.filter(loan=loan).values_list("pk", "amount", "status")),
        JournalEntry.objects.count(),
    )

    client.force_login(member.user)
    assert "Ask to delete my account" in client.get(reverse("members:profile")).content.decode()
    response = client.post(reverse("privacy:request_deletion"), follow=True)
    assert "We have your request" in response.content.decode()
    deletion = DeletionRequest.objects.get(member=member)
    assert deletion.status == DeletionStatus.REQUESTED
    # Asking twice makes one request.
    client.post(reverse("privacy:request_deletion"))
    assert DeletionRequest.objects.filter(member=member).count() == 1

    # Administrators approve through the admin action; officers may not.
    with pytest.raises(NotAllowed):
        approve_deletion(deletion=deletion, actor=make_officer())
    administrator = make_admin()
    client.force_login(administrator)
    changelist = reverse("admin:members_deletionrequest_changelist")
    client.post(changelist, {"action": "approve", "_selected_action": [deletion.pk]})
    deletion.refresh_from_db()
    assert deletion.status == DeletionStatus.APPROVED
    assert deletion.decided_by == administrator

    # Not yet due: nothing happens.
    assert anonymise_due() == 0
    assert Member.objects.get(pk=member.pk).bvn_hash == bvn_hash

    import io

    import time_machine

    out = io.StringIO()
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        call_command("anonymise_due_members", stdout=out)
    assert out.getvalue().strip() == "1 members anonymised"
    member.refresh_from_db()
    member.user.refresh_from_db()
    assert member.full_name == f"Deleted member {member.pk}"
    assert member.phone is None and member.bvn_hash is None and member.bvn_encrypted == ""
    assert member.state_code is None and member.account_number == ""
    assert member.user.email != email and not member.user.is_active
    assert not member.user.has_usable_password()
    assert member.documents.exclude(file="").count() == 0
    deletion.refresh_from_db()
    assert deletion.status == DeletionStatus.COMPLETED

    # The books are untouched and still point at the (anonymised) member.
    assert Loan.objects.get(pk=loan.pk).member_id == member.pk
    assert (
        trial_balance(),
        list(Payment.objects.filter(loan=loan).values_list("pk", "amount", "status")),
        JournalEntry.objects.count(),
    ) == books
    assert set(
        AuditEvent.objects.filter(object_type="members.deletionrequest").values_list(
            "action", flat=True
        )
    ) == {"member.deletion_requested", "member.deletion_approved", "member.anonymised"}

    # The old login no longer works and the old session is gone.
    client.logout()
    client.post(reverse("account_login"), {"login": email, "password": PASSWORD})
    assert "_auth_user_id" not in client.session


def test_a_member_with_money_still_owed_cannot_be_approved_for_deletion():
    loan = active_loan()
    deletion = request_deletion(member=loan.member, actor=loan.member.user)
    with pytest.raises(Conflict, match="not repaid"):
        approve_deletion(deletion=deletion, actor=make_admin())
    deletion.refresh_from_db()
    assert deletion.status == DeletionStatus.REQUESTED


def test_nobody_asks_on_a_members_behalf_and_rejection_needs_a_reason():
    member = MemberFactory()
    with pytest.raises(NotAllowed):
        request_deletion(member=member, actor=make_admin())
    deletion = request_deletion(member=member, actor=member.user)
    with pytest.raises(Exception, match="reason"):
        reject_deletion(deletion=deletion, actor=make_admin(), note="")
    reject_deletion(deletion=deletion, actor=make_admin(), note="Fraud investigation open.")
    deletion.refresh_from_db()
    assert deletion.status == DeletionStatus.REJECTED
    assert anonymise_due(now=timezone.now() + timedelta(days=10_000)) == 0
    assert Member.objects.get(pk=member.pk).full_name == member.full_name


def test_a_member_row_with_loans_cannot_be_deleted_by_cascade():
    loan = active_loan()
    with pytest.raises(ProtectedError):
        loan.member.delete()
    with pytest.raises(ProtectedError):
        loan.member.user.delete()


def test_an_anonymised_members_api_tokens_stop_working(client, settings):
    from api.services import create_token

    settings.MEMBER_DATA_RETENTION_DAYS = 0
    loan = _repaid_loan()
    member = loan.member
    token, value = create_token(
        user=member.user, name="budget app", scope="read", expires_in_days=None
    )
    headers = {"Authorization": f"Bearer {value}"}
    assert client.get("/api/v1/loans", headers=headers).status_code == 200
    deletion = request_deletion(member=member, actor=member.user)
    approve_deletion(deletion=deletion, actor=make_admin())

    assert anonymise_due(now=timezone.now() + timedelta(seconds=1)) == 1

    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client.get("/api/v1/loans", headers=headers).status_code == 401
