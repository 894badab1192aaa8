"""Schemathesis against /api/v1/openapi.json, in-process through WSGI.

Bounded and deterministic (few derandomized examples per operation): zero server errors, and
every answer's status code, content type and body conform to the published schema — for an
anonymous caller, a member and finance staff.
"""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import in_review, token_for
from tests.factories import active_loan, make_finance, product

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())

FUZZ = settings(
    max_examples=8,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def _keep_test_connection():
    """Like Django's test client: a WSGI request must not close the connection that holds
    the test's transaction (on PostgreSQL with the pool it would, between requests)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def callers(db, settings, _keep_test_connection):
    settings.API_RATE_LIMIT_ANON = 10**6
    settings.API_RATE_LIMIT_AUTH = 10**6
    product()
    loan = active_loan()
    in_review()
    return {
        "anonymous": {},
        "member": {"Authorization": f"Bearer {token_for(loan.member.user)}"},
        "finance": {"Authorization": f"Bearer {token_for(make_finance())}"},
    }


@pytest.mark.parametrize("who", ["anonymous", "member", "finance"])
@schema.parametrize()
@FUZZ
def test_api_conforms_to_its_schema(case, who, callers):
    case.call_and_validate(headers=callers[who], checks=CHECKS)
