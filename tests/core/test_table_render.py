"""The rows of the shared table template are rendered in Python (core/table_render.py):
the same markup as django-tables2's own template, cell for cell."""

import re
from datetime import UTC, date, datetime

import django_tables2 as tables
import pytest
from django.test import override_settings
from django.urls import reverse

from core.table_render import LocalDateColumn, LocalDateTimeColumn, render_rows
from devdata import scale_seed

pytestmark = pytest.mark.django_db

STOCK_TEMPLATE = "django_tables2/bootstrap5-responsive.html"


def tbody(body: str) -> str:
    start, end = body.index("<tbody"), body.index("</tbody>")
    return re.sub(r"\s+", " ", re.sub(r">\s+<", "><", body[start:end])).strip()


@pytest.mark.parametrize(
    "name, params, has_rows",
    [
        ("loans:queue", {}, True),
        ("loans:queue", {"sort": "amount"}, True),
        ("loans:queue", {"q": "zzzz-nobody"}, False),
        ("members:staff_list", {}, True),
        ("arrears:worklist", {}, None),
        ("payments:disbursement_queue", {}, None),
        ("audit_list", {}, True),
    ],
)
def test_rows_are_the_markup_of_the_stock_django_tables2_template(client, name, params, has_rows):
    from tests.factories import UserFactory

    scale_seed.seed(members=120, batch_size=120)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = reverse(name)
    ours = client.get(url, params).content.decode()
    with override_settings(DJANGO_TABLES2_TEMPLATE=STOCK_TEMPLATE):
        stock = client.get(url, params).content.decode()
    assert tbody(ours) == tbody(stock)
    if has_rows is not None:  # None: the small seed may or may not have such rows
        assert ("<td" in tbody(ours)) == has_rows


class Dated(tables.Table):
    stock_at = tables.DateTimeColumn(accessor="at", format="d M Y H:i", default="never")
    ours_at = LocalDateTimeColumn(accessor="at", format="d M Y H:i", default="never")
    stock_short = tables.DateTimeColumn(accessor="at")
    ours_short = LocalDateTimeColumn(accessor="at")
    stock_day = tables.DateColumn(accessor="day", format="D j M Y", default="—")
    ours_day = LocalDateColumn(accessor="day", format="D j M Y", default="—")


def test_date_columns_render_and_export_like_django_tables2s_template_columns():
    late_utc = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)  # already 2 March in Lagos
    data = [
        {"at": late_utc, "day": date(2026, 3, 2)},
        {"at": None, "day": None},
    ]
    table = Dated(data)
    for row in table.rows:
        assert row.get_cell("ours_at") == row.get_cell("stock_at")
        assert row.get_cell("ours_short") == row.get_cell("stock_short")
        assert row.get_cell("ours_day") == row.get_cell("stock_day")
        assert row.get_cell_value("ours_at") == row.get_cell_value("stock_at")
        assert row.get_cell_value("ours_day") == row.get_cell_value("stock_day")
    assert table.rows[0].get_cell("ours_at") == "02 Mar 2026 00:30"


class Flagged(tables.Table):
    name = tables.Column(attrs={"td": {"data-flag": lambda record: record["flag"]}})
    amount = tables.Column(localize=False)


def test_row_dependent_cell_attributes_and_escaping_survive():
    html = render_rows(Flagged([{"name": "<b>Ada</b>", "flag": "x", "amount": 1234567}]))
    assert 'data-flag="x"' in html
    assert "&lt;b&gt;Ada&lt;/b&gt;" in html
    assert ">1234567<" in html
    assert 'colspan="2"' in render_rows(Flagged([], empty_text="None yet"))


@pytest.mark.parametrize(
    "choices, value, attrs",
    [
        ([("", "---------"), ("LA", "Lagos"), ("KN", "Kano & <Kaduna>")], "LA", {"class": "x"}),
        ([("", "Any"), ("true", "Flagged"), ("false", "Not flagged")], None, {"required": True}),
        ([("Group", [("1", "One"), ("2", "Two")]), ("3", "Three")], ["2"], {"disabled": False}),
        ([(1, "One"), (2, "Two")], 2, {"aria-describedby": 'a"b'}),
    ],
)
def test_quick_select_renders_djangos_select_markup(choices, value, attrs):
    from django import forms

    from core.forms import QuickSelect

    stock = forms.Select(attrs=attrs, choices=choices).render("state", value, {"id": "id_state"})
    quick = QuickSelect(attrs=attrs, choices=choices).render("state", value, {"id": "id_state"})
    assert quick == stock


def test_filter_forms_render_as_before(client):
    from django import forms

    from core.forms import QuickSelect
    from tests.factories import UserFactory

    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = reverse("loans:queue")
    params = {"status": "approved", "deployment_state": "KN", "flagged": "true"}
    ours = client.get(url, params).content.decode()
    original = QuickSelect.render
    try:
        QuickSelect.render = forms.Select.render
        stock = client.get(url, params).content.decode()
    finally:
        QuickSelect.render = original
    form = re.compile(r"<form method=\"get\".*?</form>", re.S)
    assert re.sub(r"nonce=\"[^\"]+\"", "", form.search(ours).group()) == re.sub(
        r"nonce=\"[^\"]+\"", "", form.search(stock).group()
    )
    assert '<option value="KN" selected>' in ours
