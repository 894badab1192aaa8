"""Domain events: an app tells the apps above it what happened, without importing them."""

from typing import Any

from django.db import transaction
from django.dispatch import Signal


def send_after_commit(signal: Signal, sender: Any, **payload: Any) -> None:
    """Send ``signal`` once the current transaction commits (never for a rolled-back change).

    ``robust``: a receiver that fails (the queue down for a moment) is logged and never turns
    the committed change into an error page; the periodic sweepers pick up what was missed.
    """
    transaction.on_commit(lambda: signal.send(sender, **payload), robust=True)
