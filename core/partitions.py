"""Monthly partitions of the append-only tables on PostgreSQL: months made ahead, months past
retention detached (kept as ``<table>_archived_YYYYMM``, never dropped).

The tables (audit events, the webhook inbox, member messages) are partitioned by UTC month
of their creation time by the migrations (core/pg_only.py), each with a DEFAULT partition
so that an insert never fails for want of a month. ``maintain_partitions`` runs daily
(core/tasks.py, ``manage.py maintain_partitions``) and:

- moves any rows found in the DEFAULT partition into partitions of their own months (rows
  land there only if this task did not run for ``PARTITION_MONTHS_AHEAD`` months, or with a
  clock far off); it logs an error, because it should not happen;
- creates the partitions of this month and the next ``PARTITION_MONTHS_AHEAD``;
- detaches months older than ``PARTITION_RETENTION_MONTHS[table]``.

Every change is written to the audit trail. On SQLite every function is a no-op.

Locks: creating a partition or detaching one takes an ACCESS EXCLUSIVE lock on the parent
for a moment (metadata only, plus a scan of the normally empty DEFAULT partition). ``DETACH
... CONCURRENTLY`` would avoid it but PostgreSQL refuses it while a DEFAULT partition exists,
and the DEFAULT partition is what makes inserts safe; so each step waits at most
``LOCK_TIMEOUT`` for the lock and otherwise gives up until the next day's run, instead of
queueing every insert behind it.
"""

import logging
import re
from dataclasses import dataclass
from datetime import UTC, date
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from core import audit
from core.pg_only import (
    DEFAULT_SUFFIX,
    add_months,
    create_month_partition,
    month_start,
    partition_name,
)

logger = logging.getLogger(__name__)

LOCK_TIMEOUT = "5s"


@dataclass(frozen=True)
class PartitionedTable:
    table: str
    column: str
    # The audit trail's archived months keep the append-only trigger (a detached partition
    # loses the one cloned from the parent).
    append_only: bool = False

    @property
    def default(self) -> str:
        return f"{self.table}{DEFAULT_SUFFIX}"

    @property
    def retention_months(self) -> int:
        return settings.PARTITION_RETENTION_MONTHS[self.table]


TABLES = (
    PartitionedTable("portal_auditevent", "created_at", append_only=True),
    PartitionedTable("payments_webhookevent", "received_at"),
    PartitionedTable("notifications_message", "created_at"),
)


def enabled() -> bool:
    return connection.vendor == "postgresql"


def _today(today: date | None) -> date:
    return today or timezone.now().astimezone(UTC).date()


def is_partitioned(cursor, table: str) -> bool:
    cursor.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s))",
        [table],
    )
    return cursor.fetchone()[0]


def month_partitions(cursor, table: str) -> dict[date, str]:
    """The attached month partitions of ``table`` by month (the DEFAULT one left out)."""
    cursor.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = %s::regclass",
        [table],
    )
    pattern = re.compile(rf"^{re.escape(table)}_p(\d{{4}})(\d{{2}})$")
    months = {}
    for (name,) in cursor.fetchall():
        match = pattern.match(name)
        if match:
            months[date(int(match[1]), int(match[2]), 1)] = name
    return months


def _default_months(cursor, spec: PartitionedTable) -> dict[date, int]:
    cursor.execute(
        f"SELECT date_trunc('month', \"{spec.column}\" AT TIME ZONE 'UTC')::date, count(*) "  # noqa: S608 - our table names
        f'FROM "{spec.default}" GROUP BY 1 ORDER BY 1'
    )
    return dict(cursor.fetchall())


def _record(action: str, changes: dict) -> None:

    audit.record(actor=None, action=action, changes=changes)


def _columns(cursor, table: str) -> str:
    cursor.execute(
        "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
        [table],
    )
    return cursor.fetchone()[0]


def _move_default_rows(cursor, spec: PartitionedTable, months: list[date]) -> None:
    """Give the rows in the DEFAULT partition partitions of their own months.

    PostgreSQL will not create a month whose rows sit in the DEFAULT partition, and the audit
    rows cannot be deleted from it (the append-only trigger). So the DEFAULT partition is
    detached whole, the months are created, a new empty DEFAULT is attached, the rows are
    inserted again through the parent (same ids, same contents: relocated, not rewritten) and
    the old DEFAULT table is dropped. One transaction: all of it or none of it."""
    moving = f"{spec.default}_moving"
    columns = _columns(cursor, spec.table)
    cursor.execute(f'ALTER TABLE "{spec.table}" DETACH PARTITION "{spec.default}"')
    cursor.execute(f'ALTER TABLE "{spec.default}" RENAME TO "{moving}"')
    for month in months:
        create_month_partition(cursor, spec.table, month)
    cursor.execute(f'CREATE TABLE "{spec.default}" PARTITION OF "{spec.table}" DEFAULT')
    cursor.execute(f'INSERT INTO "{spec.table}" ({columns}) SELECT {columns} FROM "{moving}"')  # noqa: S608
    cursor.execute(f'DROP TABLE "{moving}"')


def _free_archive_name(cursor, spec: PartitionedTable, month: date) -> str:
    base = f"{spec.table}_archived_{month:%Y%m}"
    name, n = base, 1
    while True:
        cursor.execute("SELECT to_regclass(%s) IS NULL", [name])
        if cursor.fetchone()[0]:
            return name
        n += 1
        name = f"{base}_{n}"


def _detach(cursor, spec: PartitionedTable, action: dict, month: date) -> None:
    name = action["partition"]
    archived = _free_archive_name(cursor, spec, month)
    cursor.execute(f'ALTER TABLE "{spec.table}" DETACH PARTITION "{name}"')
    cursor.execute(f'ALTER TABLE "{name}" RENAME TO "{archived}"')
    if spec.append_only:
        # Archived audit months stay unchangeable too.
        cursor.execute(
            f'CREATE TRIGGER "{archived}_append_only" BEFORE UPDATE OR DELETE ON "{archived}" '
            "FOR EACH ROW EXECUTE FUNCTION portal_audit_append_only()"
        )
    action["archived_as"] = archived
    _record("partition.detached", action)


def ensure_partitions(
    *,
    months_ahead: int | None = None,
    today: date | None = None,
    since: date | None = None,
    dry_run: bool = False,
) -> list[dict]:
    """Make the partitions of this month and the next ``months_ahead`` (and, with ``since``,
    of every month from then on), moving rows out of the DEFAULT partition first.
    Idempotent; returns what it did (or, with ``dry_run``, what it would do)."""
    if not enabled():
        return []
    months_ahead = settings.PARTITION_MONTHS_AHEAD if months_ahead is None else months_ahead
    current = month_start(_today(today))
    first = month_start(since) if since else current
    wanted = []
    month = first
    while month <= add_months(current, months_ahead):
        wanted.append(month)
        month = add_months(month, 1)
    actions = []
    for spec in TABLES:
        with connection.cursor() as cursor:
            if not is_partitioned(cursor, spec.table):
                continue
            existing = month_partitions(cursor, spec.table)
            in_default = _default_months(cursor, spec)
        if in_default:
            action = {
                "table": spec.table,
                "action": "default_rows_moved",
                "rows": sum(in_default.values()),
                "partitions": [partition_name(spec.table, m) for m in in_default],
            }
            logger.error(
                "rows found in a default partition",
                extra={"event": "partitions.default_rows", **action},
            )
            if not dry_run:

                def move(cursor, spec=spec, action=action, months=in_default):
                    _move_default_rows(cursor, spec, sorted(months))
                    _record("partition.default_rows_moved", action)

                _run_step(action, move)
            existing.update({m: partition_name(spec.table, m) for m in in_default})
            actions.append(action)
        for month in wanted:
            if month in existing:
                continue
            action = {
                "table": spec.table,
                "action": "created",
                "partition": partition_name(spec.table, month),
            }
            if not dry_run:

                def create(cursor, spec=spec, action=action, month=month):
                    create_month_partition(cursor, spec.table, month)
                    _record("partition.created", action)

                _run_step(action, create)
            actions.append(action)
    return actions


def detach_expired_partitions(*, today: date | None = None, dry_run: bool = False) -> list[dict]:
    """Detach the months that ended before the retention window (this month and the
    ``PARTITION_RETENTION_MONTHS[table]`` before it are kept) and keep each as
    ``<table>_archived_YYYYMM``. Returns what it did (or would do)."""
    if not enabled():
        return []
    current = month_start(_today(today))
    actions = []
    for spec in TABLES:
        with connection.cursor() as cursor:
            if not is_partitioned(cursor, spec.table):
                continue
            partitions = month_partitions(cursor, spec.table)
        oldest_kept = add_months(current, -spec.retention_months)
        for month, name in sorted(partitions.items()):
            if month >= oldest_kept:
                continue
            action = {
                "table": spec.table,
                "action": "detached",
                "partition": name,
                "retention_months": spec.retention_months,
            }
            if not dry_run:
                _run_step(action, lambda c, s=spec, a=action, m=month: _detach(c, s, a, m))
            actions.append(action)
    return actions


def _run_step(action: dict, work) -> None:
    """Run one step (``work(cursor)``) in its own transaction with a short lock timeout (see
    the module's docstring). A step that fails, e.g. cannot get its lock in time, is rolled
    back, logged and reported in the action (``error``); the next run tries again."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            work(cursor)
    except DatabaseError as exc:
        action["error"] = f"{type(exc).__name__}: {exc}".strip()[:300]
        logger.error("partition step failed", extra={"event": "partitions.failed", **action})


def maintain_partitions(*, today: date | None = None, dry_run: bool = False) -> list[dict]:
    """The daily run: months ahead first (an insert must never wait on a missing month), then
    the expired ones detached."""
    actions = ensure_partitions(today=today, dry_run=dry_run)
    actions += detach_expired_partitions(today=today, dry_run=dry_run)
    if actions and not dry_run:
        logger.info(
            "partitions maintained",
            extra={"event": "partitions.maintained", "actions": len(actions)},
        )
    return actions


def partition_health(*, today: date | None = None) -> dict[str, dict[str, Any] | None] | None:
    """Per table: months made ahead of this one and rows in the DEFAULT partition (should be
    0: rows there mean the daily task has not run for months). None on SQLite."""
    if not enabled():
        return None
    current = month_start(_today(today))
    health: dict[str, dict[str, Any] | None] = {}
    with connection.cursor() as cursor:
        for spec in TABLES:
            if not is_partitioned(cursor, spec.table):
                health[spec.table] = None
                continue
            months = month_partitions(cursor, spec.table)
            # The DEFAULT partition is normally empty: counting it is cheap.
            cursor.execute(f'SELECT count(*) FROM "{spec.default}"')  # noqa: S608
            health[spec.table] = {
                "partitions": len(months),
                "future_partitions": sum(month > current for month in months),
                "current_month_partition": current in months,
                "default_rows": cursor.fetchone()[0],
            }
    return health
