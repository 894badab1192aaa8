"""Helpers for API tests: tokens, JSON calls, and applications in each state."""

import json

import pytest
from django.test import Client

from api.services import create_token
from loans import services as loan_services
from tests.factories import eligible_member, product, submitted_application


def token_for(user, scope="write", **kwargs) -> str:
    return create_token(user=user, name="test", scope=scope, expires_in_days=None, **kwargs)[1]


class Api:
    """A JSON client; with a token it sends ``Authorization: Bearer``."""

    def __init__(self, token: str | None = None, client: Client | None = None):
        self.token = token
        self.client = client or Client()

    def call(self, method, path, body=None, *, headers=None, raw=None, **extra):
        headers = dict(headers or {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        kwargs = {"headers": headers, **extra}
        if raw is not None or body is not None:
            kwargs["data"] = raw if raw is not None else json.dumps(body)
            kwargs["content_type"] = "application/json"
        url = path if path.startswith("/api/") else f"/api/v1{path}"
        return getattr(self.client, method.lower())(url, **kwargs)

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body, **kw)


def error_code(response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    return body["error"]["code"]


def new_member(**kwargs):
    return eligible_member(**kwargs)


def draft(member=None, prod=None, amount=60_000_00, tenure=3):
    member = member or new_member()
    prod = prod or product()
    return loan_services.start_application(
        member=member, actor=member.user, product=prod, amount=amount, tenure=tenure
    )


def in_review(member=None, prod=None, **kwargs):
    application = submitted_application(
        member=member or new_member(), loan_product=prod or product(), **kwargs
    )
    return application


@pytest.fixture
def anon():
    return Api()


@pytest.fixture
def member_api(db):
    member = new_member()
    api = Api(token_for(member.user))
    api.member = member
    return api


@pytest.fixture
def officer_api(officer):
    api = Api(token_for(officer))
    api.user = officer
    return api


@pytest.fixture
def finance_api(finance):
    api = Api(token_for(finance))
    api.user = finance
    return api
