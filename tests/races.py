"""Races on PostgreSQL: many threads released together against the real database."""

import threading

from django.db import connections


def race(count, work):
    """Run ``work(i)`` in ``count`` threads released together; collect results/errors."""
    barrier = threading.Barrier(count)
    results, errors = [], []

    def run(i):
        try:
            barrier.wait()
            results.append(work(i))
        except Exception as exc:  # noqa: BLE001 - the test inspects every outcome
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results, errors
