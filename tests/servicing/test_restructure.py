"""Hardship restructures: a worked example by hand (capitalised and waived arrears), the
ledger kept equal to the schedule, the member's consent by hash, the second officer, and every
refusal with nothing written."""

from datetime import date, datetime, time
from decimal import Decimal

import pytest
import time_machine
from django.test import TestCase

from arrears import overdue
from core.clock import LAGOS
from core.errors import Conflict, DomainError, NotAllowed
from ledger import chart
from ledger.models import JournalEntry
from ledger.selectors import loan_balance, trial_balance, unbalanced_entries
from loans.models import Installment, InstallmentStatus
from loans.schedule import DAYS_PER_YEAR
from loans.versions import ScheduleVersion
from notifications.models import Message
from payments import services as payment_services
from reports import exports
from reports import services as report_services
from servicing.models import Restructure, RestructureHistory, RestructureStatus
from servicing.services import restructure as rs
from tests.factories import (
    active_loan,
    approved_loan,
    make_finance,
    make_officer,
    schedule_outstanding,
)

pytestmark = pytest.mark.django_db
on_commit = TestCase.captureOnCommitCallbacks
REASON = "The member's allowance stopped for two months (posting changed)."


def at(day: date):
    return time_machine.travel(datetime.combine(day, time(12), tzinfo=LAGOS), tick=False)


@pytest.fixture
def loan():
    """₦60,000 over 3 months, flat 5 % a month (fee deducted at payout), paid out on 5 Jan
    2027: installments of ₦20,000 + ₦3,000 on 28 Mar and 28 Apr; the first, on 28 Feb, carries
    interest for its 54 days (₦60,000 × 5 % × 12 × 54 ÷ 365 = ₦5,326.03), ₦25,326.03 in all.
    The first is paid on 25 Feb; on 31 Mar the second (₦23,000) is overdue, within its grace
    days (no late fee)."""
    with at(date(2027, 1, 5)):
        loan = active_loan(amount=60_000_00, tenure=3)
    first = loan.installments.get(number=1)
    assert (first.principal, first.interest) == (20_000_00, 5_326_03)
    with at(date(2027, 2, 25)):
        payment_services.record_manual_payment(
            loan=loan, actor=make_finance(), amount=25_326_03, reason=REASON, evidence="R-1"
        )
    with at(date(2027, 3, 31)):
        overdue.run_overdue(run_date=date(2027, 3, 31))
    loan.refresh_from_db()
    return loan


@pytest.fixture
def officers():
    return make_officer(), make_officer()


def propose(loan, officer, *, installments=4, holiday=1, treatment="capitalise"):
    with at(date(2027, 3, 31)):
        return rs.propose_restructure(
            loan=loan,
            actor=officer,
            new_installments=installments,
            holiday_months=holiday,
            treatment=treatment,
            reason=REASON,
        )


def consent(restructure, user=None, shown=None):
    with at(date(2027, 3, 31)):
        return rs.consent_to_restructure(
            restructure=restructure,
            actor=user or restructure.loan.member.user,
            consent=True,
            shown_hash=shown if shown is not None else restructure.terms_hash,
        )


def approve(restructure, officer):
    with at(date(2027, 3, 31)):
        return rs.approve_restructure(restructure=restructure, actor=officer, note="Agreed.")


def assert_books_agree(loan):
    assert trial_balance()["balanced"] and unbalanced_entries() == []
    assert loan_balance(loan) == schedule_outstanding(loan)


def npv(amount_on: date, apr: Decimal, flows) -> Decimal:
    """Present value on ``amount_on`` of (date, kobo) flows at ``apr`` % a year (days/365)."""
    rate = 1 + apr / 100
    return sum(
        Decimal(kobo) / rate ** (Decimal((due - amount_on).days) / DAYS_PER_YEAR)
        for due, kobo in flows
    )


# --- The worked example --------------------------------------------------------------------------


def test_capitalised_restructure_worked_by_hand(loan, officers):
    proposer, checker = officers
    assert schedule_outstanding(loan) == 46_000_00
    with on_commit(execute=True):
        restructure = propose(loan, proposer)
    terms = restructure.terms
    # Arrears ₦23,000: ₦20,000 principal stays principal, ₦3,000 interest is capitalised.
    assert terms["arrears"] == 23_000_00 and terms["capitalised"] == 3_000_00
    # New amount: ₦40,000 principal unpaid + ₦3,000 = ₦43,000. Flat 5 % over 4 installments
    # + 1 holiday month = 5 months: ₦43,000 × 0.05 × 5 = ₦10,750, i.e. ₦2,687.50 a month;
    # principal ₦10,750 a month; installment ₦13,437.50.
    assert terms["amount"] == 43_000_00
    assert terms["total_interest"] == 10_750_00
    assert terms["total_repayable"] == 53_750_00
    assert terms["cost_of_credit"] == 10_750_00
    assert terms["monthly_installment"] == 13_437_50
    # First due date at least 15 days after 31 Mar is 28 Apr; one holiday month: 28 May.
    assert [row["due_date"] for row in terms["schedule"]] == [
        "2027-05-28",
        "2027-06-28",
        "2027-07-28",
        "2027-08-28",
    ]
    assert {(r["principal"], r["interest"]) for r in terms["schedule"]} == {(10_750_00, 2_687_50)}
    # The APR is the rate at which the new installments are worth ₦43,000 on 31 Mar.
    flows = [(date.fromisoformat(r["due_date"]), r["total"]) for r in terms["schedule"]]
    apr = Decimal(terms["apr"])
    assert abs(npv(date(2027, 3, 31), apr, flows) - 43_000_00) < 100  # within ₦1 (2 dp APR)
    assert (
        npv(date(2027, 3, 31), apr + 1, flows) < 43_000_00 < npv(date(2027, 3, 31), apr - 1, flows)
    )
    assert Message.objects.filter(member=loan.member, kind="restructure_offered").exists()

    consent(restructure)
    with on_commit(execute=True):
        approve(restructure, checker)
    restructure.refresh_from_db()
    loan.refresh_from_db()
    assert restructure.status == RestructureStatus.APPROVED
    assert restructure.consent_hash == restructure.terms_hash
    assert loan.restructured_at is not None and loan.schedule_version == 2
    assert loan.apr == apr
    assert loan.arrears_since is None
    rows = list(Installment.objects.filter(loan=loan).order_by("number"))
    # #1 paid as it was; #2 (overdue) closed at what was paid (nothing); #3 carries the first
    # new installment; #4-#6 are added.
    assert [(i.number, i.total_due, i.status) for i in rows] == [
        (1, 25_326_03, InstallmentStatus.PAID),
        (2, 0, InstallmentStatus.PAID),
        (3, 13_437_50, InstallmentStatus.PENDING),
        (4, 13_437_50, InstallmentStatus.PENDING),
        (5, 13_437_50, InstallmentStatus.PENDING),
        (6, 13_437_50, InstallmentStatus.PENDING),
    ]
    assert rows[2].due_date == date(2027, 5, 28)
    assert rows[2].late_fee_from == date(2027, 6, 1)  # 3 grace days
    assert rows[2].late_fee_cap == 1_343_75  # 10 % of ₦13,437.50
    assert loan.total_repayable == 25_326_03 + 53_750_00  # installment 1 as paid + the new schedule
    assert schedule_outstanding(loan) == 53_750_00
    assert_books_agree(loan)
    # The entry, by hand: ₦3,000 interest → principal and earned; the ₦3,000 of interest of
    # April replaced by the new ₦10,750.
    entry = JournalEntry.objects.get(idempotency_key=f"restructure:{restructure.pk}")
    lines = {p.account.code: p.amount for p in entry.postings.select_related("account")}
    assert lines == {
        chart.LOANS_PRINCIPAL: 3_000_00,
        chart.LOANS_INTEREST: -3_000_00 - 3_000_00 + 10_750_00,
        chart.UNEARNED_INTEREST: 3_000_00 + 3_000_00 - 10_750_00,
        chart.INTEREST_INCOME: -3_000_00,
    }
    old = ScheduleVersion.objects.get(loan=loan, number=1)
    assert (
        old.replaced_because == "restructure" and old.total_repayable == 71_326_03
    )  # 25,326.03 + 2 × 23,000
    assert list(
        RestructureHistory.objects.filter(restructure=restructure).values_list(
            "to_status", flat=True
        )
    ) == ["proposed", "consented", "approved"]
    assert Message.objects.filter(member=loan.member, kind="restructure_approved").exists()


def test_waived_arrears_are_forgiven_and_the_new_schedule_repays_the_principal(loan, officers):
    restructure = propose(loan, officers[0], installments=4, holiday=0, treatment="waive")
    terms = restructure.terms
    # ₦40,000 × 0.05 × 4 months = ₦8,000 interest; ₦3,000 of arrears interest forgiven.
    assert (terms["amount"], terms["waived"], terms["total_interest"]) == (
        40_000_00,
        3_000_00,
        8_000_00,
    )
    assert terms["first_due"] == "2027-04-28"
    consent(restructure)
    approve(restructure, officers[1])
    loan.refresh_from_db()
    assert schedule_outstanding(loan) == 48_000_00
    assert_books_agree(loan)
    entry = JournalEntry.objects.get(idempotency_key=f"restructure:{restructure.pk}")
    lines = {p.account.code: p.amount for p in entry.postings.select_related("account")}
    assert lines == {
        chart.LOANS_INTEREST: -3_000_00 - 3_000_00 + 8_000_00,
        chart.UNEARNED_INTEREST: 3_000_00 + 3_000_00 - 8_000_00,
    }


# --- Refusals: nothing written -----------------------------------------------------------------


def test_terms_ending_after_passing_out_are_refused(loan, officers):
    # 10 installments after 2 holiday months end on 28 Mar 2028; passing-out is 1 Dec 2027.
    with pytest.raises(DomainError, match="passing-out on 01 Dec 2027"):
        propose(loan, officers[0], installments=10, holiday=2)
    assert not Restructure.objects.exists()


def test_a_holiday_longer_than_allowed_is_refused(loan, officers, settings):
    settings.RESTRUCTURE_MAX_HOLIDAY_MONTHS = 2
    with pytest.raises(DomainError, match="at most 2 months"):
        propose(loan, officers[0], installments=2, holiday=3)
    assert not Restructure.objects.exists()


def test_a_loan_whose_payout_is_pending_cannot_be_restructured(officers):
    pending = approved_loan(amount=60_000_00, tenure=3)
    with pytest.raises(Conflict, match="not paid out"):
        rs.propose_restructure(
            loan=pending,
            actor=officers[0],
            new_installments=3,
            holiday_months=0,
            treatment="waive",
            reason=REASON,
        )
    assert not Restructure.objects.exists()


def test_consent_to_terms_other_than_those_shown_is_refused(loan, officers):
    restructure = propose(loan, officers[0])
    with pytest.raises(Conflict, match="The offer changed; review the new terms"):
        consent(restructure, shown="0" * 64)
    restructure.refresh_from_db()
    assert restructure.status == RestructureStatus.PROPOSED and restructure.consent_at is None


def test_a_newer_offer_supersedes_the_one_shown(loan, officers):
    first = propose(loan, officers[0])
    second = propose(loan, officers[0], installments=3)
    with pytest.raises(Conflict, match="The offer changed"):
        consent(first)
    first.refresh_from_db()
    assert first.status == RestructureStatus.SUPERSEDED
    assert consent(second).status == RestructureStatus.CONSENTED


def test_a_payment_after_the_offer_renews_it_and_the_member_reviews_the_new_terms(loan, officers):
    restructure = propose(loan, officers[0])
    with at(date(2027, 3, 31)):
        payment_services.record_manual_payment(
            loan=loan, actor=make_finance(), amount=5_000_00, reason=REASON, evidence="R-2"
        )
    with pytest.raises(Conflict, match="The offer changed; review the new terms"):
        consent(restructure)
    restructure.refresh_from_db()
    assert restructure.status == RestructureStatus.SUPERSEDED and restructure.consent_at is None
    renewed = Restructure.objects.get(loan=loan, status=RestructureStatus.PROPOSED)
    # ₦5,000 paid off the overdue installment's interest then principal: ₦3,000 less capitalised.
    assert renewed.terms["amount"] == 43_000_00 - 5_000_00
    assert consent(renewed).status == RestructureStatus.CONSENTED


def test_the_proposer_cannot_approve_their_own_terms(loan, officers):
    restructure = consent(propose(loan, officers[0]))
    with pytest.raises(NotAllowed, match="second officer"):
        approve(restructure, officers[0])
    restructure.refresh_from_db()
    assert restructure.status == RestructureStatus.CONSENTED
    assert not JournalEntry.objects.filter(idempotency_key__startswith="restructure:").exists()


def test_the_member_cannot_approve_and_finance_without_the_permission_cannot_propose(
    loan, officers
):
    restructure = consent(propose(loan, officers[0]))
    with pytest.raises(NotAllowed):
        approve(restructure, loan.member.user)
    with pytest.raises(NotAllowed):
        propose(loan, make_finance())


def test_only_the_member_whose_loan_it_is_can_consent(loan, officers):
    restructure = propose(loan, officers[0])
    with at(date(2027, 3, 31)):
        other = active_loan(amount=60_000_00, tenure=3, bank_reference="FT-OTHER")
    with pytest.raises(NotAllowed):
        consent(restructure, user=other.member.user)
    with pytest.raises(NotAllowed):
        consent(restructure, user=officers[1])


def test_an_offer_not_accepted_by_the_member_cannot_be_approved(loan, officers):
    restructure = propose(loan, officers[0])
    with pytest.raises(Conflict, match="accepted"):
        approve(restructure, officers[1])
    assert Installment.objects.filter(loan=loan).count() == 3


def test_rejected_offer_leaves_the_loan_as_it_was(loan, officers):
    restructure = consent(propose(loan, officers[0]))
    with at(date(2027, 3, 31)):
        rs.reject_restructure(restructure=restructure, actor=officers[1], note="Income not shown.")
    restructure.refresh_from_db()
    loan.refresh_from_db()
    assert restructure.status == RestructureStatus.REJECTED
    assert loan.restructured_at is None and schedule_outstanding(loan) == 46_000_00


def test_the_member_may_decline_an_offer(loan, officers):
    restructure = propose(loan, officers[0])
    with at(date(2027, 3, 31)):
        rs.withdraw_restructure(restructure=restructure, actor=loan.member.user)
    restructure.refresh_from_db()
    assert restructure.status == RestructureStatus.WITHDRAWN
    with pytest.raises(Conflict):
        consent(restructure)


def test_restructured_loans_are_reported_apart_in_the_daily_report(loan, officers):
    restructure = consent(propose(loan, officers[0]))
    approve(restructure, officers[1])
    other_day = date(2027, 3, 30)
    with at(date(2027, 4, 1)):
        figures = report_services.daily_figures(date(2027, 3, 31))
        earlier = report_services.daily_figures(other_day)
    restructured = figures["restructured"]
    # One loan, up to date after the restructure: ₦43,000 of principal in the current bucket.
    assert restructured["approved_today"] == 1 and earlier["restructured"]["approved_today"] == 0
    assert restructured["loans"] == 1
    assert restructured["buckets"]["current"] == {"loans": 1, "outstanding_principal": 43_000_00}
    assert restructured["par30_outstanding"] == 0
    rows = exports.report_rows(figures)
    assert ("Restructured loans (reported apart)", "Active restructured loans", 1) in rows


# --- Pages ------------------------------------------------------------------------------------


def page_client(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def test_officer_previews_then_offers_and_a_preview_saves_nothing(loan, officers):
    from django.urls import reverse

    from tests.form_tokens import with_form_token

    url = reverse("servicing:restructure", args=[loan.reference])
    choice = {
        "new_installments": "4",
        "holiday_months": "1",
        "arrears_treatment": "capitalise",
        "reason": REASON,
    }
    with at(date(2027, 3, 31)):
        client = page_client(officers[0])
        preview = client.post(url, with_form_token(choice))
        assert preview.status_code == 200
        assert "₦53,750.00" in preview.text and "Offer these terms to the member" in preview.text
        assert not Restructure.objects.exists()
        too_long = client.post(url, with_form_token({**choice, "new_installments": "10"}))
        assert too_long.status_code == 400 and "passing-out" in too_long.text
        assert client.post(url, with_form_token({**choice, "propose": "1"})).status_code == 302
    assert Restructure.objects.get().terms["total_repayable"] == 53_750_00


def test_member_accepts_on_the_offer_page_and_another_member_cannot_see_it(loan, officers):
    from django.urls import reverse

    from tests.form_tokens import with_form_token

    restructure = propose(loan, officers[0])
    url = reverse("servicing:restructure_offer", args=[loan.reference])
    with at(date(2027, 3, 31)):
        other = active_loan(amount=60_000_00, tenure=3, bank_reference="FT-OTHER-2")
        assert page_client(other.member.user).get(url).status_code == 404
        assert page_client(officers[1]).get(url).status_code == 404
        member = page_client(loan.member.user)
        page = member.get(url)
        assert page.status_code == 200 and "₦53,750.00" in page.text
        stale = member.post(
            url, with_form_token({"consent": "on", "terms_hash": "f" * 64}), follow=True
        )
        assert "The offer changed; review the new terms." in stale.text
        restructure.refresh_from_db()
        assert restructure.status == RestructureStatus.PROPOSED
        member.post(url, with_form_token({"consent": "on", "terms_hash": restructure.terms_hash}))
    restructure.refresh_from_db()
    assert restructure.status == RestructureStatus.CONSENTED


def test_only_a_second_officer_gets_the_approve_button(loan, officers):
    from django.urls import reverse

    from tests.form_tokens import with_form_token

    restructure = consent(propose(loan, officers[0]))
    url = reverse("servicing:restructure", args=[loan.reference])
    decide = reverse("servicing:decide_restructure", args=[loan.reference, restructure.pk])
    with at(date(2027, 3, 31)):
        own = page_client(officers[0])
        assert "Approve the new terms" not in own.get(url).text
        refused = own.post(decide, with_form_token({"decision": "approve"}))
        assert refused.status_code == 403
        assert page_client(make_finance()).post(decide, with_form_token({})).status_code == 403
        second = page_client(officers[1])
        assert "Approve the new terms" in second.get(url).text
        assert second.post(decide, with_form_token({"decision": "approve"})).status_code == 302
    restructure.refresh_from_db()
    assert restructure.status == RestructureStatus.APPROVED


def test_the_same_terms_again_move_no_money_and_keep_the_books(loan, officers):
    approve(consent(propose(loan, officers[0], installments=4, holiday=0)), officers[1])
    again = approve(consent(propose(loan, officers[0], installments=4, holiday=0)), officers[1])
    loan.refresh_from_db()
    assert again.status == RestructureStatus.APPROVED and again.journal_entry is None
    assert loan.schedule_version == 3
    assert_books_agree(loan)
