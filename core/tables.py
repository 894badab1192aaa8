"""One shared way to show a back-office table: django-tables2 + django-filter + HTMX.

The full page renders the filter form and the table; an HTMX request (sorting, paging or
typing in the filter) gets only ``portal/_table.html``.

Nothing in the request path grows with the size of the table:

- **Keyset pagination.** When the table is sorted by plain non-null columns of the model
  (every default ordering is), "Next" carries the sort values of the last row shown
  (``after=…``) and the next page is ``WHERE (created_at, id) < (…) ORDER BY … LIMIT 26``,
  one index range scan at any depth. Other orderings (e.g. by a joined column) and old
  ``?page=N`` links fall back to an OFFSET: by a deferred join (the skipped rows are read from
  the ordering's index only) when the ordering allows keyset pages, else django-tables2's
  ``LazyPaginator`` (never a count).
- **No exact COUNT(*).** An unfiltered list shows PostgreSQL's own estimate of its size (the
  planner's row estimate, from ``EXPLAIN``: the table's ``pg_class.reltuples`` scaled by the
  selectivity of the list's fixed conditions); a filtered one counts at most
  ``COUNT_CAP + 1`` rows and shows "10,000+" beyond.
- Only one query fetches the rows (the list view's own paginator is switched off, the table's
  paginator does the work), and the selectors decide the columns (``only``) and joins.
"""

from dataclasses import dataclass, field

from django.core.paginator import EmptyPage, PageNotAnInteger
from django.db import connections, models
from django.utils.cache import patch_vary_headers
from django_filters.views import FilterView
from django_tables2 import RequestConfig, SingleTableMixin
from django_tables2.paginators import LazyPaginator

from core import caching
from core.cursors import (
    decode_cursor,
    encode_cursor,
    keyset_condition,
    keyset_ordering,
    order_by_args,
)
from core.filters import query_page_number
from core.row_counts import row_count_label

# --- Keyset pagination (the cursors themselves: core.cursors) -------------------------------


@dataclass
class KeysetPage:
    """Quacks like the django Page the table templates read."""

    object_list: list
    number: int
    next_cursor: str | None = None
    previous_cursor: str | None = None
    paginator: object = field(default=None, repr=False)
    is_keyset: bool = True

    def has_next(self):
        return self.next_cursor is not None

    def has_previous(self):
        return self.previous_cursor is not None

    def has_other_pages(self):
        return self.has_next() or self.has_previous()

    def next_page_number(self):
        return self.number + 1

    def previous_page_number(self):
        return max(self.number - 1, 1)

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self):
        return len(self.object_list)


class _KeysetPaginator:
    num_pages = None

    def __init__(self, per_page):
        self.per_page = per_page


def paginate_keyset(
    table, *, per_page: int, after: str | None, before: str | None, number: int, cache_key=None
):
    """Fill ``table.page`` by keyset; False when the table's ordering does not allow it.

    With ``cache_key`` (a search), the page's primary keys and cursors are cached for three
    minutes (core.caching "search"): a repeated search costs one primary-key lookup."""
    if cache_key is None:
        return _paginate_keyset(table, per_page, after, before, number)

    queryset = table.data.data

    def build():
        if not _paginate_keyset(table, per_page, after, before, number):
            return None
        page = table.page
        pks = [row.record.pk for row in page.object_list]
        return pks, page.number, page.next_cursor, page.previous_cursor

    built = []
    cached = caching.cached("search", cache_key, lambda: built.append(1) or build())
    if cached is None:
        return False
    if built:  # this request built it: the table already holds the rows
        return True
    pks, number, next_cursor, previous_cursor = cached
    by_pk = {record.pk: record for record in queryset.filter(pk__in=pks)}
    from django_tables2.rows import BoundRows

    rows = [by_pk[pk] for pk in pks if pk in by_pk]
    table.paginator = _KeysetPaginator(per_page)
    table.page = KeysetPage(
        object_list=list(BoundRows(rows, table)),
        number=number,
        next_cursor=next_cursor,
        previous_cursor=previous_cursor,
        paginator=table.paginator,
    )
    return True


def _paginate_keyset(table, per_page, after, before, number):
    queryset = table.data.data
    if not isinstance(queryset, models.QuerySet):
        return False
    ordering = keyset_ordering(queryset)
    if ordering is None:
        return False
    cursor_values = decode_cursor(after or before or "", ordering)
    backwards = before is not None and cursor_values is not None
    if cursor_values is None:
        number = 1
    queryset = queryset.order_by(*order_by_args(ordering))
    if cursor_values is not None:
        queryset = queryset.filter(keyset_condition(ordering, cursor_values, backwards=backwards))
    if backwards:
        queryset = queryset.reverse()
    rows = list(queryset[: per_page + 1])
    more = len(rows) > per_page
    rows = rows[:per_page]
    if backwards:
        rows.reverse()
    if backwards:
        has_next, has_previous = True, more
    else:
        has_next, has_previous = more, cursor_values is not None
    _set_keyset_page(table, ordering, rows, per_page, number, has_next, has_previous)
    return True


def paginate_deferred_offset(table, *, per_page: int, number: int) -> bool:
    """Page ``number`` of an old ``?page=N`` link (no cursor), by a deferred join: the
    primary keys of the page come from the ordering's own index (an index-only scan that
    skips the earlier rows without reading them), then only those rows are fetched, joins
    and all. A plain ``OFFSET`` reads and joins every skipped row (700 ms at page 5,000 of
    535k applications against 12 ms). From there on "Next" and "Previous" carry cursors.

    False when the ordering does not allow keyset pages or the page is past the end (the
    LazyPaginator then answers as before)."""
    queryset = table.data.data
    if not isinstance(queryset, models.QuerySet) or number < 2:
        return False
    if not connections[queryset.db].features.allow_sliced_subqueries_with_in:
        return False
    ordering = keyset_ordering(queryset)
    if ordering is None:
        return False
    order_by = order_by_args(ordering)
    offset = (number - 1) * per_page
    page_keys = queryset.order_by(*order_by).values("pk")[offset : offset + per_page + 1]
    rows = list(queryset.filter(pk__in=page_keys).order_by(*order_by))
    if not rows:
        return False
    more = len(rows) > per_page
    _set_keyset_page(table, ordering, rows[:per_page], per_page, number, more, True)
    return True


def _set_keyset_page(table, ordering, rows, per_page, number, has_next, has_previous):
    from django_tables2.rows import BoundRows

    def cursor_of(record):
        return encode_cursor([getattr(record, f.attname) for f, _ in ordering], ordering)

    table.paginator = _KeysetPaginator(per_page)
    table.page = KeysetPage(
        object_list=list(BoundRows(rows, table)),
        number=max(number, 1),
        next_cursor=cursor_of(rows[-1]) if rows and has_next else None,
        previous_cursor=cursor_of(rows[0]) if rows and has_previous else None,
        paginator=table.paginator,
    )


# --- The view -----------------------------------------------------------------------------


class HtmxTableView(SingleTableMixin, FilterView):
    paginator_class = LazyPaginator
    per_page = 25
    template_name = "portal/table_page.html"
    partial_template_name = "portal/_table.html"
    page_title = ""
    row_noun = "rows"
    strict = False

    def get_template_names(self):
        if getattr(self.request, "htmx", False) and not self.request.htmx.boosted:
            return [self.partial_template_name]
        return [self.template_name]

    # The list view's own pagination is off: the table paginates (one query, not two).
    def get_paginate_by(self, table_data=None):
        return None

    def get_table(self, **kwargs):
        table = self.get_table_class()(data=self.get_table_data(), **kwargs)
        RequestConfig(self.request, paginate=False).configure(table)
        params = self.request.GET
        after, before = params.get("after"), params.get("before")
        number = query_page_number(params.get("page"))
        if (after or before or number == 1) and paginate_keyset(
            table,
            per_page=self.per_page,
            after=after,
            before=before,
            number=number,
            cache_key=self.search_cache_key(),
        ):
            return table
        if not (after or before) and paginate_deferred_offset(
            table, per_page=self.per_page, number=number
        ):
            return table
        # The page number parsed above and the view's page size, not django-tables2's own
        # reading of the request (any int: ``per_page=10000000`` would load the whole list).
        try:
            table.paginate(
                paginator_class=self.paginator_class, per_page=self.per_page, page=number
            )
        except (EmptyPage, PageNotAnInteger):
            table.paginate(paginator_class=self.paginator_class, per_page=self.per_page, page=1)
        return table

    def get_filterset(self, filterset_class):
        filterset = super().get_filterset(filterset_class)
        for form_field in filterset.form.fields.values():
            css = (
                "form-select"
                if getattr(form_field.widget, "input_type", "") == "select"
                else "form-control"
            )
            form_field.widget.attrs.setdefault("class", f"{css} form-control-sm")
        return filterset

    def search_cache_key(self) -> str | None:
        """Searches (a ``q`` term) are cached per user, view, query string and generation of
        the model (any save starts a new generation). Per user because a list's rows depend
        on who asks: a member's messages are theirs alone, and a back-office list may narrow
        per user within a permission; a key without the user served one member's page and
        count to the next member who typed the same search."""
        if not self.request.GET.get("q", "").strip():
            return None

        model = self.object_list.model._meta.label_lower
        params = sorted((k, v) for k, v in self.request.GET.lists() if k != "_")
        key = caching.query_key(type(self).__name__, params)
        user = f"u{self.request.user.pk}" if self.request.user.is_authenticated else "anon"
        return f"{type(self).__name__}:{user}:{caching.generation(model)}:{key}"

    def row_count(self) -> str:
        filtered = self.is_filtered()
        key = self.search_cache_key()
        if key is None:
            return row_count_label(self.object_list, filtered=filtered, noun=self.row_noun)

        return caching.cached(
            "search",
            f"count:{key}",
            lambda: row_count_label(self.object_list, filtered=filtered, noun=self.row_noun),
        )

    def is_filtered(self) -> bool:
        filterset = getattr(self, "filterset", None)
        if filterset is None or not filterset.is_bound or not filterset.form.is_valid():
            return False
        return any(v not in (None, "", [], ()) for v in filterset.form.cleaned_data.values())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["page_title"] = self.page_title
        context["row_count"] = self.row_count()
        return context

    def render_to_response(self, context, **kwargs):
        response = super().render_to_response(context, **kwargs)
        patch_vary_headers(response, ("HX-Request",))
        return response
