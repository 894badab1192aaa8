"""Browser journeys: Playwright drives Debian's Chromium against pytest-django's live server.

Run with ``make test-e2e`` (``pytest -m e2e -p no:xdist``). Playwright's own browser download
is not used: the tests launch ``/usr/bin/chromium``. Without it the tests are skipped, unless
``E2E_REQUIRE_BROWSER=true`` (CI), where a missing browser fails the run.
"""

import os
from pathlib import Path

import pytest

# Playwright's sync API keeps an asyncio event loop running in the test thread, so Django's
# async-safety check would refuse the ORM calls the tests make (factories, assertions). The
# ORM is only touched between browser steps, never concurrently from the event loop.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
E2E_DIR = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    # tryfirst: the marker must be on the items before ``-m "not e2e"`` deselects by it.
    for item in items:
        if E2E_DIR in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        message = f"{CHROMIUM} is missing: install Debian's chromium package to run e2e tests"
        if os.environ.get("E2E_REQUIRE_BROWSER", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # Members are in Nigeria: day-first dates and Lagos time, as they see the site.
    return {**browser_context_args, "locale": "en-GB", "timezone_id": "Africa/Lagos"}


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings, tmp_path_factory):
    """An SQLite test database in a file rather than in memory.

    For an in-memory database pytest-django hands the test thread's single connection to the
    live server, and every request thread shares it. A browser sends requests concurrently
    (an HTMX filter request fired by a field losing focus while a link is followed), and two
    threads on one SQLite connection fail at random ("bad parameter or other API misuse").
    With a file each thread opens its own connection, as in production. PostgreSQL
    (``DATABASE_URL``) is left alone.
    """
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        path = tmp_path_factory.mktemp("e2e-db") / "test.sqlite3"
        database.setdefault("TEST", {})["NAME"] = str(path)


@pytest.fixture(scope="session")
def base_url(live_server):
    """Relative ``page.goto("/accounts/login/")`` goes to the live server."""
    return live_server.url


@pytest.fixture(autouse=True)
def _role_groups(transactional_db):
    """Every browser test uses a real database transaction: the live server runs in another
    thread and must see committed rows. After such a test pytest-django flushes the tables,
    which also deletes the role groups the ``members`` data migration created (permissions
    and content types come back through ``post_migrate``; groups do not). Re-running the
    idempotent ``sync_role_permissions`` before each test is cheaper and simpler than
    ``serialized_rollback=True``, which would reload every migrated row for every test.
    """
    from django.apps import apps

    from ledger.chart import ensure_chart
    from members.roles import sync_role_permissions

    sync_role_permissions(apps)
    ensure_chart()


@pytest.fixture
def page(page):
    # A journey step that waits longer than this is a bug, not a slow machine: fail fast.
    page.set_default_timeout(10_000)
    return page


@pytest.fixture
def huey_consumer(live_server, tmp_path):
    """A real Huey consumer in its own process, as in production, instead of immediate mode.

    The live server (and the test thread) enqueue into a queue file of this test's own; the
    consumer reads it and works on the same test database. It runs until the test ends.
    """
    import signal
    import subprocess
    import sys
    import time

    from django.db import connection
    from huey.contrib.djhuey import HUEY

    queue_path = tmp_path / "huey.sqlite3"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "HUEY_IMMEDIATE": "false",
        "HUEY_SQLITE_PATH": str(queue_path),
        "HUEY_NAME": f"e2e-{os.getpid()}-{tmp_path.name}",
    }
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        env["SQLITE_PATH"] = str(settings_dict["NAME"])
    else:
        env["DATABASE_URL"] = (
            f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:"
            f"{settings_dict['PORT']}/{settings_dict['NAME']}"
        )

    saved = dict(HUEY.storage_kwargs), HUEY.name
    HUEY.storage_kwargs["filename"] = str(queue_path)
    HUEY.name = env["HUEY_NAME"]
    HUEY.immediate = False  # re-creates the storage from the kwargs above
    manage = Path(__file__).resolve().parents[2] / "manage.py"
    process = subprocess.Popen(  # noqa: S603 - our own manage.py with the test interpreter
        [sys.executable, str(manage), "run_huey", "--no-periodic", "--workers", "1"],
        env=env,
    )
    time.sleep(0.5)
    assert process.poll() is None, "the Huey consumer did not start"
    try:
        yield process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        HUEY.storage_kwargs.clear()
        HUEY.storage_kwargs.update(saved[0])
        HUEY.name = saved[1]
        HUEY.immediate = True
