"""How deep the task queue is and how long its oldest task has waited.

Huey keeps no enqueue time in a task message, so the enqueuing process records one in the
queue's own key-value store (Redis hash for RedisHuey, a table in the SQLite file for
SqliteHuey) when Huey emits ``enqueued``, and the consumer deletes it when the task starts,
is revoked or expires. A retry is enqueued again and so gets a fresh time. The age reported is
that of the task the consumer will take next (the queue is first in, first out), so a stalled
or missing worker shows as a growing age, not only as a growing depth.
"""

import logging
import time

from huey import signals

logger = logging.getLogger("core.queue")

_KEY_PREFIX = "awp:enqueued-at:"
_DONE_SIGNALS = (
    signals.SIGNAL_EXECUTING,
    signals.SIGNAL_REVOKED,
    signals.SIGNAL_EXPIRED,
    signals.SIGNAL_CANCELED,
)


def _key(task_id: str) -> str:
    return f"{_KEY_PREFIX}{task_id}"


def connect(huey) -> None:
    """Record enqueue times on ``huey`` (idempotent: safe to call from every AppConfig.ready)."""
    if getattr(huey, "_awp_enqueue_times", False):
        return
    huey._awp_enqueue_times = True

    def record_enqueued(signal, task, *args, **kwargs):
        if huey.immediate:
            return  # runs inline: nothing ever waits
        huey.put(_key(task.id), time.time())

    def forget(signal, task, *args, **kwargs):
        if huey.immediate:
            return
        huey.delete(_key(task.id))

    huey.signal(signals.SIGNAL_ENQUEUED)(record_enqueued)
    huey.signal(*_DONE_SIGNALS)(forget)


def _next_task(huey):
    """The task the consumer will dequeue next, or None."""
    # Every Huey storage lists its items in dequeue order (Redis: the right end of the list).
    items = huey.storage.enqueued_items(1)
    return huey.deserialize_task(items[0]) if items else None


def queue_status(huey, now: float | None = None) -> dict:
    """``{"pending": n, "oldest_task_age_seconds": s or None}``; raises if the queue is down."""
    pending = huey.pending_count()
    age = None
    if pending:
        try:
            task = _next_task(huey)
            enqueued_at = huey.get(_key(task.id), peek=True) if task is not None else None
        except Exception:  # noqa: BLE001 - an unknown task class must not hide the depth
            logger.warning("could not read the oldest task's enqueue time", exc_info=True)
            enqueued_at = None
        if enqueued_at is not None:
            age = round(max(0.0, (now if now is not None else time.time()) - enqueued_at), 1)
    return {"pending": pending, "oldest_task_age_seconds": age}
