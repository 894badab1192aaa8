"""Migration operations that exist only on PostgreSQL.

Expression indexes with operator classes (``UPPER(name) text_pattern_ops`` for a
case-insensitive prefix search) and trigram indexes (``pg_trgm``, for ``LIKE '%…%'``) have no
SQLite equivalent; on SQLite the operation does nothing and the plain indexes of the models
serve the development database. They are not part of the models' state, so
``makemigrations --check`` is unaffected.
"""

from datetime import date

from django.db import migrations


def postgres_sql(forward: list[str], backward: list[str]) -> migrations.RunPython:
    def run(statements):
        def apply(apps, schema_editor):
            if schema_editor.connection.vendor != "postgresql":
                return
            for statement in statements:
                schema_editor.execute(statement)

        return apply

    return migrations.RunPython(run(forward), run(backward), elidable=False)


def trigram_extension() -> migrations.RunPython:
    """``pg_trgm`` is a trusted extension (PostgreSQL 13+): the database owner may create it."""
    return postgres_sql(["CREATE EXTENSION IF NOT EXISTS pg_trgm"], [])


# --- Monthly range partitioning ----------------------------------------------------------
# Used by the migrations that turn the append-only tables (audit events, webhook inbox,
# member messages) into ``PARTITION BY RANGE (<timestamp>)`` tables, and by the maintenance
# service in core/partitions.py. Months are UTC calendar months: the bounds must be one
# unambiguous instant, and an event at 00:30 Lagos on the 1st belongs to the previous month.
# Nothing here imports models: migrations must not depend on today's models.

DEFAULT_SUFFIX = "_default"


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return day.replace(year=index // 12, month=index % 12 + 1, day=1)


def partition_name(table: str, month) -> str:
    return f"{table}_p{month:%Y%m}"


def create_month_partition(cursor, table: str, month) -> bool:
    """Create the partition of ``month`` (a date on the 1st) unless it exists; True if made.

    With a DEFAULT partition attached, PostgreSQL refuses to create a month whose rows already
    sit in the default; core/partitions.py moves such rows first."""
    name = partition_name(table, month)
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
    if cursor.fetchone()[0]:
        return False
    start, end = month_start(month), add_months(month, 1)
    cursor.execute(
        f'CREATE TABLE "{name}" PARTITION OF "{table}" '
        f"FOR VALUES FROM ('{start:%Y-%m-%d} 00:00:00+00') TO ('{end:%Y-%m-%d} 00:00:00+00')"
    )
    return True


def _months_of(cursor, table: str, column: str) -> list:
    cursor.execute(
        f"SELECT DISTINCT date_trunc('month', \"{column}\" AT TIME ZONE 'UTC')::date "  # noqa: S608 - our table names, never input
        f'FROM "{table}" ORDER BY 1'
    )
    return [row[0] for row in cursor.fetchall()]


def _capture(cursor, table: str) -> tuple[list[str], list[tuple[str, str]]]:
    """The table's plain indexes (not those backing a primary key or unique constraint) and
    its foreign keys, as SQL. ``LIKE`` copies neither; index names must survive verbatim so
    later Django migrations (RemoveIndex, RenameIndex) still find them."""
    cursor.execute(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass "
        "AND contype IN ('p', 'u', 'x')) ORDER BY indexname",
        [table, table],
    )
    indexes = [row[0] for row in cursor.fetchall()]
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
        [table],
    )
    return indexes, list(cursor.fetchall())


def _rebuild(schema_editor, *, table: str, column: str | None, months_ahead: int, today) -> None:
    """Copy ``table`` into a new table of the same name, columns, defaults, identity, checks,
    indexes and foreign keys: partitioned by month of ``column``, or plain when ``column`` is
    None. Runs inside the migration's transaction: all or nothing, the old table locked."""
    old = f"{table}_rebuild_old"
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
        indexes, foreign_keys = _capture(cursor, table)
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        sequence = cursor.fetchone()[0]
        cursor.execute(
            "SELECT array_agg(quote_ident(attname) ORDER BY attnum) FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            [table],
        )
        columns = ", ".join(cursor.fetchone()[0])
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'",
            [table],
        )
        primary_key = cursor.fetchone()[0]
        cursor.execute(f'ALTER TABLE "{table}" RENAME TO "{old}"')
        # Constraint indexes are named schema-wide: free the primary key's name too.
        cursor.execute(f'ALTER TABLE "{old}" RENAME CONSTRAINT "{primary_key}" TO "{old}_pkey"')
        # The identity sequence keeps its name through a rename; free it for the new table's.
        cursor.execute(f'ALTER SEQUENCE {sequence} RENAME TO "{old}_id_seq"')
        like = (
            f'LIKE "{old}" INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS '
            "INCLUDING STORAGE INCLUDING COMMENTS"
        )
        if column is None:
            cursor.execute(f'CREATE TABLE "{table}" ({like})')
            cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_pkey" PRIMARY KEY (id)')
        else:
            cursor.execute(f'CREATE TABLE "{table}" ({like}) PARTITION BY RANGE ("{column}")')
            # A primary key (and any unique index) of a partitioned table must contain the
            # partition key: (id, ts). id alone stays unique through the identity sequence.
            cursor.execute(
                f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_pkey" PRIMARY KEY (id, "{column}")'
            )
            current = month_start(today)
            months = set(_months_of(cursor, old, column))
            months.update(add_months(current, n) for n in range(months_ahead + 1))
            for month in sorted(months):
                create_month_partition(cursor, table, month)
            # A row whose month has no partition (the maintenance task was down for months, a
            # clock far off) lands here instead of failing the insert; the task moves it.
            cursor.execute(f'CREATE TABLE "{table}{DEFAULT_SUFFIX}" PARTITION OF "{table}" DEFAULT')
        cursor.execute(f'INSERT INTO "{table}" ({columns}) SELECT {columns} FROM "{old}"')  # noqa: S608
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, 'id'), COALESCE(MAX(id), 1), "  # noqa: S608
            f'MAX(id) IS NOT NULL) FROM "{table}"',
            [table],
        )
        cursor.execute(f'DROP TABLE "{old}"')
        for sql in indexes:
            cursor.execute(sql)
        for name, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')


def partition_by_month(*, table: str, column: str, months_ahead: int = 3):
    """Migration operation: on PostgreSQL turn ``table`` into monthly range partitions of
    ``column`` with the existing rows, a partition for every month they cover, the months up
    to ``months_ahead`` and a DEFAULT partition; reversible. SQLite keeps the plain table.

    Not part of the models' state (the model keeps ``id`` as its primary key; the database's
    is ``(id, column)``), so ``makemigrations --check`` is unaffected."""
    from datetime import UTC, datetime

    def forward(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            _rebuild(
                schema_editor,
                table=table,
                column=column,
                months_ahead=months_ahead,
                today=datetime.now(UTC).date(),
            )

    def backward(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            _rebuild(schema_editor, table=table, column=None, months_ahead=0, today=None)

    return migrations.RunPython(forward, backward, elidable=False)
