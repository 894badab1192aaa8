"""Keyset cursors: the one way a list, an HTMX table (core.tables) or an API list
(api.pagination), names "the page after this row".

A cursor is the sort values of the last row shown, packed as URL-safe base64 JSON
(``pack``/``unpack``); the next page is the rows strictly after those values in the list's
ordering (``keyset_condition``), one index range scan at any depth. A table's cursor is tagged
with its ordering (``encode_cursor``/``decode_cursor``); the API's is ``[created_at, id]``.
"""

import base64
import json
from datetime import UTC, datetime

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models import Q


def keyset_ordering(queryset) -> list[tuple[models.Field, bool]] | None:
    """The queryset's ordering as (field, descending) pairs ending in a unique column, or
    None when keyset pagination cannot serve it (a joined, nullable or computed column)."""
    model = queryset.model
    order = list(queryset.query.order_by) or list(model._meta.ordering)
    if not order:
        return None
    pairs = []
    for item in order:
        if not isinstance(item, str) or item == "?":
            return None
        descending = item.startswith("-")
        name = item.lstrip("-")
        if "__" in name:
            return None
        try:
            f = model._meta.pk if name == "pk" else model._meta.get_field(name)
        except FieldDoesNotExist:
            return None
        if not getattr(f, "concrete", False) or f.null or f.is_relation:
            return None
        pairs.append((f, descending))
        if f.primary_key or f.unique:
            return pairs
    # Not unique yet: the primary key breaks ties, in the direction of the last column.
    pairs.append((model._meta.pk, pairs[-1][1]))
    return pairs


def ordering_key(ordering) -> str:
    return ",".join(("-" if d else "") + f.attname for f, d in ordering)


def pack(values: list) -> str:
    """A JSON list as URL-safe base64 without padding: the text of every cursor."""
    raw = json.dumps(values, separators=(",", ":"), default=str)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def unpack(text: str | bytes):
    """The JSON value of a cursor ``pack`` wrote; ValueError (or TypeError) for anything
    else."""
    if isinstance(text, bytes):
        raw = base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))
    else:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    return json.loads(raw)


def encode_cursor(values, ordering) -> str:
    """The sort values of a row, tagged with the ordering they belong to: a cursor kept in
    the URL after the user re-sorts by another column is ignored, never misapplied."""
    return pack([ordering_key(ordering), *values])


# A cursor is text from the URL: only what encode_cursor writes is taken back. The cap on
# its length keeps the base64 and JSON decoding small; the checks per value keep the query
# from overflowing (a 400-digit id, a year-9999 instant west of UTC, a NaN).
MAX_CURSOR_LENGTH = 1_000
_BIGINT = 2**63


def decode_cursor(text: str, ordering) -> list | None:
    """The sort values of a cursor this table gave out, or None for anything else (the
    page then starts from the top)."""
    if len(text) > MAX_CURSOR_LENGTH:
        return None
    try:
        data = unpack(text)
        if not isinstance(data, list) or len(data) != len(ordering) + 1:
            return None
        if data[0] != ordering_key(ordering):
            return None
        return [_cursor_value(f, v) for (f, _), v in zip(ordering, data[1:], strict=True)]
    except (ValueError, TypeError, OverflowError, ValidationError):
        return None


def _cursor_value(f, raw):
    """One sort value as encode_cursor wrote it (a JSON int for an integer column, else a
    string), within what the column holds; ValueError otherwise."""
    if isinstance(f, models.IntegerField):
        if isinstance(raw, bool) or not isinstance(raw, int) or not -_BIGINT <= raw < _BIGINT:
            raise ValueError("not an integer of the column")
        return raw
    if not isinstance(raw, str) or len(raw) > MAX_CURSOR_LENGTH:
        raise ValueError("not a value this table wrote")
    value = f.to_python(raw)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("an instant without its offset")
        value.astimezone(UTC)  # OverflowError past year 9999 or before year 1 in UTC
    return value


def keyset_condition(ordering, values, *, backwards: bool = False) -> Q:
    """Rows strictly after ``values`` in ``ordering`` (before, when ``backwards``).

    ``(a, b, id) < (x, y, z)`` written out as ORs, plus a bound on the first column alone
    (``a <= x``) so the database starts an index range scan there instead of filtering
    every earlier row. Under that bound ``a = x`` goes without saying in the branches after
    the first (``a < x OR b < y OR (b = y AND id < z)``): the API's ``(created_at, id)``
    condition is ``created_at <= x AND (created_at < x OR id < z)``."""
    branches: list[Q] = []
    equal: Q | None = None
    for i, ((f, descending), value) in enumerate(zip(ordering, values, strict=True)):
        going_down = descending != backwards
        branch = Q(**{f"{f.attname}__{'lt' if going_down else 'gt'}": value})
        branches.append(branch if equal is None else equal & branch)
        if i > 0:
            same = Q(**{f.attname: value})
            equal = same if equal is None else equal & same
    condition = branches[0]
    for branch in branches[1:]:
        condition |= branch
    first, first_descending = ordering[0]
    bound = "lte" if first_descending != backwards else "gte"
    return Q(**{f"{first.attname}__{bound}": values[0]}) & condition


def order_by_args(ordering) -> list[str]:
    """The ``order_by`` arguments of an ordering."""
    return [("-" if d else "") + f.attname for f, d in ordering]
