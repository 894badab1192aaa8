"""Monthly partitions of the append-only tables (PostgreSQL) and the uniqueness that moved to
key tables (both databases)."""

import json
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from core import audit, partitions
from core.models import AuditEvent
from notifications import services as notify_services
from notifications.models import Message, MessageDedupeKey
from payments import services as payment_services
from payments.models import WebhookEvent, WebhookEventKey
from tests.factories import MemberFactory, approved_loan

pytestmark = pytest.mark.django_db

TABLES = {"portal_auditevent", "payments_webhookevent", "notifications_message"}


def _postgres():
    if connection.vendor != "postgresql":
        pytest.skip("partitions are PostgreSQL's")


def scalar(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def attached(table):
    with connection.cursor() as cursor:
        return partitions.month_partitions(cursor, table)


def insert_audit_row(created_at: str) -> int:
    return scalar(
        "INSERT INTO portal_auditevent (created_at, action, object_type, object_id, object_repr,"
        " changes, request_id) VALUES (%s, 'test.row', '', '', '', '{}', '') RETURNING id",
        [created_at],
    )


def borrower():
    return MemberFactory(
        passing_out=timezone.localdate() + timedelta(days=400), monthly_allowance=300_000_00
    )


def approval_context(member) -> dict:
    application = approved_loan(member=member).application
    return {"application": application, "loan": application.loan}


class Notice:
    def __init__(self, event_id):
        self.event_id, self.event_type, self.reference = event_id, "charge.success", "NONE"
        self.payload = {"event": "charge.success"}


# --- PostgreSQL: the tables and their partitions ------------------------------------------


@pytest.mark.postgres
def test_the_append_only_tables_are_partitioned_by_month_on_postgres():
    _postgres()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT partrelid::regclass::text, partstrat FROM pg_partitioned_table "
            "WHERE partrelid::regclass::text = ANY(%s)",
            [list(TABLES)],
        )
        assert dict(cursor.fetchall()) == dict.fromkeys(TABLES, "r")
    for table in TABLES:
        assert scalar("SELECT to_regclass(%s) IS NOT NULL", [f"{table}_default"])
        this_month = timezone.now().date().replace(day=1)
        assert this_month in attached(table)


@pytest.mark.postgres
def test_new_rows_land_in_their_month_partition():
    _postgres()
    member = borrower()
    event = audit.record(actor=None, action="test.partition")
    webhook, _ = payment_services.store_webhook(provider_name="simulated", notice=Notice("e1"))
    [message] = notify_services.notify_member(
        member=member,
        kind="application_approved",
        context=approval_context(member),
        channels=["email"],
    )
    month = f"{timezone.now():%Y%m}"
    for model, row in ((AuditEvent, event), (WebhookEvent, webhook), (Message, message)):
        table = model._meta.db_table
        where = scalar(f"SELECT tableoid::regclass::text FROM {table} WHERE id = %s", [row.pk])  # noqa: S608
        assert where == f"{table}_p{month}"


@pytest.mark.postgres
def test_audit_rows_cannot_be_changed_in_any_partition_even_a_new_one():
    _postgres()
    partitions.ensure_partitions(today=date(2041, 3, 5), months_ahead=0)
    for created_at in (timezone.now().isoformat(), "2041-03-09T10:00:00+00:00"):
        pk = insert_audit_row(created_at)
        for sql in (
            "UPDATE portal_auditevent SET action = 'rewritten' WHERE id = %s",
            "DELETE FROM portal_auditevent WHERE id = %s",
        ):
            with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(sql, [pk])
    assert scalar("SELECT count(*) FROM portal_auditevent_p204103") == 1


@pytest.mark.postgres
def test_list_queries_read_only_the_months_they_ask_for():
    _postgres()
    partitions.ensure_partitions(since=date(2040, 1, 1), today=date(2040, 6, 1), months_ahead=0)
    since = timezone.datetime(2040, 5, 1, tzinfo=timezone.UTC)
    sql, params = (
        AuditEvent.objects.filter(created_at__gte=since).order_by("-created_at", "-id")[:26]
    ).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = json.dumps(cursor.fetchone()[0])
    assert "portal_auditevent_p204005" in plan and "portal_auditevent_p204006" in plan
    assert "portal_auditevent_p204004" not in plan and "portal_auditevent_p202" not in plan


# --- maintenance --------------------------------------------------------------------------


@pytest.mark.postgres
def test_ensure_partitions_makes_the_months_ahead_once():
    _postgres()
    made = partitions.ensure_partitions(today=date(2042, 11, 20), months_ahead=2)
    assert {(a["table"], a["partition"]) for a in made} == {
        (table, f"{table}_p{month}") for table in TABLES for month in ("204211", "204212", "204301")
    }
    assert partitions.ensure_partitions(today=date(2042, 11, 20), months_ahead=2) == []
    assert AuditEvent.objects.filter(action="partition.created").count() == 9


@pytest.mark.postgres
def test_rows_in_the_default_partition_are_moved_to_their_own_month_unchanged():
    _postgres()
    pk = insert_audit_row("2044-07-04T12:00:00+00:00")
    assert scalar("SELECT count(*) FROM portal_auditevent_default") == 1
    health = partitions.partition_health()
    assert health["portal_auditevent"]["default_rows"] == 1

    [moved] = [a for a in partitions.ensure_partitions() if a["action"] == "default_rows_moved"]

    assert moved["rows"] == 1 and moved["partitions"] == ["portal_auditevent_p204407"]
    assert scalar("SELECT count(*) FROM portal_auditevent_default") == 0
    row = AuditEvent.objects.get(pk=pk)
    assert row.action == "test.row" and row.created_at.year == 2044
    assert scalar("SELECT tableoid::regclass::text FROM portal_auditevent WHERE id = %s", [pk]) == (
        "portal_auditevent_p204407"
    )
    # The new default partition has the append-only trigger again (cloned from the parent).
    assert scalar(
        "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'portal_auditevent_default'::regclass"
        " AND tgname = 'portal_auditevent_append_only'"
    )
    assert AuditEvent.objects.filter(action="partition.default_rows_moved").exists()


@pytest.mark.postgres
def test_detach_keeps_recent_months_and_archives_the_expired(settings):
    _postgres()
    settings.PARTITION_RETENTION_MONTHS = {table: 3 for table in TABLES}
    today = date(2045, 6, 15)
    partitions.ensure_partitions(since=date(2045, 1, 1), today=today, months_ahead=1)
    old_row = insert_audit_row("2045-02-10T08:00:00+00:00")

    detached = partitions.detach_expired_partitions(today=today)

    names = {a["partition"] for a in detached}
    for table in TABLES:
        assert {f"{table}_p204501", f"{table}_p204502"} <= names
        assert not {m for m in attached(table) if m < date(2045, 3, 1)}
        assert {date(2045, m, 1) for m in range(3, 8)} <= set(attached(table))
        assert scalar("SELECT to_regclass(%s) IS NOT NULL", [f"{table}_archived_204502"])
    # Out of the live table, kept in the archive, and still append-only there.
    assert not AuditEvent.objects.filter(pk=old_row).exists()
    assert scalar("SELECT count(*) FROM portal_auditevent_archived_204502") == 1
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM portal_auditevent_archived_204502")
    recorded = AuditEvent.objects.filter(action="partition.detached")
    assert {e.changes["archived_as"] for e in recorded} >= {"portal_auditevent_archived_204502"}
    assert partitions.detach_expired_partitions(today=today) == []


@pytest.mark.postgres
def test_the_command_dry_run_changes_nothing(capsys):
    _postgres()
    before = {table: attached(table) for table in TABLES}
    call_command("maintain_partitions", "--dry-run", "--date", "2046-01-10")
    out = capsys.readouterr().out
    assert "would be created" in out and "would be detached" in out
    assert {table: attached(table) for table in TABLES} == before
    assert not AuditEvent.objects.filter(action__startswith="partition.").exists()


@pytest.mark.postgres
def test_the_command_and_the_task_make_the_months_ahead(capsys):
    _postgres()
    from core.tasks import maintain_partitions_task

    call_command("maintain_partitions", "--date", "2047-03-01")
    assert "portal_auditevent_p204706 created" in capsys.readouterr().out
    maintain_partitions_task.call_local()
    this_month = timezone.now().date().replace(day=1)
    assert all(this_month in attached(table) for table in TABLES)


@pytest.mark.postgres
def test_monitor_stats_reports_partition_health(capsys):
    _postgres()
    call_command("monitor_stats")
    stats = json.loads(capsys.readouterr().out)
    assert stats["partition_future_months_min"] >= 1
    assert stats["partition_default_rows"] == 0
    assert set(stats["partitions"]) == TABLES


# --- SQLite: plain tables, nothing to maintain ---------------------------------------------


def test_partition_maintenance_is_a_no_op_on_sqlite(capsys):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite behaviour")
    assert partitions.maintain_partitions() == []
    assert partitions.partition_health() is None
    call_command("maintain_partitions")
    assert "only on PostgreSQL" in capsys.readouterr().out


# --- uniqueness through the key tables (both databases) -----------------------------------


def test_a_duplicate_webhook_delivery_is_stored_once_and_found_through_its_key():
    first, created = payment_services.store_webhook(provider_name="paystack", notice=Notice("e9"))
    again, created_again = payment_services.store_webhook(
        provider_name="paystack", notice=Notice("e9")
    )
    assert created and not created_again and again.pk == first.pk
    assert WebhookEvent.objects.count() == WebhookEventKey.objects.count() == 1
    key = WebhookEventKey.objects.get()
    assert (key.webhook_id, key.received_at) == (first.pk, first.received_at)
    # Another provider may use the same event id.
    assert payment_services.store_webhook(provider_name="simulated", notice=Notice("e9"))[1]


def test_a_second_key_for_one_event_is_refused_by_the_database():
    WebhookEventKey.objects.create(
        provider="paystack", event_id="e1", webhook_id=1, received_at=timezone.now()
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        WebhookEventKey.objects.create(
            provider="paystack", event_id="e1", webhook_id=2, received_at=timezone.now()
        )
    MessageDedupeKey.objects.create(dedupe_key="k:email", message_id=1, created_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        MessageDedupeKey.objects.create(
            dedupe_key="k:email", message_id=2, created_at=timezone.now()
        )


def test_a_batch_of_messages_skips_a_key_written_meanwhile_by_another_run():
    member = MemberFactory()
    now = timezone.now()

    def message(key):
        return Message(
            member=member, channel="email", kind="application_approved", subject="s", body="b",
            scheduled_for=now, dedupe_key=key,
        )  # fmt: skip

    notify_services._save_all_once([message("event:1:email")])
    saved = notify_services._save_all_once(
        [message("event:1:email"), message("event:2:email"), message(None)]
    )
    assert [m.dedupe_key for m in saved] == ["event:2:email", None]
    assert Message.objects.filter(dedupe_key="event:1:email").count() == 1
    assert MessageDedupeKey.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_notifications_of_one_event_write_one_message():
    _postgres()
    from tests.payments.test_concurrency import race

    member = borrower()
    context = approval_context(member)

    def notify(i):
        return notify_services.notify_member(
            member=member, kind="application_approved", context=context, channels=["email"],
            dedupe_key="race:1",
        )  # fmt: skip

    results, errors = race(10, notify)
    assert not errors
    assert sorted(len(created) for created in results) == [0] * 9 + [1]
    assert Message.objects.filter(dedupe_key="race:1:email").count() == 1
