"""Rendering the back-office tables cheaply (the other half of core/tables.py).

A 25-row page is 200–250 cells. django-tables2 renders them through its template
(``{% for column, cell in row.items %}<td {{ column.attrs.td.as_html }}>…``), which recomputes
every column's attributes for every cell and resolves half a dozen template variables per
cell; its ``DateTimeColumn``/``DateColumn`` are ``TemplateColumn``s that compile a template
for every cell. Measured on the officer queue that was most of the server time of a page.

Here the cells keep django-tables2's own semantics (``BoundRow.get_cell``: accessors,
``get_FOO_display``, ``render_FOO``, ``linkify``, ``default``), only the loop around them is
plain Python, and a column's ``<td>`` attributes are computed once per page unless they are
callables of the row.
"""

from datetime import date, datetime

from django.template.defaultfilters import date as date_filter
from django.utils import formats
from django.utils.html import conditional_escape, format_html, strip_tags
from django.utils.safestring import SafeString, mark_safe

# What the template engine applies to ``{{ value }}``; django-stubs leaves it out.
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]
from django_tables2 import Column


class LocalDateTimeColumn(Column):
    """``DateTimeColumn`` without the template per cell: the same output
    (``{{ value|date:format|default:default }}`` in the current time zone), the same
    export value (ISO, or the default text)."""

    empty_values = ()  # as TemplateColumn: an empty value renders as the default

    def __init__(self, format=None, short=True, *args, **kwargs):
        if format is None:
            format = "SHORT_DATETIME_FORMAT" if short else "DATETIME_FORMAT"
        self.format = format
        super().__init__(*args, **kwargs)

    def render(self, value, bound_column):
        return date_filter(template_localtime(value), self.format) or bound_column.default

    def value(self, value, bound_column):
        if isinstance(value, datetime):
            return value.isoformat(sep=" ")
        return self._text(value, bound_column)

    def _text(self, value, bound_column):
        rendered = self.render(value, bound_column)
        return strip_tags(rendered).strip() if isinstance(rendered, str) else rendered


class LocalDateColumn(LocalDateTimeColumn):
    """``DateColumn`` without the template per cell (see ``LocalDateTimeColumn``)."""

    def __init__(self, format=None, short=True, *args, **kwargs):
        if format is None:
            format = "SHORT_DATE_FORMAT" if short else "DATE_FORMAT"
        super().__init__(format, short, *args, **kwargs)

    def value(self, value, bound_column):
        if isinstance(value, date):
            return value.isoformat()
        return self._text(value, bound_column)


def _td_spec(bound_column):
    """What ``BoundColumn.attrs["td"]`` reads: the column's td (or cell) attributes over the
    table's."""
    attrs = dict(bound_column._table.attrs)
    attrs.update(dict(bound_column.column.attrs))
    return attrs.get("td", attrs.get("cell", {}))


def _cell_text(cell, localize):
    # What the stock template does with ``{{ cell }}``, ``{{ cell|localize }}`` and
    # ``{{ cell|unlocalize }}``.
    if localize is None:
        return conditional_escape(formats.localize(template_localtime(cell)))
    return conditional_escape(str(formats.localize(cell, use_l10n=localize)))


def render_rows(table) -> SafeString:
    """The ``<tr>`` elements of the table's current page, as django-tables2's bootstrap
    template would render them (or its empty text)."""
    columns = list(table.columns)
    static_td = {}
    for bound_column in columns:
        spec = _td_spec(bound_column)
        if not any(callable(v) for v in spec.values()):
            # No callables: the attributes cannot differ between rows.
            static_td[bound_column.name] = bound_column.attrs["td"].as_html()
    out: list[str] = []
    for row in table.paginated_rows:
        out.append(format_html("<tr {}>", row.attrs.as_html()))
        for bound_column in columns:
            cell = row.get_cell(bound_column.name)
            td = static_td.get(bound_column.name)
            if td is None:
                # Callable attributes get the record and value, as in BoundRow.items().
                bound_column.current_value = cell
                bound_column.current_record = row.record
                td = bound_column.attrs["td"].as_html()
            out.append(f"<td {td}>{_cell_text(cell, bound_column.localize)}</td>")
        out.append("</tr>\n")
    if not out and table.empty_text:
        out.append(format_html('<tr><td colspan="{}">{}</td></tr>', len(columns), table.empty_text))
    # Every piece above is escaped (format_html, as_html, conditional_escape).
    return mark_safe("".join(out))  # noqa: S308


def install_signature_cache() -> None:
    """django-tables2 calls ``inspect.signature`` for every cell it renders (to pass each
    render method only the arguments it names): 250 signature computations for a 25-row
    table, most of its rendering time. A function's signature never changes, so remember it
    per function (weakly: a lambda that goes away takes its entry with it)."""
    import weakref

    from django_tables2 import utils

    if getattr(utils.signature, "cached", False):
        return
    uncached = utils.signature
    plain: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
    bound: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def signature(fn):
        func = getattr(fn, "__func__", None)
        table, key = (bound, func) if func is not None else (plain, fn)
        try:
            return table[key]
        except KeyError:
            pass
        except TypeError:  # not weak-referenceable: compute every time, as before
            return uncached(fn)
        result = table[key] = uncached(fn)
        return result

    signature.cached = True  # type: ignore[attr-defined]
    utils.signature = signature
