"""The optional read replica: report pages and finance exports read from it, everything else
(a member's own data above all) from the primary, writes and migrations only the primary.

tests/settings.py configures ``replica`` as a TEST MIRROR of the test database (every query
really runs; which connection ran it is what these tests look at), and these tests install
the router, as DATABASE_REPLICA_URL does. They are transactional: a mirror is a second
connection, which cannot see the rows of a test transaction left open on the first.
"""

import runpy
from datetime import date
from pathlib import Path

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.db_router import ReplicaRouter, reading_from_replica
from reports import dashboard, services
from reports.models import DailyReport
from tests import factories
from tests.members.test_data_export import reauthenticated
from tests.reports.helpers import at, lagos

pytestmark = pytest.mark.django_db(databases=["default", "replica"], transaction=True)


@pytest.fixture(autouse=True)
def _replica_router(settings):
    settings.DATABASE_ROUTERS = ["core.db_router.ReplicaRouter"]
    yield
    # The mirror's connection (and, on PostgreSQL, its pool) would otherwise stay open and
    # keep the test database from being dropped at the end of the run.
    replica = connections["replica"]
    replica.close()
    if getattr(replica, "close_pool", None):
        replica.close_pool()


SETTINGS = Path(__file__).resolve().parents[2] / "config" / "settings.py"


class Reads:
    """The SQL each connection ran inside the block."""

    def __enter__(self):
        self._primary = CaptureQueriesContext(connections["default"]).__enter__()
        self._replica = CaptureQueriesContext(connections["replica"]).__enter__()
        return self

    def __exit__(self, *exc):
        self._replica.__exit__(*exc)
        self._primary.__exit__(*exc)

    def on(self, alias: str, table: str) -> int:
        ctx = self._primary if alias == "default" else self._replica
        return sum(f'"{table}"' in query["sql"] for query in ctx.captured_queries)

    @property
    def replica_total(self) -> int:
        return len(self._replica.captured_queries)


@pytest.fixture
def report(settings):
    settings.FINANCE_REPORT_EMAILS = []
    with at(lagos(date(2027, 2, 1), 6)):
        return services.generate_daily_report(report_date=date(2027, 1, 31))


def test_the_reports_page_and_its_downloads_read_from_the_replica(client, finance, report):
    client.force_login(finance)
    for url in (
        reverse("reports:list"),
        reverse("reports:download_csv", args=["2027-01-31"]),
        reverse("reports:download_xlsx", args=["2027-01-31"]),
        "/api/v1/reports/daily/2027-01-31",
    ):
        with Reads() as reads:
            response = client.get(url)
        assert response.status_code == 200, url
        assert reads.on("replica", "reports_dailyreport") >= 1, url
        assert reads.on("default", "reports_dailyreport") == 0, url
        # The session and the signed-in user are read where they were written.
        assert reads.on("default", "django_session") + reads.on("default", "members_user") >= 1


def test_a_streamed_range_export_reads_its_rows_from_the_replica_and_audits_on_the_primary(
    client, finance, report
):
    client.force_login(finance)
    with Reads() as reads:
        response = client.get(
            reverse("reports:export"),
            {"kind": "reports", "start": "2027-01-01", "end": "2027-12-31"},
        )
        body = b"".join(response.streaming_content).decode()
    assert "2027-01-31" in body
    assert reads.on("replica", "reports_dailyreport") == 1
    assert reads.on("default", "reports_dailyreport") == 0
    assert reads.on("default", "portal_auditevent") == 1  # the audit row: a write
    assert reads.on("replica", "portal_auditevent") == 0


def test_dashboard_figures_are_computed_on_the_replica():
    factories.active_loan()
    with Reads() as reads:
        figures = dashboard.compute_dashboard_figures()
    assert figures["active_loans"] == 1
    assert reads.on("replica", "loans_loan") >= 1
    assert reads.on("default", "loans_loan") == 0


def test_a_members_own_data_export_and_pages_read_only_from_the_primary(client):
    loan = factories.active_loan()
    user = loan.member.user
    reauthenticated(client, user)
    with Reads() as reads:
        for url in (
            reverse("privacy:export_my_data_json"),
            reverse("privacy:export_my_data_csv"),
            reverse("payments:statement_csv", args=[loan.reference]),
            reverse("members:dashboard"),
            reverse("payments:loan_detail", args=[loan.reference]),
        ):
            assert client.get(url).status_code == 200, url
    assert reads.replica_total == 0


def test_writes_inside_a_replica_block_go_to_the_primary(report):
    with reading_from_replica():
        stored = DailyReport.objects.get(pk=report.pk)
        assert stored._state.db == "replica"
        with Reads() as reads:
            stored.save(update_fields=["figures"])
    assert reads.on("default", "reports_dailyreport") == 1
    assert reads.replica_total == 0


def test_the_router_sends_only_primary_migrations_and_relates_both_aliases():
    router = ReplicaRouter()
    assert router.allow_migrate("default", "reports") is True
    assert router.allow_migrate("replica", "reports") is False
    assert router.db_for_write(DailyReport) == "default"
    assert router.db_for_read(DailyReport) is None  # Django's default: the primary
    with reading_from_replica():
        assert router.db_for_read(DailyReport) == "replica"
    assert router.db_for_read(DailyReport) is None
    primary, replica = DailyReport(), DailyReport()
    replica._state.db = "replica"
    primary._state.db = "default"
    assert router.allow_relation(primary, replica) is True


def _settings_with(monkeypatch, **env):
    for name in ("DATABASE_URL", "DATABASE_REPLICA_URL", "DATABASE_STATEMENT_TIMEOUT_MS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DEBUG", "true")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS))


def test_without_a_replica_url_there_is_no_replica_and_no_router(monkeypatch):
    for env in ({}, {"DATABASE_URL": "postgres://app@db:5432/allaweeplus"}):
        settings = _settings_with(monkeypatch, **env)
        assert list(settings["DATABASES"]) == ["default"]
        assert settings["DATABASE_ROUTERS"] == []


def test_a_replica_url_adds_the_replica_with_the_primarys_pool_and_statement_timeout(
    monkeypatch,
):
    settings = _settings_with(
        monkeypatch,
        DATABASE_URL="postgres://app@db:5432/allaweeplus",
        DATABASE_REPLICA_URL="postgres://reader@replica:5432/allaweeplus",
        DATABASE_STATEMENT_TIMEOUT_MS="1234",
    )
    primary, replica = settings["DATABASES"]["default"], settings["DATABASES"]["replica"]
    assert (replica["HOST"], replica["USER"]) == ("replica", "reader")
    assert replica["OPTIONS"] == primary["OPTIONS"]
    assert replica["OPTIONS"]["options"] == "-c statement_timeout=1234"
    assert replica["OPTIONS"]["pool"] is not primary["OPTIONS"]["pool"]  # a pool of its own
    assert replica["TEST"] == {"MIRROR": "default"}
    assert settings["DATABASE_ROUTERS"] == ["core.db_router.ReplicaRouter"]
