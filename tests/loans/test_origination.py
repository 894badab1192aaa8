"""Apply → key facts → consent → submit → assessment → officer decision."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.clock import LAGOS
from core.errors import Conflict, DomainError, NotAllowed
from core.models import AuditEvent
from loans import services
from loans.models import Application, ApplicationStatus, Loan, LoanProduct, LoanStatus
from members.models import KycStatus
from tests.factories import MemberFactory, make_officer

pytestmark = pytest.mark.django_db

TODAY = date(2026, 1, 10)


@pytest.fixture(autouse=True)
def _frozen_day():
    # 10:00 in Lagos: inside contact hours, so member e-mails go out at once (at night they
    # wait for 08:00, see tests/notifications) and the suite passes at any wall-clock time.
    with time_machine.travel(datetime(2026, 1, 10, 10, tzinfo=LAGOS), tick=True):
        yield


@pytest.fixture
def product(db):
    return LoanProduct.objects.create(
        name="Quick",
        min_principal=10_000_00,
        max_principal=200_000_00,
        tenures=[1, 2, 3, 6],
        interest_method="flat",
        monthly_rate=Decimal("0.05"),
        fee_percent=Decimal("0.01"),
        dual_approval_above=150_000_00,
        cooling_off_days=3,
        min_days_before_passing_out=14,
    )


@pytest.fixture
def borrower(db):
    return MemberFactory(
        service_start=date(2025, 11, 1), passing_out=date(2026, 11, 1), monthly_allowance=77_000_00
    )


# Tasks are enqueued on commit; the test transaction never commits, so run the callbacks.
on_commit = TestCase.captureOnCommitCallbacks


def submitted(member, product, amount=60_000_00, tenure=3):
    application = services.start_application(
        member=member, actor=member.user, product=product, amount=amount, tenure=tenure
    )
    with on_commit(execute=True):
        services.submit_application(
            application=application,
            actor=member.user,
            consent=True,
            shown_hash=application.key_facts_hash,
            ip="127.0.0.1",
            user_agent="pytest",
        )
    application.refresh_from_db()
    return application


def test_member_applies_through_the_pages_and_assessment_runs(client, borrower, product):
    client.force_login(borrower.user)
    preview = client.get(
        reverse("loans:apply"),
        {"product": product.pk, "amount": "60000", "tenure": "3"},
        headers={"HX-Request": "true"},
    )
    body = preview.content.decode()
    assert "<html" not in body and 'id="preview"' in body
    # ₦60,000 flat 5 % quoted on 10 Jan 2026 (the module's clock): first due 28 Feb, 49 days,
    # interest 6,000,000 × 0.05 × 12 × 49 / 365 = 483,287.67 → ₦4,832.88; then ₦3,000 a month.
    # Total 60,000 + 4,832.88 + 6,000 = ₦70,832.88.
    assert "₦70,832.88" in body, body

    response = client.post(
        reverse("loans:apply"),
        {"product": product.pk, "amount": "60000", "tenure": "3", "continue": "1"},
    )
    application = Application.objects.get(member=borrower)
    assert response["Location"] == reverse("loans:key_facts", args=[application.reference])
    page = client.get(response["Location"]).content.decode()
    assert "₦70,832.88" in page and "APR" in page and "cancel" in page.lower()

    # Without the consent box: refused, still a draft.
    client.post(response["Location"], {"key_facts_hash": application.key_facts_hash})
    application.refresh_from_db()
    assert application.status == ApplicationStatus.DRAFT

    with on_commit(execute=True):
        client.post(
            response["Location"],
            {"consent": "on", "key_facts_hash": application.key_facts_hash},
            HTTP_USER_AGENT="Mozilla/5.0 test",
            REMOTE_ADDR="10.1.2.3",
        )
    application.refresh_from_db()
    assert application.status == ApplicationStatus.IN_REVIEW  # Huey runs immediately in tests
    assert application.consent_ip == "10.1.2.3"
    assert application.consent_user_agent == "Mozilla/5.0 test"
    assert application.recommendation == "approve"
    rules = {r["rule"]: r["passed"] for r in application.assessment}
    assert rules["kyc_verified"] and rules["installment_affordable"]
    assert rules["ends_before_passing_out"] and rules["no_active_loan"]
    assert [m.subject for m in mail.outbox] == [
        f"[AllaweePlus] We received your application {application.reference}"
    ]
    statuses = list(application.history.values_list("to_status", flat=True))
    assert statuses == ["draft", "submitted", "in_review"]


def test_status_of_an_application_being_assessed_polls_until_it_moves(client, borrower, product):
    application = services.start_application(
        member=borrower, actor=borrower.user, product=product, amount=60_000_00, tenure=3
    )
    # Without running the on-commit callbacks the assessment task is never enqueued.
    services.submit_application(
        application=application,
        actor=borrower.user,
        consent=True,
        shown_hash=application.key_facts_hash,
        ip=None,
        user_agent="",
    )
    client.force_login(borrower.user)
    url = application.get_absolute_url()
    page = client.get(url).content.decode()
    assert "updates by itself" in page and f'hx-get="{url}"' in page

    partial = client.get(url, headers={"HX-Request": "true"})
    body = partial.content.decode()
    assert "<html" not in body and "Submitted" in body and "hx-trigger" in body
    assert partial["Vary"] and "HX-Request" in partial["Vary"]

    services.assess_application(application_id=application.pk)
    body = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "In review" in body and "hx-trigger" not in body


def test_an_assessment_lost_by_the_queue_is_picked_up_again(borrower, product):
    """The worker died mid-task or the queue was down at submit: the periodic requeue finds
    the application still submitted after five minutes and assesses it once."""
    from loans.tasks import requeue_stale_assessments_task

    application = services.start_application(
        member=borrower, actor=borrower.user, product=product, amount=60_000_00, tenure=3
    )
    services.submit_application(  # on-commit callbacks never run: the task is "lost"
        application=application,
        actor=borrower.user,
        consent=True,
        shown_hash=application.key_facts_hash,
        ip=None,
        user_agent="",
    )
    requeue_stale_assessments_task.call_local()
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED  # too recent to be lost

    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        requeue_stale_assessments_task.call_local()
        requeue_stale_assessments_task.call_local()  # nothing happens twice
    application.refresh_from_db()
    assert application.status == ApplicationStatus.IN_REVIEW
    statuses = list(application.history.values_list("to_status", flat=True))
    assert statuses == ["draft", "submitted", "in_review"]


def test_key_facts_hash_mismatch_means_the_terms_changed(borrower, product):
    application = services.start_application(
        member=borrower, actor=borrower.user, product=product, amount=60_000_00, tenure=3
    )
    old_hash = application.key_facts_hash
    # Another tab re-priced the draft after this one showed the key facts. (Lower, not higher:
    # the first installment's interest is for its real days, up to 58 from an early-month
    # day, and ₦65,000 would then fail the 33 % affordability rule before reaching the hash.)
    services.start_application(
        member=borrower, actor=borrower.user, product=product, amount=55_000_00, tenure=3
    )
    with pytest.raises(Conflict, match="changed"):
        services.submit_application(
            application=application,
            actor=borrower.user,
            consent=True,
            shown_hash=old_hash,
            ip=None,
            user_agent="",
        )
    assert Application.objects.get(pk=application.pk).status == ApplicationStatus.DRAFT
    assert Application.objects.filter(member=borrower).count() == 1


def test_double_submit_creates_nothing_twice(borrower, product):
    application = submitted(borrower, product)
    with pytest.raises(Conflict):
        services.submit_application(
            application=application,
            actor=borrower.user,
            consent=True,
            shown_hash=application.key_facts_hash,
            ip=None,
            user_agent="",
        )
    with pytest.raises(Conflict, match="already have an application"):
        services.start_application(
            member=borrower, actor=borrower.user, product=product, amount=20_000_00, tenure=1
        )
    assert Application.objects.filter(member=borrower).count() == 1


@pytest.mark.parametrize(
    ("amount", "tenure", "message"),
    [
        (5_000_00, 3, "between"),
        (500_000_00, 3, "between"),
        (60_000_00, 4, "tenure"),
    ],
)
def test_amount_or_tenure_outside_the_product_is_refused(
    borrower, product, amount, tenure, message
):
    with pytest.raises(DomainError, match=message):
        services.start_application(
            member=borrower, actor=borrower.user, product=product, amount=amount, tenure=tenure
        )
    assert not Application.objects.exists()


def test_inactive_product_and_incomplete_kyc_are_refused(borrower, product):
    product.is_active = False
    product.save()
    with pytest.raises(DomainError, match="no longer offered"):
        services.start_application(
            member=borrower, actor=borrower.user, product=product, amount=60_000_00, tenure=3
        )
    product.is_active = True
    product.save()
    borrower.kyc_status = KycStatus.SUBMITTED
    borrower.save()
    with pytest.raises(DomainError, match="verified"):
        services.start_application(
            member=borrower, actor=borrower.user, product=product, amount=60_000_00, tenure=3
        )


def test_tenure_ending_after_passing_out_is_refused(product):
    leaving = MemberFactory(service_start=date(2025, 3, 1), passing_out=date(2026, 3, 1))
    with pytest.raises(DomainError, match="passing-out"):
        services.start_application(
            member=leaving, actor=leaving.user, product=product, amount=30_000_00, tenure=6
        )


def test_installment_above_income_share_is_refused(product):
    poor = MemberFactory(monthly_allowance=20_000_00, other_income=0, passing_out=date(2026, 12, 1))
    with pytest.raises(DomainError, match="monthly income"):
        services.start_application(
            member=poor, actor=poor.user, product=product, amount=60_000_00, tenure=1
        )


def test_tampered_product_or_amount_in_the_apply_form_is_validated_again(client, borrower, product):
    client.force_login(borrower.user)
    response = client.post(
        reverse("loans:apply"),
        {"product": 999999, "amount": "60000", "tenure": "3", "continue": "1"},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    response = client.post(
        reverse("loans:apply"),
        {"product": product.pk, "amount": "-1", "tenure": "3", "continue": "1"},
    )
    assert "at least" in response.content.decode()
    assert not Application.objects.exists()


def test_officer_approves_and_a_loan_with_schedule_is_created(borrower, product, officer):
    application = submitted(borrower, product)
    with on_commit(execute=True):
        services.approve_application(
            application=application, actor=officer, amount=50_000_00, tenure=2
        )
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED
    loan = Loan.objects.get(application=application)
    assert loan.status == LoanStatus.PENDING_DISBURSEMENT
    assert loan.principal == 50_000_00 and loan.tenure_months == 2
    installments = list(loan.installments.all())
    assert len(installments) == 2
    assert sum(i.principal for i in installments) == 50_000_00
    assert sum(i.total_due for i in installments) == loan.total_repayable
    assert AuditEvent.objects.filter(
        action="application.approved", object_id=str(application.pk)
    ).exists()
    assert "approved" in mail.outbox[-1].subject


def test_officer_cannot_raise_the_amount(borrower, product, officer):
    application = submitted(borrower, product)
    with pytest.raises(DomainError, match="lower"):
        services.approve_application(application=application, actor=officer, amount=70_000_00)


def test_large_amounts_need_two_different_officers(borrower, product, officer):
    borrower.monthly_allowance = 200_000_00
    borrower.save()
    application = submitted(borrower, product, amount=180_000_00, tenure=6)
    services.approve_application(application=application, actor=officer)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.IN_REVIEW
    with pytest.raises(Conflict, match="different officer"):
        services.approve_application(application=application, actor=officer)
    second = make_officer()
    services.approve_application(application=application, actor=second)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED
    assert application.approvals.count() == 2


def test_officer_cannot_decide_own_application(product):
    officer = make_officer()
    own = MemberFactory(user=officer, passing_out=date(2026, 12, 1))
    application = submitted(own, product)
    with pytest.raises(NotAllowed, match="own"):
        services.approve_application(application=application, actor=officer)


def test_reject_needs_reason_and_the_reason_reaches_the_member(client, borrower, product, officer):
    application = submitted(borrower, product)
    with pytest.raises(DomainError):
        services.reject_application(application=application, actor=officer, reason="no")
    with on_commit(execute=True):
        services.reject_application(
            application=application,
            actor=officer,
            reason="Your PPA could not be confirmed with the employer.",
        )
    client.force_login(borrower.user)
    page = client.get(application.get_absolute_url()).content.decode()
    assert "Your PPA could not be confirmed" in page
    dashboard = client.get(reverse("members:dashboard")).content.decode()
    assert "Rejected" in dashboard
    assert "Your PPA could not be confirmed" in mail.outbox[-1].body


def test_decisions_in_the_wrong_state_or_without_permission_change_nothing(
    borrower, product, officer, finance
):
    application = submitted(borrower, product)
    with pytest.raises(NotAllowed):
        services.approve_application(application=application, actor=finance)
    services.reject_application(
        application=application, actor=officer, reason="Income could not be verified at all."
    )
    with pytest.raises(Conflict, match="already rejected"):
        services.approve_application(application=application, actor=make_officer())
    assert not Loan.objects.exists()


def test_member_cancels_in_review_and_within_cooling_off_only(borrower, product, officer):
    application = submitted(borrower, product)
    services.cancel_application(application=application, actor=borrower.user)
    assert Application.objects.get(pk=application.pk).status == ApplicationStatus.CANCELLED

    second = submitted(borrower, product)
    services.approve_application(application=second, actor=officer)
    with time_machine.travel(date(2026, 1, 20)):
        with pytest.raises(Conflict, match="cooling-off"):
            services.cancel_application(application=second, actor=borrower.user)
    services.cancel_application(application=second, actor=borrower.user)
    assert Loan.objects.get(application=second).status == LoanStatus.CANCELLED


def test_another_member_cannot_see_or_cancel_my_application(client, borrower, product):
    application = submitted(borrower, product)
    other = MemberFactory()
    client.force_login(other.user)
    assert client.get(application.get_absolute_url()).status_code == 404
    assert client.post(reverse("loans:cancel", args=[application.reference])).status_code == 404
    assert client.get(reverse("loans:key_facts", args=[application.reference])).status_code == 404
    with pytest.raises(NotAllowed):
        services.cancel_application(application=application, actor=other.user)


def test_queue_filters_and_searches_through_htmx(client, product, officer):
    a = submitted(
        MemberFactory(full_name="Bola Ahmed", deployment_state="KN", passing_out=date(2026, 12, 1)),
        product,
    )
    Application.objects.filter(pk=a.pk).update(deployment_state="KN")
    submitted(
        MemberFactory(full_name="Chidi Eze", passing_out=date(2026, 12, 1)),
        product,
        amount=20_000_00,
    )
    client.force_login(officer)
    url = reverse("loans:queue")
    body = client.get(url, {"q": "Bola"}, headers={"HX-Request": "true"}).content.decode()
    assert "Bola Ahmed" in body and "Chidi Eze" not in body and "<html" not in body
    body = client.get(
        url, {"deployment_state": "KN"}, headers={"HX-Request": "true"}
    ).content.decode()
    assert "Bola Ahmed" in body and "Chidi Eze" not in body
    body = client.get(url, {"amount_max": "30000"}, headers={"HX-Request": "true"}).content.decode()
    assert "Chidi Eze" in body and "Bola Ahmed" not in body
    body = client.get(url, {"q": a.reference}, headers={"HX-Request": "true"}).content.decode()
    assert a.reference in body and "Chidi Eze" not in body


def test_queue_and_detail_query_counts_are_flat(client, product, officer):
    client.force_login(officer)
    first = submitted(MemberFactory(passing_out=date(2026, 12, 1)), product)

    def count(url):
        client.get(url)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx)

    queue_few = count(reverse("loans:queue"))
    detail_few = count(first.get_staff_url())
    for _ in range(15):
        application = submitted(MemberFactory(passing_out=date(2026, 12, 1)), product)
        services.add_note(application=first, actor=officer, text="checked")
    services.request_information(
        application=first, actor=officer, message="Please upload a clearer ID card."
    )
    assert count(reverse("loans:queue")) == queue_few
    assert count(first.get_staff_url()) == detail_few
    assert application


def test_officer_page_actions_and_member_sees_schedule(client, borrower, product, officer):
    application = submitted(borrower, product)
    client.force_login(officer)
    page = client.get(application.get_staff_url()).content.decode()
    assert "kyc_verified" in page and borrower.bvn_masked in page
    client.post(
        reverse("loans:approve", args=[application.reference]), {"amount": "", "tenure": ""}
    )
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED
    client.force_login(borrower.user)
    page = client.get(application.get_absolute_url()).content.decode()
    assert application.loan.reference in page and "₦23,000.00" in page


def test_member_pages_forbid_staff_and_staff_pages_forbid_members(client, borrower, officer):
    client.force_login(officer)
    assert client.get(reverse("loans:apply")).status_code == 403
    client.force_login(borrower.user)
    assert client.get(reverse("loans:queue")).status_code == 403
