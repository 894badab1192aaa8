"""Keyset (cursor) pagination: newest first by ``(created_at, id)``.

The cursor is the position of the last row shown, so page 10,000 costs what page 1 costs:
the query starts at the position through the ``(-created_at, -id)`` indexes instead of
counting past earlier rows. There is no total count (no ``COUNT(*)`` of a big table).
"""

import binascii
from datetime import UTC, datetime

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpResponse
from ninja import Field, Schema

from api.errors import ApiError
from api.renderers import RENDERER, RENDERER_CONTENT_TYPE
from core.cursors import keyset_condition, pack, unpack


class PageParams(Schema):
    limit: int | None = Field(
        default=None,
        ge=1,
        le=200,
        description="Items per page (default 50, at most 200).",
    )
    cursor: str | None = Field(
        default=None, max_length=200, description="next_cursor of the previous page."
    )


def _invalid_cursor():
    return ApiError(
        400,
        "invalid_cursor",
        "The cursor is not one this API gave out.",
        fields={"cursor": "Invalid"},
    )


def encode_cursor(created_at: datetime, pk: int) -> str:
    return pack([created_at.isoformat(), pk])


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The position a ``next_cursor`` names; a 400 for anything this API did not write,
    including values no row can have (an id past bigint, an instant outside years 1–9999
    once in UTC), which would otherwise overflow in the query."""
    try:
        created, pk = unpack(cursor.encode())
        moment = datetime.fromisoformat(created)
        if moment.tzinfo is not None:
            moment.astimezone(UTC)
    except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError) as exc:
        raise _invalid_cursor() from exc
    if not isinstance(pk, int) or isinstance(pk, bool) or not 1 <= pk < 2**63:
        raise _invalid_cursor()
    if moment.tzinfo is None:
        raise _invalid_cursor()
    return moment, pk


def _page_of(queryset: QuerySet, page: PageParams):
    size = page.limit or settings.API_PAGE_SIZE
    queryset = queryset.order_by("-created_at", "-id")
    if page.cursor:
        created_at, pk = decode_cursor(page.cursor)
        meta = queryset.model._meta
        ordering = [(meta.get_field("created_at"), True), (meta.pk, True)]
        queryset = queryset.filter(keyset_condition(ordering, [created_at, pk]))
    return queryset, size


def paginate_rows(request, queryset: QuerySet, page: PageParams, shape) -> HttpResponse:
    """One page, newest first, as the response ``{"items": [...], "next_cursor": ...}``.

    The hot lists skip what a list nobody edits does not need, which was most of a list
    call's time: model instances (only ``shape.columns`` are read, as ``values()`` rows) and
    pydantic's validation of every item against the response schema (the page is rendered by
    the API's own renderer straight from the shape). The schema still documents the response;
    tests/api/test_list_shapes.py and the schemathesis run hold the two together.
    """
    queryset, size = _page_of(queryset, page)
    rows = list(queryset.values("id", *shape.columns)[: size + 1])
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        next_cursor = encode_cursor(rows[-1]["created_at"], rows[-1]["id"])

    data = {"items": [shape.from_row(row) for row in rows], "next_cursor": next_cursor}
    content = RENDERER.render(request, data, response_status=200)
    return HttpResponse(content, status=200, content_type=RENDERER_CONTENT_TYPE)
