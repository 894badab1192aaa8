"""The officer application queue against the stock Django admin changelist, same data.

Usage (a PostgreSQL database seeded by ``manage.py seed_scale`` and migrated):

    uv run python bench/list_pages.py --database allaweeplus_scale_bench [--repeat 15]
    uv run python bench/list_pages.py --database allaweeplus_scale_bench --seed 500000

Both are requested in-process through Django's test ``Client`` (server time: middleware,
queries, template rendering; no network), as a superuser, ``DEBUG=false`` settings:

- ours: ``/backoffice/applications/`` full page and HTMX partial, page 1 and page 5,000
  (reached the way "Next" reaches it: a keyset cursor), filtered and searched; also page
  5,000 by ``?page=`` (OFFSET, what keyset pagination replaces), for comparison;
- stock: a plain ``ModelAdmin`` for ``Application`` registered on a separate admin site
  with ``list_filter``, ``search_fields`` and ``list_select_related`` set as anyone would,
  nothing else tuned (it counts rows, twice when filtered, and pages with OFFSET).

It prints median and p95 milliseconds, the number of queries of each page and the ratio
stock / ours. Targets: ≥ 15× faster than the stock admin, ≤ 50 ms at any page, the same
query count on page 1 and page 5,000.
"""

import argparse
import os
import statistics
import sys

from common import ROOT, django_environment, timed

sys.path.insert(0, str(ROOT))
os.chdir(ROOT)

PER_PAGE = 25


def configure(database: str) -> None:
    os.environ.update(django_environment(database))
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()


def stock_admin_urls():
    """A stock admin site for Application (what the seed's "admin at scale" would be)."""
    from django.contrib import admin
    from django.urls import include, path

    from loans.models import Application

    class StockApplicationAdmin(admin.ModelAdmin):
        list_display = (
            "reference",
            "applicant_name",
            "product",
            "amount",
            "tenure_months",
            "deployment_state",
            "status",
            "recommendation",
            "created_at",
        )
        list_filter = ("status", "product", "deployment_state", "is_flagged")
        search_fields = ("reference", "applicant_name", "member__phone", "member__state_code")
        list_select_related = ("product",)
        list_per_page = PER_PAGE

    site = admin.AdminSite(name="stockadmin")
    site.register(Application, StockApplicationAdmin)
    import config.urls

    return [path("stock-admin/", site.urls), path("", include(config.urls))]


urlpatterns: list = []


def keyset_cursor_for_page(queryset, page: int) -> str:
    """The cursor "Next" carries to reach ``page`` (the last row of the page before)."""
    from core.cursors import encode_cursor, keyset_ordering

    ordering = keyset_ordering(queryset.order_by("-created_at", "-id"))
    row = queryset.order_by("-created_at", "-id").values_list("created_at", "id")[
        (page - 1) * PER_PAGE - 1
    ]
    return encode_cursor(list(row), ordering)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="allaweeplus_scale_bench")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--deep-page", type=int, default=5000)
    parser.add_argument(
        "--seed", type=int, default=0, help="run seed_scale --members N first (resumable)"
    )
    args = parser.parse_args()

    configure(args.database)
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    if args.seed:
        call_command("migrate", verbosity=0)
        call_command("seed_scale", members=args.seed)
    global urlpatterns
    urlpatterns = stock_admin_urls()
    settings.ROOT_URLCONF = __name__ if __name__ != "__main__" else "__main__"

    from loans.models import Application
    from members.models import User

    total = Application.objects.count()  # once, outside every timing
    deep = args.deep_page
    if total < deep * PER_PAGE:
        deep = max(2, total // PER_PAGE)
        print(f"(only {total:,} applications: deep page is {deep})")
    user, _ = User.objects.get_or_create(
        email="bench-superuser@staff.allaweeplus.test",
        defaults={"is_staff": True, "is_superuser": True},
    )
    client = Client()
    client.force_login(user)
    ours, stock = "/backoffice/applications/", "/stock-admin/loans/application/"
    cursor = keyset_cursor_for_page(Application.objects.all(), deep)
    sample = Application.objects.order_by("-id").values_list("applicant_name", flat=True)[:1][0]
    prefix = sample.split()[0][:4]
    htmx = {"HX-Request": "true"}
    cases = [
        ("page 1", (ours, {}, None), (stock, {}, None)),
        ("page 1 (HTMX partial)", (ours, {}, htmx), None),
        (f"page {deep:,} (keyset)", (ours, {"page": deep, "after": cursor}, None),
         (stock, {"p": deep}, None)),
        (f"page {deep:,} (HTMX, keyset)", (ours, {"page": deep, "after": cursor}, htmx), None),
        (f"page {deep:,} by OFFSET (?page=)", (ours, {"page": deep}, None), None),
        ("status = in review", (ours, {"status": "in_review"}, None),
         (stock, {"status__exact": "in_review"}, None)),
        (f"search '{prefix}'", (ours, {"q": prefix}, None), (stock, {"q": prefix}, None)),
        (f"search '{prefix}' + approved", (ours, {"q": prefix, "status": "approved"}, None),
         (stock, {"q": prefix, "status__exact": "approved"}, None)),
    ]  # fmt: skip
    print(f"\n{total:,} applications in {args.database}; median of {args.repeat} requests\n")
    header = f"{'page':<34}{'ours ms':>9}{'p95':>8}{'q':>4}{'stock ms':>11}{'p95':>9}{'q':>4}"
    print(header + f"{'stock/ours':>12}")
    print("-" * (len(header) + 12))
    worst, ratios = 0.0, []
    for label, mine, theirs in cases:
        a = timed(client, mine[0], mine[1], mine[2], args.repeat)
        worst = max(worst, a["median"])
        line = f"{label:<34}{a['median']:>9.1f}{a['p95']:>8.1f}{a['queries']:>4}"
        if theirs:
            b = timed(client, theirs[0], theirs[1], theirs[2], max(3, args.repeat // 3))
            ratio = b["median"] / a["median"]
            if "OFFSET" not in label:
                ratios.append(ratio)
            line += f"{b['median']:>11.1f}{b['p95']:>9.1f}{b['queries']:>4}{ratio:>11.1f}×"
        print(line)
    print(
        f"\nslowest page of ours: {worst:.1f} ms (target ≤ 50 ms); stock admin / ours: "
        f"min {min(ratios):.1f}×, median {statistics.median(ratios):.1f}× (target ≥ 15×)"
    )


if __name__ == "__main__":
    main()
