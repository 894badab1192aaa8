"""Writing generated rows: PostgreSQL ``COPY`` or ``bulk_create``, with the ids handed out
ahead and the timestamps kept as generated."""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection, models


@dataclass
class Table:
    """The rows of one model for one batch, as dicts of column values (attnames)."""

    model: type[models.Model]
    rows: list[dict] = field(default_factory=list)

    def __post_init__(self):
        meta = self.model._meta
        self.columns = [f.attname for f in meta.concrete_fields]
        self.json_columns = {f.attname for f in meta.concrete_fields if _is_json(f)}
        self.defaults = {}
        for f in meta.concrete_fields:
            if f.has_default():
                default = f.get_default()
                self.defaults[f.attname] = default
            elif f.null:
                self.defaults[f.attname] = None
            elif isinstance(f, (models.CharField, models.TextField)):
                self.defaults[f.attname] = ""

    def add(self, **values) -> dict:
        row = {**self.defaults, **values}
        self.rows.append(row)
        return row


def _is_json(f) -> bool:
    return isinstance(f, models.JSONField)


class IdAllocator:
    """Primary keys handed out before the rows are written, so foreign keys can point at
    rows of the same batch. PostgreSQL: from the table's own sequence (safe alongside
    concurrent inserts); SQLite (one writer): after the current maximum."""

    def __init__(self):
        self._next: dict[str, int] = {}

    def take(self, model, count: int) -> list[int]:
        if count == 0:
            return []
        table = model._meta.db_table
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                    [table, count],
                )
                return [row[0] for row in cursor.fetchall()]
            if table not in self._next:
                cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608
                self._next[table] = cursor.fetchone()[0] + 1
        first = self._next[table]
        self._next[table] = first + count
        return list(range(first, first + count))

    def forget(self):
        self._next.clear()


def write_copy(tables: list[Table]) -> int:
    """PostgreSQL ``COPY … FROM STDIN`` (psycopg 3), one stream per table, in FK order."""
    written = 0
    with connection.cursor() as cursor:
        for table in tables:
            if not table.rows:
                continue
            columns = table.columns
            names = ", ".join(connection.ops.quote_name(c) for c in _db_columns(table))
            quoted = connection.ops.quote_name(table.model._meta.db_table)
            json_idx = [i for i, c in enumerate(columns) if c in table.json_columns]
            with cursor.cursor.copy(f"COPY {quoted} ({names}) FROM STDIN") as copy:
                for row in table.rows:
                    values = [row[c] for c in columns]
                    for i in json_idx:
                        values[i] = json.dumps(values[i])
                    copy.write_row(values)
            written += len(table.rows)
    return written


def _db_columns(table: Table) -> list[str]:
    by_attname = {f.attname: f.column for f in table.model._meta.concrete_fields}
    return [by_attname[c] for c in table.columns]


def write_bulk(tables: list[Table], batch_size: int = 2000) -> int:
    """``bulk_create`` of model instances (SQLite, and the baseline the COPY path is
    measured against)."""
    written = 0
    for table in tables:
        if not table.rows:
            continue
        table.model.objects.bulk_create(
            [table.model(**row) for row in table.rows], batch_size=batch_size
        )
        written += len(table.rows)
    return written


@contextmanager
def explicit_timestamps(*model_classes):
    """``bulk_create`` fills ``auto_now``/``auto_now_add`` with the current time; seeded rows
    carry their own history, so switch that off while they are written."""
    saved = []
    for model in model_classes:
        for f in model._meta.concrete_fields:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                saved.append((f, f.auto_now, f.auto_now_add))
                f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


# --- What one batch of members looks like --------------------------------------------------
