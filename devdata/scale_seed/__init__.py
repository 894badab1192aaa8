"""Fake but realistic data at scale, written fast: PostgreSQL ``COPY``, ``bulk_create`` elsewhere.

``manage.py seed_scale --members N`` builds N corps members and what their lives with us
leave behind: verified e-mail addresses, loan applications with their history, loans with
their schedules, repayments (checkout payments arrive as webhook events) and the audit trail.
Nobody here is a real person: names come from hand lists of common Nigerian first names and
surnames, e-mail addresses end in ``.test``, BVNs are sequential numbers encrypted with the
configured PII keys exactly as sign-up stores them.

Members are written in batches of ``batch_size``; each batch is one transaction, generated
from a random number generator seeded with the batch number, and recognised by the e-mail
address of its first member. A batch already in the database is skipped, so a run that was
interrupted continues where it stopped, and a second run (or a run with a larger N) adds only
what is missing.

What is simplified: the ledger is not seeded (journal entries and postings would double the
row count; the ledger has its own benchmarks), and the key facts snapshot leaves out the
boilerplate paragraphs (late-fee wording, complaints) the real statement carries.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date

from django.db import connection, transaction

from core import partitions
from core.models import AuditEvent
from devdata.scale_seed.batch import build_batch
from devdata.scale_seed.context import (
    EMAIL_DOMAIN,
    OFFICER_DOMAIN,
    SEED_PASSWORD,
    Context,
    build_context,
    member_email,
)
from devdata.scale_seed.writers import IdAllocator, explicit_timestamps, write_bulk, write_copy
from loans.models import Application, ApplicationHistory, Loan
from members.models import Member, User
from payments.models import Payment, WebhookEvent

__all__ = [
    "EMAIL_DOMAIN",
    "OFFICER_DOMAIN",
    "SEED_PASSWORD",
    "Context",
    "SeedResult",
    "build_context",
    "compare_writers",
    "member_email",
    "seed",
]


@dataclass
class SeedResult:
    batches_written: int = 0
    batches_skipped: int = 0
    rows: int = 0
    seconds: float = 0.0
    by_table: dict = field(default_factory=dict)


def batch_exists(first: int) -> bool:

    return User.objects.filter(email=member_email(first)).exists()


def seed(
    *, members: int, batch_size: int = 5000, method: str = "auto", progress=None, ctx=None
) -> SeedResult:

    if method == "auto":
        method = "copy" if connection.vendor == "postgresql" else "bulk"
    if method == "copy" and connection.vendor != "postgresql":
        raise ValueError("COPY needs PostgreSQL; use --method bulk")
    ctx = ctx or build_context()
    ids = IdAllocator()
    result = SeedResult()
    started = time.perf_counter()
    timestamped = (User, Member, Application, ApplicationHistory, Loan, Payment, WebhookEvent,
                   AuditEvent)  # fmt: skip
    # Seeded history goes back to the 2020 batches: make those months' partitions first so
    # COPY routes the rows straight into them instead of into the DEFAULT partitions.
    partitions.ensure_partitions(since=date(2020, 1, 1))
    for first in range(0, members, batch_size):
        count = min(batch_size, members - first)
        if batch_exists(first):
            result.batches_skipped += 1
        else:
            with transaction.atomic(), explicit_timestamps(*timestamped):
                tables = build_batch(ctx, ids, first, count)
                result.rows += (write_copy if method == "copy" else write_bulk)(tables)
            for table in tables:
                name = table.model._meta.label
                result.by_table[name] = result.by_table.get(name, 0) + len(table.rows)
            result.batches_written += 1
        if progress:
            progress(first + count, members, result)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    result.seconds = time.perf_counter() - started
    return result


class _Rollback(Exception):
    pass


def compare_writers(*, members: int = 2000, ctx=None) -> dict:
    """Write the same generated rows with ``bulk_create`` and with ``COPY``, each in a
    transaction that is rolled back, and return rows, seconds and µs per row of both."""

    ctx = ctx or build_context()
    ids = IdAllocator()
    # An index range no real run reaches, so the sample never collides with seeded rows.
    tables = build_batch(ctx, ids, 9_000_000, members)
    rows = sum(len(t.rows) for t in tables)
    timings = {}
    writers = {"bulk_create": write_bulk}
    if connection.vendor == "postgresql":
        writers["copy"] = write_copy
    timestamped = (User, Member, Application, ApplicationHistory, Loan, Payment, WebhookEvent,
                   AuditEvent)  # fmt: skip
    for name, writer in writers.items():
        try:
            with transaction.atomic(), explicit_timestamps(*timestamped):
                began = time.perf_counter()
                writer(tables)
                with connection.cursor() as cursor:
                    cursor.execute("SELECT 1")  # the writes have reached the server
                timings[name] = time.perf_counter() - began
                raise _Rollback
        except _Rollback:
            pass
        ids.forget()
    return {
        "rows": rows,
        "seconds": timings,
        "us_per_row": {k: v * 1e6 / rows for k, v in timings.items()},
        "ratio": timings["bulk_create"] / timings["copy"] if "copy" in timings else None,
    }
