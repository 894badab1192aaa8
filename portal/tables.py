"""One shared way to show a back-office table: django-tables2 + django-filter + HTMX.

The full page renders the filter form and the table; an HTMX request (sorting, paging or
typing in the filter) gets only ``portal/_table.html``. Pages use a lazy paginator so a
big table is never counted exactly in the request path.
"""

from django.utils.cache import patch_vary_headers
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin
from django_tables2.paginators import LazyPaginator


class HtmxTableView(SingleTableMixin, FilterView):
    paginator_class = LazyPaginator
    paginate_by = 25
    template_name = "portal/table_page.html"
    partial_template_name = "portal/_table.html"
    page_title = ""
    strict = False

    def get_template_names(self):
        if getattr(self.request, "htmx", False) and not self.request.htmx.boosted:
            return [self.partial_template_name]
        return [self.template_name]

    def get_filterset(self, filterset_class):
        filterset = super().get_filterset(filterset_class)
        for field in filterset.form.fields.values():
            css = (
                "form-select"
                if getattr(field.widget, "input_type", "") == "select"
                else "form-control"
            )
            field.widget.attrs.setdefault("class", f"{css} form-control-sm")
        return filterset

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["page_title"] = self.page_title
        return context

    def render_to_response(self, context, **kwargs):
        response = super().render_to_response(context, **kwargs)
        patch_vary_headers(response, ("HX-Request",))
        return response
