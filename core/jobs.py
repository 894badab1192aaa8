"""Background jobs, queued by services without importing their app's tasks module.

A tasks module imports its services (a task is a thin wrapper around one); if services
imported the tasks back, each app would hold an import loop. Instead a tasks module names its
Huey tasks here (``@jobs.job("loans.assess_application")``), its AppConfig imports it at
start-up, and services queue by that name after their transaction commits.
"""

from collections.abc import Callable
from typing import Any

from django.db import transaction

# name -> Huey task; a test replaces an entry with monkeypatch.setitem(jobs.REGISTRY, ...).
REGISTRY: dict[str, Callable[..., Any]] = {}


def job(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a Huey task under ``name`` (decorator; returns the task unchanged)."""

    def register(task: Callable[..., Any]) -> Callable[..., Any]:
        REGISTRY[name] = task
        return task

    return register


def enqueue(name: str, *args: Any) -> None:
    """Queue the job now (inside a task or a sweep, where there is nothing to wait for)."""
    try:
        task = REGISTRY[name]
    except KeyError:
        raise LookupError(
            f"no job is registered as {name!r}; is its tasks module loaded?"
        ) from None
    task(*args)


def enqueue_after_commit(name: str, *args: Any, robust: bool = True) -> None:
    """Queue the job once the current transaction commits (never for a rolled-back change).

    ``robust``: a queue outage is logged and never turns the committed change into an error
    page; the periodic sweepers pick up what was missed.
    """
    _registered(name)
    transaction.on_commit(lambda: enqueue(name, *args), robust=robust)


def _registered(name: str) -> Callable[..., Any]:
    try:
        return REGISTRY[name]
    except KeyError:
        raise LookupError(f"no job is registered as {name!r}; is its tasks loaded?") from None
