"""JSON log lines with a request id and user id, never personal data.

Messages are written by our code, which never logs BVN, phone, e-mail or names; as a second
line of defence the formatter blanks any run of 11 digits (a BVN's shape).
"""

import json
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime

# The request being served, its id and the signed-in user's id: set by RequestIdMiddleware at
# the start of each request and cleared at its end; read by log lines and the audit trail
# (services never take the request: the address and request id reach the audit from here).
_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_user_id: ContextVar[int | None] = ContextVar("user_id", default=None)
_request: ContextVar[object | None] = ContextVar("request", default=None)
_ELEVEN_DIGITS = re.compile(r"(?<!\d)\d{11}(?!\d)")
# What error tracking must never receive, wherever it appears: a BVN's shape, e-mail
# addresses and Nigerian phone numbers (+234 / 0 followed by 10 digits).
_PII_PATTERNS = (
    _ELEVEN_DIGITS,
    re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"),
    re.compile(r"(?<!\d)(\+?234|0)[789][01]\d{8}(?!\d)"),
)


def set_request_context(request_id: str | None, user_id: int | None = None, request=None) -> None:
    _request_id.set(request_id)
    _user_id.set(user_id)
    _request.set(request)


def _current_user_id() -> int | None:
    """The signed-in user's id without causing a query: from the user object if something in
    the request already loaded it, else from an already loaded session."""
    user_id = _user_id.get()
    request = _request.get()
    if user_id is not None or request is None:
        return user_id
    user = getattr(request, "_cached_user", None)
    if user is not None:
        return user.pk if user.is_authenticated else None
    session = getattr(request, "session", None)
    if session is not None and getattr(session, "_session_cache", None) is not None:
        raw = session.get("_auth_user_id")
        return int(raw) if raw is not None and str(raw).isdigit() else None
    return None


def current_request():
    """The request this thread is serving, if any (audit of changes made outside a service)."""
    return _request.get()


def current_request_id() -> str | None:
    return _request_id.get()


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        record.user_id = _current_user_id()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = _ELEVEN_DIGITS.sub("[redacted]", record.getMessage())
        payload = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
            "request_id": getattr(record, "request_id", None),
            "user_id": getattr(record, "user_id", None),
        }
        for key in ("event", "status_code", "duration_ms", "path", "method", "task"):
            if hasattr(record, key):
                payload[key] = getattr(record, key)
        if record.exc_info:
            payload["exc"] = _ELEVEN_DIGITS.sub("[redacted]", self.formatException(record.exc_info))
        return json.dumps(payload, default=str)


def redact(text: str) -> str:
    for pattern in _PII_PATTERNS:
        text = pattern.sub("[redacted]", text)
    return text


def _redact_deep(value):
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redact_deep(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_deep(item) for item in value]
    return value


def scrub_sentry_event(event: dict, hint: dict | None = None) -> dict:
    """Sentry ``before_send``: the request shrinks to method and path, the user to an id, and
    every remaining string loses anything shaped like a BVN, e-mail or phone number."""
    request = event.get("request")
    if isinstance(request, dict):
        url = str(request.get("url", "")).split("?", 1)[0]
        event["request"] = {"method": request.get("method"), "url": url}
    user = event.get("user")
    if isinstance(user, dict):
        event["user"] = {"id": user["id"]} if user.get("id") is not None else {}
    return _redact_deep(event)
