"""Back-office dashboard: figures equal brute-force counts, are cached for everybody with
stampede protection (stale served under the lock, one recomputation per race), and are shown
as accessible inline SVG to the staff allowed to see them."""

import re
import threading
import time
from datetime import date
from unittest import mock

import pytest
from django.core.cache import cache
from django.urls import reverse

from arrears.models import Bucket, PortfolioSnapshot
from loans.models import Application, Installment, Loan, LoanStatus
from payments.models import Payment, PaymentChannel, PaymentStatus
from reports import dashboard
from reports.tasks import refresh_dashboard_task
from tests.factories import MemberFactory
from tests.reports.helpers import LAGOS, at, lagos, make_loans

pytestmark = pytest.mark.django_db
TODAY = date(2027, 3, 15)


def seed_dashboard_data():
    loans = make_loans(3, date(2027, 3, 2))
    Loan.objects.filter(pk=loans[0].pk).update(disbursed_on=date(2026, 12, 31))
    Loan.objects.filter(pk=loans[1].pk).update(status=LoanStatus.CLOSED)
    for i, (moment, status) in enumerate(
        [
            (lagos(date(2027, 3, 1), 0, 0, 0), PaymentStatus.SUCCESSFUL),  # this month (Lagos)
            (lagos(date(2027, 2, 28), 23, 59, 59), PaymentStatus.SUCCESSFUL),  # last month
            (lagos(date(2027, 3, 10)), PaymentStatus.FAILED),
            (lagos(date(2026, 3, 31)), PaymentStatus.SUCCESSFUL),  # 12 months ago: outside
        ]
    ):
        Payment.objects.create(
            reference=f"DASH-{i}",
            provider="manual",
            channel=PaymentChannel.MANUAL,
            status=status,
            amount=(i + 1) * 1_000_00,
            received_at=moment,
            loan=loans[2],
        )
    for day, at_risk in ((date(2027, 3, 13), 1_000_00), (date(2027, 3, 14), 2_500_00)):
        for bucket in Bucket:
            PortfolioSnapshot.objects.create(
                snapshot_date=day,
                bucket=bucket,
                loans=1,
                outstanding_principal={Bucket.DPD_31_60: at_risk, Bucket.CURRENT: 5_000_00}.get(
                    bucket, 5_000_00 if bucket == Bucket.DPD_1_30 else 0
                ),
            )
    return loans


def test_figures_match_brute_force_counts():
    seed_dashboard_data()
    with at(lagos(TODAY, 9)):
        figures = dashboard.compute_dashboard_figures()
    active = [loan for loan in Loan.objects.all() if loan.status == LoanStatus.ACTIVE]
    assert figures["active_loans"] == len(active) == 2
    assert type(figures["outstanding_principal"]) is int  # kobo, on PostgreSQL too
    assert figures["outstanding_principal"] == sum(
        i.principal - i.paid_principal
        for i in Installment.objects.all()
        if i.loan.status == LoanStatus.ACTIVE
    )
    assert figures["awaiting_review"] == sum(
        1 for a in Application.objects.all() if a.status in ("submitted", "in_review")
    )
    march = [
        p.amount
        for p in Payment.objects.all()
        if p.status == "successful" and p.received_at.astimezone(LAGOS).date() >= date(2027, 3, 1)
    ]
    assert figures["collected_this_month"] == sum(march) == 1_000_00
    assert figures["disbursed_this_month"] == sum(
        loan.disbursed_amount
        for loan in Loan.objects.all()
        if loan.disbursed_on and loan.disbursed_on >= date(2027, 3, 1)
    )
    flows = {m: (d, c) for m, d, c in figures["monthly_flows"]}
    assert list(flows)[0] == "2026-04" and list(flows)[-1] == "2027-03"
    assert flows["2027-02"] == (0, 2_000_00)
    assert flows["2026-12"][0] == Loan.objects.get(disbursed_on=date(2026, 12, 31)).disbursed_amount
    per_day = dict(figures["applications_per_day"])
    assert len(per_day) == 30 and per_day["2027-03-02"] == 3
    assert sum(per_day.values()) == Application.objects.exclude(submitted_at=None).count()
    # PAR30: more than 30 days past due over all buckets of the latest snapshot,
    # 2 500 / 12 500 = 20 % (and 1 000 / 11 000 = 9.09 % the day before).
    assert figures["par30_bp"] == 2000 and figures["par_snapshot_date"] == "2027-03-14"
    assert figures["par_trend"] == [["2027-03-13", 909], ["2027-03-14", 2000]]


def test_fresh_figures_come_from_the_cache():
    with mock.patch.object(dashboard, "compute_dashboard_figures", return_value={"n": 1}) as c:
        assert dashboard.dashboard_figures() == {"n": 1}
        assert dashboard.dashboard_figures() == {"n": 1}
    assert c.call_count == 1
    assert cache.get(dashboard.LOCK_KEY) is None  # released


def test_stale_figures_are_served_while_another_process_holds_the_lock():
    cache.set(dashboard.CACHE_KEY, {"figures": {"n": "stale"}, "fresh_until": time.time() - 1})
    assert cache.add(dashboard.LOCK_KEY, "other-process", 60)
    with mock.patch.object(dashboard, "compute_dashboard_figures") as compute:
        assert dashboard.dashboard_figures() == {"n": "stale"}
        assert dashboard.dashboard_figures() == {"n": "stale"}
        assert dashboard.refresh_dashboard_figures() is False
    compute.assert_not_called()
    assert cache.get(dashboard.LOCK_KEY) == "other-process"
    cache.delete(dashboard.LOCK_KEY)
    with mock.patch.object(dashboard, "compute_dashboard_figures", return_value={"n": "new"}):
        assert dashboard.dashboard_figures() == {"n": "new"}


def test_cold_cache_waits_for_the_lock_holder_instead_of_recomputing():
    assert cache.add(dashboard.LOCK_KEY, "other-process", 60)

    def other_process_finishes():
        time.sleep(0.2)
        dashboard._store({"n": "theirs"})

    threading.Thread(target=other_process_finishes).start()
    with mock.patch.object(dashboard, "compute_dashboard_figures") as compute:
        assert dashboard.dashboard_figures() == {"n": "theirs"}
    compute.assert_not_called()


def test_a_cache_that_is_down_costs_no_waiting():
    class DownCache:  # what django-redis with IGNORE_EXCEPTIONS gives when Redis is down
        def get(self, key, default=None):
            return default

        def add(self, *args, **kwargs):
            return False

        def set(self, *args, **kwargs):
            return None

    with (
        mock.patch.object(dashboard, "cache", DownCache()),
        mock.patch.object(dashboard, "compute_dashboard_figures", return_value={"n": 2}),
    ):
        started = time.monotonic()
        assert dashboard.dashboard_figures() == {"n": 2}
    assert time.monotonic() - started < 1


def test_two_racing_requests_recompute_once():
    calls = []

    def slow_compute():
        calls.append(1)
        time.sleep(0.3)
        return {"n": len(calls)}

    results = []
    with mock.patch.object(dashboard, "compute_dashboard_figures", side_effect=slow_compute):
        threads = [
            threading.Thread(target=lambda: results.append(dashboard.dashboard_figures()))
            for _ in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(calls) == 1
    assert results == [{"n": 1}, {"n": 1}]


def test_periodic_refresh_recomputes_even_fresh_figures():
    dashboard._store({"n": "old"})
    with mock.patch.object(dashboard, "compute_dashboard_figures", return_value={"n": "new"}):
        refresh_dashboard_task()
    assert dashboard.dashboard_figures() == {"n": "new"}
    assert cache.get(dashboard.CACHE_KEY)["fresh_until"] > time.time() + 60


def dashboard_section(html: str) -> str:
    return html.split('aria-labelledby="dashboard-heading"', 1)[1].split("</section>", 1)[0]


def test_finance_sees_key_figures_and_svg_charts(client, finance):
    seed_dashboard_data()
    with at(lagos(TODAY, 9)):
        client.force_login(finance)
        response = client.get(reverse("backoffice"))
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"] or "private" in response["Cache-Control"]
    html = response.content.decode()
    section = dashboard_section(html)
    for label in (
        "Applications awaiting review",
        "Active loans",
        "Outstanding principal",
        "PAR30",
        "Collected this month",
        "Disbursed this month",
    ):
        assert label in section
    assert "20.00 %" in section and "₦1,000.00" in section
    assert section.count('role="img"') == 3
    for chart in ("chart-applications", "chart-flows", "chart-par"):
        assert f'<title id="{chart}-title">' in section
        assert f'aria-labelledby="{chart}-title {chart}-desc"' in section
    assert "<rect" in section and "<polyline" in section
    assert not re.search(r"\sstyle=", section)  # the CSP allows no inline style attributes
    assert "<script" not in section
    assert "Daily reports" in html or 'href="/backoffice/reports/"' in html  # links kept
    assert "'unsafe-inline'" not in response.get("Content-Security-Policy", "")


def test_officer_sees_application_figures_only(client, officer):
    client.force_login(officer)
    section = dashboard_section(client.get(reverse("backoffice")).content.decode())
    assert "Applications awaiting review" in section
    assert "chart-applications" in section
    assert "Outstanding principal" not in section and "chart-flows" not in section


def test_members_and_staff_without_permissions_see_no_figures(client, django_user_model):
    client.force_login(MemberFactory().user)
    assert client.get(reverse("backoffice")).status_code == 403
    plain_staff = django_user_model.objects.create_user(
        email="plain@allaweeplus.test", password="x-long-password-1", is_staff=True
    )
    client.force_login(plain_staff)
    response = client.get(reverse("backoffice"))
    assert response.status_code == 200
    assert "dashboard-heading" not in response.content.decode()


def test_figures_are_shared_not_per_user(client, finance, officer):
    client.force_login(finance)
    client.get(reverse("backoffice"))
    cached = cache.get(dashboard.CACHE_KEY)["figures"]
    assert finance.email not in repr(cached)
    with mock.patch.object(dashboard, "compute_dashboard_figures") as compute:
        client.force_login(officer)
        assert client.get(reverse("backoffice")).status_code == 200
    compute.assert_not_called()


def test_empty_system_renders_charts_without_data(client, finance):
    client.force_login(finance)
    section = dashboard_section(client.get(reverse("backoffice")).content.decode())
    assert "No portfolio snapshot yet." in section and "— (no snapshot yet)" in section
