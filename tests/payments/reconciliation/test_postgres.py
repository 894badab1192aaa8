"""PostgreSQL: row locks and concurrent unique inserts of reconciliation."""

from datetime import date, timedelta

import pytest
from django.db import connection

from core.errors import Conflict
from ledger import chart
from ledger.models import Account
from ledger.selectors import loan_balance
from payments.models import Payment, StatementImport, StatementLine
from payments.reconciliation.services import confirm_match, import_statement
from tests.factories import make_finance
from tests.payments.reconciliation.builders import (
    active_loan,
    signed_mapping,
    statement_csv,
    suggested_line,
    upload,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed_db(transactional_db):
    """Threads need committed rows. A flush by an earlier transactional test removes the rows
    data migrations made (role groups, chart of accounts): put them back first."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent unique inserts are tested on PostgreSQL")
    from django.apps import apps

    from members.roles import sync_role_permissions

    sync_role_permissions(apps)
    for code, name, kind in chart.CHART:
        Account.objects.update_or_create(code=code, defaults={"name": name, "type": kind})
    chart._accounts_by_code.clear()
    yield
    chart._accounts_by_code.clear()


def run_in_threads(count, work):
    """Start ``count`` threads together; return each one's result or exception."""
    import threading

    barrier = threading.Barrier(count)
    results = [None] * count

    def run(i):
        try:
            barrier.wait()
            results[i] = work()
        except Exception as exc:  # collected for the assertions
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.postgres
def test_concurrent_imports_of_one_file_store_each_line_once(committed_db):
    finance = make_finance()
    mapping = signed_mapping()
    rows = [
        (date(2025, 3, 1) + timedelta(days=i % 28), f"{100 + i}.00", f"TRF {i}") for i in range(200)
    ]
    content = statement_csv(*rows)
    results = run_in_threads(
        6, lambda: import_statement(mapping=mapping, uploaded_file=upload(content), actor=finance)
    )
    assert all(isinstance(r, StatementImport) for r in results), results
    assert StatementLine.objects.count() == 200
    assert sum(r.lines_new for r in results) == 200
    assert all(r.lines_new + r.lines_duplicate == 200 for r in results)


@pytest.mark.postgres
def test_concurrent_confirms_of_one_line_post_one_payment(committed_db):
    finance = make_finance()
    loan = active_loan()
    before = loan_balance(loan)
    line = suggested_line(finance, loan, amount=5_000_00)
    results = run_in_threads(6, lambda: confirm_match(line=line, actor=finance))
    assert sum(isinstance(r, StatementLine) for r in results) == 1
    assert all(isinstance(r, Conflict) for r in results if not isinstance(r, StatementLine))
    assert Payment.objects.count() == 1
    assert loan_balance(loan) == before - 5_000_00
