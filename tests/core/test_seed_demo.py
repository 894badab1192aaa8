"""``make run`` loads the demo: every role can sign in and every desk has something to show."""

import pytest
from django.core.management import call_command

from arrears.models import OverdueRun, PortfolioSnapshot
from devdata.members import DEMO_PASSWORD
from ledger.selectors import trial_balance
from loans.models import Loan, LoanStatus
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
