"""Insider attacks of the second outside review (H2, H3, M8): a dishonest administrator, a
finance user diverting a payout, an officer or finance user deciding on a member who is
themselves under another login, or an accomplice. Each test is the attack."""

from datetime import date

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from core.errors import DomainError, NotAllowed
from core.models import AuditEvent
from ledger.models import JournalEntry
from loans import services as loan_services
from loans.models import ApplicationStatus, LoanStatus
from members import role_changes
from members.models import KycStatus, RoleChangeStatus, RoleGrantRequest, StaffIdentity, User
from members.roles import ADMINISTRATORS, FINANCE, LOAN_OFFICERS
from members.services import change_payout_account, verify_kyc
from members.staff_identity import set_staff_identity
from members.validators import make_valid_nuban
from payments import services as payment_services
from payments.models import Disbursement, DisbursementStatus
from tests.factories import (
    MemberFactory,
    UserFactory,
    approved_loan,
    give_staff_identity,
    make_admin,
    make_finance,
    make_officer,
    submitted_application,
)


def _actions(obj=None):
    qs = AuditEvent.objects.all()
    if obj is not None:
        qs = qs.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))
    return set(qs.values_list("action", flat=True))


def _in_review(member, **product_terms):
    application = submitted_application(member=member, **product_terms)
    assert application.status == ApplicationStatus.IN_REVIEW
    return application


def _borrower():
    return MemberFactory(passing_out=date(2027, 12, 1), monthly_allowance=300_000_00)


# --- H2: an administrator makes itself superuser -----------------------------------------------


def _user_form(user, **extra):
    data = {
        "email": user.email,
        "display_name": user.display_name or "Someone",
        "is_active": "on",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "10:00:00",
    }
    data.update(extra)
    return data


def _escalation(finance_group, add_payment):
    return {
        "is_staff": "on",
        "is_superuser": "on",
        "groups": [finance_group.pk],
        "user_permissions": [add_payment.pk],
    }


@pytest.mark.django_db
def test_administrator_posting_superuser_and_groups_on_itself_changes_nothing(client):
    administrator = make_admin()
    finance_group = Group.objects.get(name=FINANCE)
    add_payment = Permission.objects.get(codename="add_payment")
    client.force_login(administrator)
    url = reverse("admin:members_user_change", args=[administrator.pk])

    page = client.get(url).content.decode()
    assert 'name="is_superuser"' not in page and 'name="groups"' not in page
    assert 'name="user_permissions"' not in page and 'name="is_staff"' not in page

    client.post(url, _user_form(administrator, **_escalation(finance_group, add_payment)))
    administrator = User.objects.get(pk=administrator.pk)
    assert not administrator.is_superuser
    assert list(administrator.groups.values_list("name", flat=True)) == [ADMINISTRATORS]
    assert not administrator.user_permissions.exists()
    assert not administrator.has_perm("payments.add_payment")


@pytest.mark.django_db
def test_administrator_cannot_promote_a_member_account_through_the_admin(client):
    administrator = make_admin()
    member = MemberFactory()
    client.force_login(administrator)
    response = client.post(
        reverse("admin:members_user_change", args=[member.user.pk]),
        _user_form(
            member.user,
            **_escalation(
                Group.objects.get(name=FINANCE), Permission.objects.get(codename="add_payment")
            ),
        ),
    )
    assert response.status_code == 302  # the allowed fields were saved…
    user = User.objects.get(pk=member.user.pk)
    assert not (user.is_staff or user.is_superuser)  # …and nothing else
    assert not user.groups.exists() and not user.user_permissions.exists()
    assert "user.changed_in_admin" in _actions(user)


@pytest.mark.django_db
def test_administrator_cannot_take_over_another_staff_account(client):
    administrator, finance = make_admin(), make_finance()
    client.force_login(administrator)
    change = client.post(
        reverse("admin:members_user_change", args=[finance.pk]),
        _user_form(finance, email="mine@example.ng"),
    )
    password = client.post(
        reverse("admin:auth_user_password_change", args=[finance.pk]),
        {"password1": "Another-horse-9", "password2": "Another-horse-9"},
    )
    assert change.status_code == 403 and password.status_code == 403
    finance.refresh_from_db()
    assert finance.email != "mine@example.ng" and finance.check_password("correct-horse-battery")


@pytest.mark.django_db
def test_administrator_cannot_add_permissions_to_a_group(client):
    administrator = make_admin()
    group = Group.objects.get(name=ADMINISTRATORS)
    before = set(group.permissions.values_list("pk", flat=True))
    add_payment = Permission.objects.get(codename="add_payment")
    client.force_login(administrator)
    response = client.post(
        reverse("admin:auth_group_change", args=[group.pk]),
        {"name": ADMINISTRATORS, "permissions": [*before, add_payment.pk]},
    )
    assert response.status_code == 403
    assert set(group.permissions.values_list("pk", flat=True)) == before
    assert not User.objects.get(pk=administrator.pk).has_perm("payments.add_payment")
    assert not User.objects.get(pk=administrator.pk).has_perm("auth.change_group")


@pytest.mark.django_db
def test_a_finance_grant_waits_for_a_second_administrator(client):
    first, second = make_admin(), make_admin()
    grantee = UserFactory()
    client.force_login(first)
    response = client.post(
        reverse("admin:members_rolegrantrequest_add"),
        {"user": grantee.pk, "role": FINANCE, "kind": "grant", "reason": "Joins the finance desk"},
    )
    assert response.status_code == 302
    change = RoleGrantRequest.objects.get(user=grantee)
    assert change.status == RoleChangeStatus.PENDING
    assert not grantee.groups.exists()
    assert "role.grant_requested" in _actions(grantee)

    with pytest.raises(NotAllowed):
        role_changes.approve_role_change(change=change, actor=first)
    client.post(  # the admin action, as the requester: refused with a message, no change
        reverse("admin:members_rolegrantrequest_changelist"),
        {"action": "approve", "_selected_action": [change.pk]},
    )
    assert not grantee.groups.exists()

    role_changes.approve_role_change(change=change, actor=second)
    grantee = User.objects.get(pk=grantee.pk)
    assert grantee.is_staff and grantee.has_perm("loans.disburse_loan")
    change.refresh_from_db()
    assert change.status == RoleChangeStatus.APPLIED and change.decided_by == second
    assert {"role.grant_requested", "role.granted"} <= _actions(grantee)
    # The service's own audit, not the outside-change alarm.
    assert "role.changed_outside_service" not in _actions(grantee)


@pytest.mark.django_db
def test_nobody_grants_a_role_to_themselves_or_without_a_reason():
    first, second = make_admin(), make_admin()
    with pytest.raises(NotAllowed):
        role_changes.request_role_change(
            user=first, role=FINANCE, kind="grant", actor=first, reason="I need to pay someone"
        )
    with pytest.raises(DomainError):
        role_changes.request_role_change(
            user=UserFactory(), role=LOAN_OFFICERS, kind="grant", actor=first, reason=""
        )
    # The grantee approving their own grant (an administrator granted Finance).
    change = role_changes.request_role_change(
        user=second, role=FINANCE, kind="grant", actor=first, reason="Covers the finance desk"
    )
    with pytest.raises(NotAllowed):
        role_changes.approve_role_change(change=change, actor=second)
    assert not User.objects.get(pk=second.pk).has_perm("loans.disburse_loan")


@pytest.mark.django_db
def test_officer_grant_and_revoke_apply_at_once_and_are_audited():
    administrator = make_admin()
    user = UserFactory()
    role_changes.request_role_change(
        user=user, role=LOAN_OFFICERS, kind="grant", actor=administrator, reason="New officer"
    )
    assert User.objects.get(pk=user.pk).has_perm("loans.approve_application")
    role_changes.request_role_change(
        user=user, role=LOAN_OFFICERS, kind="revoke", actor=administrator, reason="Left the team"
    )
    assert not User.objects.get(pk=user.pk).has_perm("loans.approve_application")
    assert {"role.granted", "role.revoked"} <= _actions(user)


@pytest.mark.django_db
def test_a_group_change_made_outside_the_service_is_audited():
    user = UserFactory()
    user.groups.add(Group.objects.get(name=FINANCE))  # e.g. from a shell
    event = AuditEvent.objects.get(action="role.changed_outside_service", object_id=str(user.pk))
    assert event.changes["items"] == [FINANCE]


# --- H3: the payout account ----------------------------------------------------------------


@pytest.mark.django_db
def test_admin_form_cannot_change_a_members_payout_or_identity_fields(client):
    administrator = make_admin()
    member = MemberFactory(account_name="ADA OBI", account_name_confirmed=True)
    member.mark_payout_confirmed("ADA OBI")
    member.save()
    account, phone = member.account_number, member.phone
    client.force_login(administrator)
    response = client.post(
        reverse("admin:members_member_change", args=[member.pk]),
        {
            "full_name": "Someone Else",
            "date_of_birth": "1990-01-01",
            "phone": "+2348099999999",
            "state_code": member.state_code,
            "batch": "A",
            "stream": "",
            "deployment_state": "LA",
            "ppa_name": "Somewhere",
            "service_start": "2025-03-01",
            "passing_out": "2026-03-01",
            "monthly_allowance": "7700000",
            "other_income": "0",
            "bank_code": "058",
            "account_number": make_valid_nuban("058", "999999999"),
            "account_name": "ADA OBI",
            "account_name_confirmed": "on",
            "kyc_status": "verified",
            "kyc_rejection_reason": "",
        },
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.account_number, member.phone, member.full_name) == (
        account,
        phone,
        member.full_name,
    )
    assert member.full_name != "Someone Else" and member.ppa_name == "Somewhere"
    assert "member.changed_in_admin" in _actions(member)


@pytest.mark.django_db
def test_changing_the_account_through_the_service_clears_the_confirmation():
    administrator = make_admin()
    member = MemberFactory()
    member.mark_payout_confirmed(member.full_name)
    member.save()
    new_account = make_valid_nuban("058", "888888888")
    change_payout_account(
        member=member,
        actor=administrator,
        bank_code="058",
        account_number=new_account,
        reason="Member closed the old account (letter on file)",
    )
    member.refresh_from_db()
    assert member.account_number == new_account
    assert not member.account_name_confirmed and not member.payout_account_confirmed
    event = AuditEvent.objects.get(action="member.payout_account_changed")
    assert event.changes["account_number"][1] == new_account and event.actor == administrator


@pytest.mark.django_db
def test_an_account_another_member_holds_is_refused_without_saying_whose():
    administrator = make_admin()
    holder, member = MemberFactory(), MemberFactory()
    before = member.account_number
    with pytest.raises(DomainError) as refused:
        change_payout_account(
            member=member,
            actor=administrator,
            bank_code=holder.bank_code,
            account_number=holder.account_number,
            reason="Member says this is the new account",
        )
    assert refused.value.message == (
        "We could not accept this bank account. If you believe this is a mistake, contact support."
    )
    member.refresh_from_db()
    assert member.account_number == before
    assert not AuditEvent.objects.filter(action="member.payout_account_changed").exists()


@pytest.mark.django_db
def test_a_payout_is_not_sent_when_the_account_changed_after_it_was_requested():
    loan = approved_loan()
    finance = make_finance()
    disbursement = payment_services.request_disbursement(loan=loan, actor=finance)
    assert disbursement.account_number == loan.member.account_number
    # The attack: the account number changed (admin, shell) after the payout was queued.
    diverted = make_valid_nuban("058", "777777777")
    type(loan.member).objects.filter(pk=loan.member_id).update(account_number=diverted)
    entries = JournalEntry.objects.count()

    payment_services.send_disbursement(disbursement_id=disbursement.pk)

    disbursement.refresh_from_db()
    loan.refresh_from_db()
    assert disbursement.status == DisbursementStatus.FAILED
    assert "changed" in disbursement.failure_reason
    assert not disbursement.recipient_code
    assert loan.status == LoanStatus.PENDING_DISBURSEMENT
    assert JournalEntry.objects.count() == entries
    # Nor can a new payout be requested before the new account is confirmed again.
    with pytest.raises(DomainError, match="changed"):
        payment_services.request_disbursement(loan=loan, actor=finance)


@pytest.mark.django_db
def test_one_finance_user_cannot_override_a_mismatch_and_pay_alone():
    loan = approved_loan()
    member = loan.member
    member.clear_payout_confirmation()
    member.account_name = "SOMEBODY DIFFERENT"
    member.save()
    first, second = make_finance(), make_finance()

    payment_services.confirm_payout_account(member=member, actor=first)
    member.refresh_from_db()
    assert not member.payout_account_confirmed
    with pytest.raises(NotAllowed, match="second finance user"):
        payment_services.confirm_payout_account(member=member, actor=first)
    with pytest.raises(DomainError):
        payment_services.request_disbursement(loan=loan, actor=first)
    assert not Disbursement.objects.filter(loan=loan).exists()

    payment_services.confirm_payout_account(member=member, actor=second)
    member.refresh_from_db()
    assert member.payout_account_confirmed
    assert {"member.account_override_requested", "member.account_confirmed"} <= _actions(member)
    payment_services.request_disbursement(loan=loan, actor=first)


@pytest.mark.django_db
def test_confirm_account_page_shows_the_refusal_not_an_error(client):
    loan = approved_loan()
    member = loan.member
    member.clear_payout_confirmation()
    member.account_name = "SOMEBODY DIFFERENT"
    member.save()
    finance = make_finance()
    client.force_login(finance)
    url = reverse("payments:confirm_account", args=[loan.reference])
    first = client.post(url, follow=True)
    second = client.post(url, follow=True)
    assert first.status_code == second.status_code == 200
    assert "second finance user" in second.content.decode()


# --- M8: staff identity in maker-checker ---------------------------------------------------


def _match(member, what):
    if what == "BVN":
        return {"bvn": f"22{member.pk:09d}"[-11:].rjust(11, "2")}
    if what == "phone":
        return {"phone": member.phone}
    return {"bank_code": member.bank_code, "account_number": member.account_number}


@pytest.mark.django_db
@pytest.mark.parametrize("what", ["BVN", "phone", "bank account"])
def test_officer_cannot_approve_a_member_who_shares_their_identity(what):
    member = _borrower()
    application = _in_review(member)
    officer = make_officer()
    give_staff_identity(officer, **_match(member, what))
    with pytest.raises(NotAllowed, match=what):
        loan_services.approve_application(application=application, actor=officer)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.IN_REVIEW
    assert not application.approvals.exists()


@pytest.mark.django_db
def test_officer_cannot_verify_the_kyc_of_a_member_who_shares_their_identity():
    member = MemberFactory(kyc_status=KycStatus.SUBMITTED)
    officer = make_officer()
    give_staff_identity(officer, phone=member.phone)
    with pytest.raises(NotAllowed, match="phone"):
        verify_kyc(member=member, actor=officer)
    member.refresh_from_db()
    assert member.kyc_status == KycStatus.SUBMITTED


@pytest.mark.django_db
def test_approving_an_accomplices_file_verified_by_a_matching_officer_is_refused():
    accomplice = make_officer()
    member = _borrower()
    member.kyc_reviewed_by = accomplice
    member.save(update_fields=["kyc_reviewed_by"])
    give_staff_identity(accomplice, bvn=f"22{member.pk:09d}"[-11:].rjust(11, "2"))
    application = _in_review(member)
    with pytest.raises(NotAllowed, match="took part"):
        loan_services.approve_application(application=application, actor=make_officer())


@pytest.mark.django_db
def test_finance_cannot_pay_a_member_who_shares_the_approvers_identity():
    officer = make_officer()
    loan = approved_loan(officer=officer)
    # The approver's identity (recorded after the approval) is the member's bank account.
    give_staff_identity(
        officer, bank_code=loan.member.bank_code, account_number=loan.member.account_number
    )
    with pytest.raises(NotAllowed, match="took part"):
        payment_services.request_disbursement(loan=loan, actor=make_finance())
    with pytest.raises(NotAllowed, match="took part"):
        payment_services.record_manual_disbursement(
            loan=loan, actor=make_finance(), bank_reference="FT-OTHER-1"
        )
    assert not Disbursement.objects.filter(loan=loan).exists()


@pytest.mark.django_db
def test_finance_cannot_pay_or_override_for_a_member_who_shares_their_identity():
    loan = approved_loan()
    finance = make_finance()
    give_staff_identity(finance, phone=loan.member.phone)
    with pytest.raises(NotAllowed, match="phone"):
        payment_services.request_disbursement(loan=loan, actor=finance)
    loan.member.clear_payout_confirmation()
    loan.member.account_name = "SOMEBODY DIFFERENT"
    loan.member.save()
    with pytest.raises(NotAllowed, match="phone"):
        payment_services.confirm_payout_account(member=loan.member, actor=finance)


@pytest.mark.django_db
def test_staff_without_an_identity_on_file_cannot_decide(client):
    application = _in_review(_borrower())
    officer = make_officer(identity=False)
    with pytest.raises(NotAllowed, match="not on file"):
        loan_services.approve_application(application=application, actor=officer)
    client.force_login(officer)
    response = client.post(reverse("loans:approve", args=[application.reference]), {}, follow=True)
    assert response.status_code == 200 and "not on file" in response.content.decode()


@pytest.mark.django_db
def test_staff_identity_is_recorded_by_another_administrator_and_audited():
    first, second = make_admin(identity=False), make_admin()
    with pytest.raises(NotAllowed):
        set_staff_identity(
            user=first,
            actor=first,
            bvn="12345678901",
            phone="08031230000",
            bank_code="044",
            account_number=make_valid_nuban("044", "123456789"),
        )
    identity = set_staff_identity(
        user=first,
        actor=second,
        bvn="12345678901",
        phone="08031230000",
        bank_code="044",
        account_number=make_valid_nuban("044", "123456789"),
    )
    assert identity.bvn_last4 == "8901" and "12345678901" not in identity.bvn_encrypted
    assert StaffIdentity.objects.get(user=first).recorded_by == second
    assert "staff.identity_recorded" in _actions(first)


@pytest.mark.django_db
def test_a_member_changing_their_own_account_loses_the_confirmation():
    from members.services import update_member_profile

    member = MemberFactory(kyc_status=KycStatus.REJECTED)
    member.mark_payout_confirmed(member.full_name)
    member.save()
    new_account = make_valid_nuban("058", "666666666")
    update_member_profile(
        member=member, actor=member.user, data={"bank_code": "058", "account_number": new_account}
    )
    member.refresh_from_db()
    assert member.account_number == new_account
    assert not member.account_name_confirmed and not member.confirmed_account_number
    assert "member.payout_account_changed" in _actions(member)


@pytest.mark.django_db
def test_the_admin_forms_record_identities_and_refuse_self_service_with_a_message(client):
    administrator, officer = make_admin(), make_officer(identity=False)
    client.force_login(administrator)
    account = make_valid_nuban("044", "555555555")
    response = client.post(
        reverse("admin:members_staffidentity_add"),
        {
            "user": officer.pk,
            "bvn": "12312312312",
            "phone": "0803 555 0101",
            "bank_code": "044",
            "account_number": account,
        },
    )
    assert response.status_code == 302
    identity = StaffIdentity.objects.get(user=officer)
    assert (identity.phone, identity.account_number) == ("+2348035550101", account)
    assert identity.recorded_by == administrator

    own = client.post(
        reverse("admin:members_rolegrantrequest_add"),
        {"user": administrator.pk, "role": FINANCE, "kind": "grant", "reason": "Pay my friend"},
    )
    assert own.status_code == 200 and "another administrator must" in own.content.decode()
    assert not RoleGrantRequest.objects.filter(user=administrator).exists()
