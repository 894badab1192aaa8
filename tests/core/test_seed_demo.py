"""``make run`` loads the demo: every role can sign in and every desk has something to show."""

from datetime import date, datetime, time, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from arrears.models import OverdueRun, PortfolioSnapshot
from arrears.selectors import bucket_for
from core.clock import LAGOS, lagos_today
from devdata.members import DEMO_MEMBER, DEMO_PASSWORD
from ledger.selectors import trial_balance
from loans.models import Loan, LoanProduct, LoanStatus
from loans.schedule import MIN_DAYS_TO_FIRST_DUE
from loans.services.application import quote
from members.models import Member
from members.validators import parse_state_code
from reports.models import DailyReport

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _development_mode(settings):
    # pytest-django runs with DEBUG=False; the demo seeder refuses that (test_lows.py).
    settings.DEBUG = True


def test_demo_data_loads_twice_without_duplicates_and_fills_the_desks(client, capsys):
    call_command("seed_demo")
    loans = Loan.objects.count()
    assert loans == 9 and Loan.objects.filter(status=LoanStatus.ACTIVE).count() == 9
    assert Loan.objects.filter(arrears_since__isnull=False).count() >= 5
    buckets = {s.bucket: s.loans for s in PortfolioSnapshot.objects.all()}
    assert buckets["31-60"] >= 1 and buckets["90+"] >= 1
    assert OverdueRun.objects.count() == 1 and DailyReport.objects.count() == 1
    assert trial_balance()["balanced"]

    call_command("seed_demo")
    assert Loan.objects.count() == loans
    out = capsys.readouterr().out
    assert "finance@allaweeplus.test" in out and DEMO_PASSWORD in out
    assert client.login(email="finance@allaweeplus.test", password=DEMO_PASSWORD)
    page = client.get("/backoffice/collections/").content.decode()
    assert page.count("/backoffice/collections/LN") >= 5


# ``make run`` must behave the same on any day: the demo is built relative to today. A day in
# December (the calendar's longest gap between orientations follows), one in March inside that
# gap, the 29th (bucket edges), half a year and a year on, and past the shipped calendar.
SEED_DAYS = [
    date(2026, 12, 5),
    date(2027, 3, 5),
    date(2027, 1, 29),
    date(2027, 6, 5),
    date(2027, 12, 5),
    date(2029, 2, 28),
]


@pytest.mark.parametrize("day", SEED_DAYS, ids=str)
def test_on_any_day_the_demo_member_can_apply_and_every_demo_loan_tells_one_story(day):
    with time_machine.travel(datetime.combine(day, time(9), tzinfo=LAGOS), tick=False):
        call_command("seed_demo", stdout=StringIO())
        today = lagos_today()

        member = Member.objects.get(user__email=DEMO_MEMBER)
        assert member.service_start <= today
        assert (member.passing_out - today).days >= 270
        assert parse_state_code(member.state_code).batch == member.service_batch.batch
        for product in LoanProduct.objects.all():
            longest = quote(
                product=product,
                amount=product.min_principal,
                tenure=max(product.tenures),
                member=member,
            )
            assert longest.can_apply, [p.reason for p in longest.problems]

        loans = Loan.objects.select_related("application", "member", "product")
        in_arrears = set()
        for loan in loans:
            app, borrower, product = loan.application, loan.member, loan.product
            applied = timezone.localtime(app.created_at, LAGOS).date()
            approved = timezone.localtime(loan.approved_at, LAGOS).date()
            assert borrower.service_start < applied <= approved <= loan.disbursed_on <= today
            assert app.created_at <= app.submitted_at <= app.decided_at <= loan.disbursed_at
            assert timezone.localtime(borrower.user.date_joined, LAGOS).date() < applied
            dues = [i.due_date for i in loan.installments.order_by("number")]
            assert all(d.day == product.due_day for d in dues), dues
            assert all(
                (b.year * 12 + b.month) - (a.year * 12 + a.month) == 1
                for a, b in zip(dues, dues[1:], strict=False)
            )
            assert (dues[0] - loan.disbursed_on).days >= MIN_DAYS_TO_FIRST_DUE
            margin = timedelta(days=product.min_days_before_passing_out)
            assert dues[-1] <= borrower.passing_out - margin
            entry_days = set(loan.journal_entries.values_list("effective_date", flat=True))
            assert min(entry_days) == loan.disbursed_on and max(entry_days) <= today
            if loan.arrears_since:
                assert loan.arrears_since == dues[0]
                in_arrears.add(bucket_for((today - loan.arrears_since).days))

        assert len(in_arrears) >= 3 and "90+" in in_arrears, in_arrears
        assert trial_balance()["balanced"]
