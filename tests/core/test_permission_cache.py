"""Permission sets are cached across requests, and every change to them takes effect at once."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from members.models import User
from members.roles import FINANCE, LOAN_OFFICERS
from tests.factories import UserFactory, make_officer

pytestmark = pytest.mark.django_db

APPROVE = "loans.approve_application"


def fresh(user):
    """The user as the next request loads it (Django's own cache lives on the object)."""
    return User.objects.get(pk=user.pk)


def test_second_request_reads_permissions_without_queries():
    officer = make_officer()
    assert fresh(officer).has_perm(APPROVE)
    user = fresh(officer)
    with CaptureQueriesContext(connection) as queries:
        assert user.has_perm(APPROVE)
        assert not user.has_perm("payments.add_payment")
    assert len(queries) == 0


def test_officer_removed_from_role_loses_permission_on_next_request():
    officer = make_officer()
    assert fresh(officer).has_perm(APPROVE)
    officer.groups.remove(Group.objects.get(name=LOAN_OFFICERS))
    assert not fresh(officer).has_perm(APPROVE)


def test_removal_through_the_group_side_and_clear_take_effect():
    first, second = make_officer(), make_officer()
    group = Group.objects.get(name=LOAN_OFFICERS)
    assert fresh(first).has_perm(APPROVE) and fresh(second).has_perm(APPROVE)
    group.user_set.remove(first)
    assert not fresh(first).has_perm(APPROVE)
    assert fresh(second).has_perm(APPROVE)
    group.user_set.clear()
    assert not fresh(second).has_perm(APPROVE)


def test_user_cleared_of_groups_loses_permissions():
    officer = make_officer()
    assert fresh(officer).has_perm(APPROVE)
    officer.groups.clear()
    assert not fresh(officer).has_perm(APPROVE)


def test_permission_taken_from_the_role_is_gone_for_its_members():
    officer = make_officer()
    permission = Permission.objects.get(codename="approve_application")
    assert fresh(officer).has_perm(APPROVE)
    Group.objects.get(name=LOAN_OFFICERS).permissions.remove(permission)
    assert not fresh(officer).has_perm(APPROVE)
    permission.group_set.add(Group.objects.get(name=LOAN_OFFICERS))
    assert fresh(officer).has_perm(APPROVE)
    permission.group_set.clear()
    assert not fresh(officer).has_perm(APPROVE)


def test_direct_permission_granted_and_revoked_take_effect():
    user = UserFactory(is_staff=True)
    permission = Permission.objects.get(codename="add_payment")
    assert not fresh(user).has_perm("payments.add_payment")
    user.user_permissions.add(permission)
    assert fresh(user).has_perm("payments.add_payment")
    permission.user_set.remove(user)
    assert not fresh(user).has_perm("payments.add_payment")


def test_new_role_and_deleted_role_take_effect():
    user = UserFactory(is_staff=True)
    assert not fresh(user).has_perm("loans.disburse_loan")
    user.groups.add(Group.objects.get(name=FINANCE))
    assert fresh(user).has_perm("loans.disburse_loan")
    Group.objects.get(name=FINANCE).delete()
    assert not fresh(user).has_perm("loans.disburse_loan")


def test_promotion_to_superuser_and_back_is_seen_at_once():
    user = UserFactory(is_staff=True)
    assert not fresh(user).has_perm(APPROVE)
    User.objects.filter(pk=user.pk).update(is_superuser=True)
    assert fresh(user).has_perm(APPROVE)
    User.objects.filter(pk=user.pk).update(is_superuser=False)
    assert not fresh(user).has_perm(APPROVE)


def test_deactivated_account_has_no_permissions():
    officer = make_officer()
    assert fresh(officer).has_perm(APPROVE)
    User.objects.filter(pk=officer.pk).update(is_active=False)
    assert not fresh(officer).has_perm(APPROVE)


def test_officer_demoted_mid_session_is_refused_the_queue(client):
    officer = make_officer()
    client.force_login(officer)
    assert client.get("/backoffice/applications/").status_code == 200
    officer.groups.clear()
    assert client.get("/backoffice/applications/").status_code == 403
