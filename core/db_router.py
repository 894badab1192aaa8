"""Reports and finance exports read from a PostgreSQL replica when one is configured.

``DATABASE_REPLICA_URL`` adds ``DATABASES["replica"]`` and installs ``ReplicaRouter``
(config/settings.py); without it nothing here runs. The router never picks the replica on
its own: reads go to ``default`` unless the code is inside ``reading_from_replica()`` (a
context manager and decorator, held in a context variable, so one thread's report never
moves another thread's reads). Writes and migrations always go to ``default``.

What reads from the replica: the finance report pages and their downloads, the date-range
exports, the API's stored daily report and the back-office dashboard figures. These are
aggregates and history, cached or about days already finished, so a replica a few seconds
behind changes nothing anyone acts on.

What does not: everything a person has just changed and expects to see, above all a
member's own data export ("everything we hold about you") and a loan statement, asked for
right after a profile change or a payment. A replica lagging by even a second could leave
that change out of a document the member is entitled to be complete. Generating the daily
report stays on ``default`` too: it writes the report and checks the ledger, and a check of
money must read what was committed.
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings

REPLICA = "replica"
_replica_reads: ContextVar[bool] = ContextVar("replica_reads", default=False)


@contextmanager
def reading_from_replica():
    """Reads inside go to the replica (when configured); usable as a decorator."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


def iterate_from_replica(rows: Iterable) -> Iterator:
    """For a streamed response: its generator runs after the view has returned, so each
    step is read from the replica here rather than under the view's context."""
    iterator = iter(rows)
    while True:
        with reading_from_replica():
            try:
                row = next(iterator)
            except StopIteration:
                return
        yield row


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if _replica_reads.get() and replica_configured():
            return REPLICA
        # None: Django's default, the database of a related instance or ``default``.
        return None

    def db_for_write(self, model, **hints):
        # Explicit, so an object read from the replica is saved to the primary.
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        # The replica holds the same rows as the primary.
        if {obj1._state.db, obj2._state.db} <= {"default", REPLICA}:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"
