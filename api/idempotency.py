"""``Idempotency-Key`` for money and state POSTs.

The first request with a key stores its answer; the same key with the same body gets that
stored answer again (``Idempotent-Replayed: true``) and changes nothing; the same key with a
different body (or on another endpoint) is a 422. Keys are per user. The key row is inserted
in the same transaction as the business change: a concurrent duplicate blocks on the unique
index until the first commits and then replays its answer; if the first fails with a server
error, nothing (not even the key) is kept, so a retry runs again.
"""

import hashlib
import json
from collections.abc import Callable

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.http import Http404, JsonResponse

from api.errors import ApiError, error_body
from api.models import IdempotencyKey
from core.errors import DomainError

HEADER = "Idempotency-Key"


def _request_hash(request) -> str:
    try:
        body = json.dumps(json.loads(request.body or b"{}"), sort_keys=True, separators=(",", ":"))
    except ValueError:
        body = request.body.decode("latin-1")
    raw = "\n".join([request.method, request.path, body])
    return hashlib.sha256(raw.encode()).hexdigest()


def _valid_key(key: str) -> bool:
    return 1 <= len(key) <= 255 and key.isascii() and key.isprintable()


def _as_response(status: int, data, *, replayed: bool = False) -> JsonResponse:
    response = JsonResponse(data, status=status, safe=False)
    response["Cache-Control"] = "no-store"
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def _run(operation: Callable[[], tuple[int, dict]]) -> tuple[int, dict]:
    """The operation's answer, with the errors a person can cause as stored answers."""
    try:
        with transaction.atomic():
            status, data = operation()
        # Stored for replays, so JSON-native values only (datetimes as ISO 8601 text).
        return status, json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    except ApiError as exc:
        return exc.status, error_body(exc.code, exc.message, exc.fields)
    except DomainError as exc:
        return exc.http_status, error_body(exc.code, exc.message, exc.fields)
    except Http404:
        return 404, error_body("not_found", "No such object, or it is not yours.")


def idempotent(
    request, user, operation: Callable[[], tuple[int, dict]], *, required: bool = False
) -> JsonResponse:
    key = request.headers.get(HEADER)
    if key is None:
        if required:
            raise ApiError(
                400,
                "idempotency_key_required",
                f"Send an {HEADER} header (e.g. a UUID) with this request.",
                fields={HEADER: "Required"},
            )
        status, data = _run(operation)
        return _as_response(status, data)
    if not _valid_key(key):
        raise ApiError(
            400,
            "invalid_idempotency_key",
            f"{HEADER} must be 1 to 255 printable ASCII characters.",
            fields={HEADER: "Invalid"},
        )
    request_hash = _request_hash(request)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    user=user,
                    key=key,
                    request_hash=request_hash,
                    method=request.method,
                    path=request.path[:300],
                    response_status=0,
                    response_body={},
                )
        except IntegrityError:
            record = IdempotencyKey.objects.get(user=user, key=key)
            if record.request_hash != request_hash:
                raise ApiError(
                    422,
                    "idempotency_key_reused",
                    f"This {HEADER} was already used with a different request.",
                    fields={HEADER: "Reused with a different body"},
                ) from None
            return _as_response(record.response_status, record.response_body, replayed=True)
        status, data = _run(operation)
        record.response_status = status
        record.response_body = data
        record.save(update_fields=["response_status", "response_body"])
    return _as_response(status, data)
