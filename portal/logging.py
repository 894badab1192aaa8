"""JSON log lines with a request id and user id, never personal data.

Messages are written by our code, which never logs BVN, phone, e-mail or names; as a second
line of defence the formatter blanks any run of 11 digits (a BVN's shape).
"""

import json
import logging
import re
import threading
from datetime import UTC, datetime

_local = threading.local()
_ELEVEN_DIGITS = re.compile(r"(?<!\d)\d{11}(?!\d)")


def set_request_context(request_id: str | None, user_id: int | None = None) -> None:
    _local.request_id = request_id
    _local.user_id = user_id


def current_request_id() -> str | None:
    return getattr(_local, "request_id", None)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = getattr(_local, "request_id", None)
        record.user_id = getattr(_local, "user_id", None)
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
