"""The daily report: the figures of a Lagos day match a brute-force count of random data
(month end, Lagos midnight on both sides, a day with nothing), stored once per day,
regenerated in place, e-mailed only to Finance with both files, run at 06:00 Lagos."""

import random
from datetime import date, datetime, timedelta
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import load_workbook

from core.clock import lagos_day_bounds
from core.errors import DomainError
from core.models import AuditEvent
from loans.models import Loan
from payments.models import Payment, PaymentChannel, PaymentStatus
from reports import services
from reports.models import DailyReport
from reports.tasks import daily_report_task
from tests.factories import MemberFactory, make_finance, make_officer
from tests.reports.helpers import at, brute_force, lagos, make_loans, seed_random_activity

pytestmark = pytest.mark.django_db
UTC = ZoneInfo("UTC")
WINDOW = [date(2027, 1, 28) + timedelta(days=i) for i in range(8)]  # across 31 Jan → 1 Feb


def without_ledger(figures: dict) -> dict:
    return {k: v for k, v in figures.items() if k != "ledger"}


@pytest.mark.parametrize("seed", [1, 2])
def test_figures_match_brute_force_counts_on_random_data(seed):
    rng = random.Random(seed)
    loans = make_loans(4, date(2027, 1, 20))
    seed_random_activity(rng, WINDOW, loans)
    empty_day = date(2027, 1, 10)
    for day in [*WINDOW, empty_day]:
        assert without_ledger(services.daily_figures(day)) == brute_force(day), day


def test_a_day_with_no_data_is_a_report_of_zeros(settings):
    settings.FINANCE_REPORT_EMAILS = []
    with at(lagos(date(2027, 3, 2), 6)):
        report = services.run_daily_report(report_date=date(2027, 3, 1))
    f = report.figures
    assert f["applications"] == {"submitted": 0, "approved": 0, "rejected": 0, "cancelled": 0}
    assert f["disbursed"] == {"count": 0, "principal": 0, "paid_out": 0}
    assert f["collections"]["count"] == 0 and f["collections"]["amount"] == 0
    assert all(c == {"count": 0, "amount": 0} for c in f["collections"]["by_channel"].values())
    assert f["par"] is None
    assert f["write_offs"] == {"count": 0, "amount": 0}
    assert f["ledger"]["balanced"] is True


def test_lagos_midnight_decides_the_day_at_a_month_end():
    (loan,) = make_loans(1, date(2027, 1, 20))
    # 23:30 UTC on 31 Jan is already 00:30 on 1 Feb in Lagos; 22:59:59 UTC is still 31 Jan.
    for ref, moment in (
        ("LATE-JAN", datetime(2027, 1, 31, 22, 59, 59, tzinfo=UTC)),
        ("EARLY-FEB", datetime(2027, 1, 31, 23, 30, tzinfo=UTC)),
    ):
        Payment.objects.create(
            reference=ref,
            provider="manual",
            channel=PaymentChannel.MANUAL,
            status=PaymentStatus.SUCCESSFUL,
            amount=1_000_00,
            received_at=moment,
            loan=loan,
        )
    assert services.collection_figures(date(2027, 1, 31))["amount"] == 1_000_00
    assert services.collection_figures(date(2027, 2, 1))["amount"] == 1_000_00
    start, end = lagos_day_bounds(date(2027, 2, 1))
    assert start == datetime(2027, 1, 31, 23, 0, tzinfo=UTC)
    assert end - start == timedelta(days=1)


def test_disbursements_and_applications_of_the_real_journey_are_counted():
    day = date(2027, 1, 20)
    loans = make_loans(2, day)
    figures = services.daily_figures(day)
    assert figures["disbursed"] == {
        "count": 2,
        "principal": sum(loan.principal for loan in loans),
        "paid_out": sum(loan.disbursed_amount for loan in loans),
    }
    assert figures["applications"]["submitted"] == 2
    assert figures["applications"]["approved"] == 2
    assert figures["ledger"]["balanced"] is True
    assert figures["ledger"]["total_debit"] == figures["ledger"]["total_credit"] > 0


def test_regenerating_a_day_replaces_its_figures(settings):
    settings.FINANCE_REPORT_EMAILS = []
    (loan,) = make_loans(1, date(2027, 1, 20))
    day = date(2027, 1, 25)
    with at(lagos(day + timedelta(days=1), 6)):
        first = services.generate_daily_report(report_date=day)
        assert first.figures["collections"]["count"] == 0
        Payment.objects.create(
            reference="LATE-IMPORT",
            provider="manual",
            channel=PaymentChannel.BANK_TRANSFER,
            status=PaymentStatus.SUCCESSFUL,
            amount=2_500_00,
            received_at=lagos(day, 15),
            loan=loan,
        )
        second = services.generate_daily_report(report_date=day)
    assert second.pk == first.pk
    assert DailyReport.objects.filter(report_date=day).count() == 1
    second.refresh_from_db()
    assert second.figures["collections"]["by_channel"]["bank_transfer"] == {
        "count": 1,
        "amount": 2_500_00,
    }
    actions = list(
        AuditEvent.objects.filter(object_type="reports.dailyreport").values_list(
            "action", flat=True
        )
    )
    assert sorted(actions) == ["report.daily_generated", "report.daily_regenerated"]


def test_a_day_that_is_not_over_cannot_be_reported():
    with at(lagos(date(2027, 2, 1), 6)), pytest.raises(DomainError):
        services.generate_daily_report(report_date=date(2027, 2, 1))


def test_report_is_emailed_to_finance_only_with_csv_and_xlsx(settings):
    settings.FINANCE_REPORT_EMAILS = []
    finance = make_finance()
    inactive = make_finance()
    inactive.is_active = False
    inactive.save()
    make_officer()
    MemberFactory()
    with at(lagos(date(2027, 2, 1), 6)):
        report = services.run_daily_report()
    assert report.report_date == date(2027, 1, 31)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [finance.email]
    assert message.cc == [] and message.bcc == []
    names = [a.filename for a in message.attachments]
    assert names == ["allaweeplus-daily-2027-01-31.csv", "allaweeplus-daily-2027-01-31.xlsx"]
    assert "Applications · Submitted: 0" in message.body
    assert "/backoffice/reports/" in message.body
    sheet = load_workbook(BytesIO(message.attachments[1].content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == ["Section", "Figure", "Value"]
    assert ["Ledger", "Trial balance balanced", "yes"] in values
    report.refresh_from_db()
    assert report.emailed_at is not None


def test_daily_task_runs_at_six_lagos_for_the_day_before(settings):
    settings.FINANCE_REPORT_EMAILS = ["reports@allaweeplus.test"]
    task = daily_report_task.task_class()
    assert task.validate_datetime(datetime(2027, 2, 1, 5, 0))  # Huey hands it naive UTC
    assert not task.validate_datetime(datetime(2027, 2, 1, 6, 0))
    # 00:30 Lagos on 1 Feb is still 31 Jan in UTC: "yesterday" is a Lagos yesterday.
    with at(datetime(2027, 1, 31, 23, 30, tzinfo=UTC)):
        daily_report_task()
    assert DailyReport.objects.get().report_date == date(2027, 1, 31)
    assert mail.outbox[0].to == ["reports@allaweeplus.test"]


def test_command_makes_a_report_and_refuses_bad_dates(settings):
    settings.FINANCE_REPORT_EMAILS = []
    make_loans(1, date(2027, 1, 20))
    with at(lagos(date(2027, 2, 1), 9)):
        call_command("daily_report", "--date", "2027-01-20", "--no-email")
        with pytest.raises(CommandError, match="not a YYYY-MM-DD"):
            call_command("daily_report", "--date", "2027-02-30")
        with pytest.raises(CommandError, match="once that Lagos day is over"):
            call_command("daily_report", "--date", "2027-02-01")
    report = DailyReport.objects.get(report_date=date(2027, 1, 20))
    assert report.figures["disbursed"]["count"] == Loan.objects.count() == 1
    assert mail.outbox == []
