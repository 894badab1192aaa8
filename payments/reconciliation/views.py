"""Back office: column mappings, statement upload and the reconciliation screen (HTMX).

Every view needs ``payments.reconcile_statement`` (403 otherwise); the services check it
again. Row actions answer an HTMX request with the re-rendered row plus the totals panel
out of band, and an ordinary form post with a redirect back and a message.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from core.errors import DomainError
from core.filters import query_id, query_page_number
from core.money import format_naira
from core.permissions import staff_perm_required
from payments.models import ColumnMapping, LineStatus, StatementImport, StatementLine
from payments.reconciliation import selectors, services, suspense
from payments.reconciliation.forms import ColumnMappingForm, UploadForm

PERMISSION = services.PERMISSION
GROUP_SIZE = 50
LINES_TEMPLATE = "payments/recon_lines.html"
GROUPS = (
    (LineStatus.SUGGESTED, "Suggested matches — confirm, re-match or ignore"),
    (LineStatus.UNMATCHED, "Unmatched — re-match to a loan or ignore"),
    (LineStatus.MATCHED, "Matched (confirmed)"),
)


# --- Helpers ---------------------------------------------------------------------------------


def import_summary(statement: StatementImport) -> str:
    lines = "line" if statement.lines_total == 1 else "lines"
    return (
        f"{statement.lines_total} {lines}, {statement.lines_new} new, "
        f"{statement.lines_duplicate} already imported"
    )


def _back(request) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("recon:lines")


def _chosen_statement(value: str) -> tuple[StatementImport | None, str]:
    """The statement the screen shows: a given id, "all", or by default the latest import."""
    if value == "all":
        return None, "all"
    statement_id = query_id(value)
    if statement_id is not None:
        statement = get_object_or_404(StatementImport, pk=statement_id)
        return statement, str(statement.pk)
    statement = StatementImport.objects.order_by("-created_at", "-id").first()
    return statement, (str(statement.pk) if statement else "all")


def _with_query(**params) -> str:
    return f"{reverse('recon:lines')}?{urlencode({k: v for k, v in params.items() if v})}"


# --- Mappings --------------------------------------------------------------------------------


@staff_perm_required(PERMISSION)
def mapping_list(request):
    return render(
        request, "payments/recon_mappings.html", {"mappings": ColumnMapping.objects.all()}
    )


@staff_perm_required(PERMISSION)
def mapping_edit(request, pk=None):
    mapping = get_object_or_404(ColumnMapping, pk=pk) if pk else ColumnMapping()
    form = ColumnMappingForm(request.POST or None, instance=mapping)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_column_mapping(mapping=form.instance, actor=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Column mapping for {form.instance.bank_name} saved.")
            return redirect("recon:mappings")
    return render(request, "payments/recon_mapping_form.html", {"form": form, "mapping": mapping})


# --- Upload ----------------------------------------------------------------------------------


@staff_perm_required(PERMISSION)
def upload(request):
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                statement = services.import_statement(
                    mapping=form.cleaned_data["mapping"],
                    uploaded_file=form.cleaned_data["file"],
                    actor=request.user,
                )
            except DomainError as exc:
                form.add_error("file", exc.message)
            else:
                messages.success(
                    request, f"Imported {statement.file_name}: {import_summary(statement)}."
                )
                return redirect(f"{reverse('recon:upload')}?statement={statement.pk}")
    else:
        form = UploadForm(initial={"mapping": request.GET.get("mapping")})
    result = None
    statement_id = query_id(request.GET.get("statement"))
    if statement_id is not None:
        result = StatementImport.objects.filter(pk=statement_id).first()
    context = {
        "form": form,
        "has_mappings": ColumnMapping.objects.exists(),
        "result": result,
        "result_summary": import_summary(result) if result else "",
        "result_suggested": (
            result.lines.filter(status=LineStatus.SUGGESTED).count() if result else 0
        ),
        "recent": StatementImport.objects.select_related("mapping", "imported_by").order_by(
            "-created_at", "-id"
        )[:10],
    }
    return render(request, "payments/recon_upload.html", context)


# --- Reconciliation screen -------------------------------------------------------------------


@staff_perm_required(PERMISSION)
def lines(request):
    statement, statement_choice = _chosen_statement(request.GET.get("statement", ""))
    status = request.GET.get("status", "")
    if status not in LineStatus.values:
        status = ""
    groups = []
    if status:
        page = query_page_number(request.GET.get("page"))
        start = (page - 1) * GROUP_SIZE
        rows = list(
            selectors.statement_lines(statement=statement, status=status)[
                start : start + GROUP_SIZE + 1
            ]
        )
        query = {"statement": statement_choice, "status": status}
        groups.append(
            {
                "status": status,
                "title": LineStatus(status).label,
                "lines": rows[:GROUP_SIZE],
                "previous_url": _with_query(**query, page=page - 1) if page > 1 else "",
                "next_url": _with_query(**query, page=page + 1) if len(rows) > GROUP_SIZE else "",
                "page": page,
            }
        )
    else:
        for group_status, title in GROUPS:
            rows = list(
                selectors.statement_lines(statement=statement, status=group_status)[
                    : GROUP_SIZE + 1
                ]
            )
            more = len(rows) > GROUP_SIZE
            groups.append(
                {
                    "status": group_status,
                    "title": title,
                    "lines": rows[:GROUP_SIZE],
                    "next_url": _with_query(statement=statement_choice, status=group_status, page=2)
                    if more
                    else "",
                    "all_url": _with_query(statement=statement_choice, status=group_status)
                    if more
                    else "",
                }
            )
    context = {
        "statement": statement,
        "statement_choice": statement_choice,
        "statements": StatementImport.objects.select_related("mapping").order_by(
            "-created_at", "-id"
        )[:50],
        "status": status,
        "statuses": LineStatus.choices,
        "groups": groups,
        "totals": selectors.reconciliation_totals(statement),
        "next_url": request.get_full_path(),
    }
    template = LINES_TEMPLATE
    if request.htmx and not request.htmx.boosted:
        template = f"{LINES_TEMPLATE}#results"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _row_response(request, line: StatementLine, *, error: str = "", notice: str = ""):
    statement_choice = request.POST.get("statement", "")
    if query_id(statement_choice) is not None:
        statement = StatementImport.objects.filter(pk=query_id(statement_choice)).first()
    else:
        statement, statement_choice = None, "all"
    context = {
        "line": line,
        "row_error": error,
        "row_notice": notice,
        "statement_choice": statement_choice,
        "next_url": _back(request),
        "totals": selectors.reconciliation_totals(statement),
        "oob": True,
    }
    row = render_to_string(f"{LINES_TEMPLATE}#row", context, request=request)
    totals = render_to_string(f"{LINES_TEMPLATE}#totals", context, request=request)
    # A <template> keeps the out-of-band panel intact next to a table row while htmx parses.
    response = HttpResponse(f"{row}<template>{totals}</template>")
    patch_vary_headers(response, ("HX-Request",))
    return response


def _line_action(request, pk, action, describe):
    line = get_object_or_404(StatementLine, pk=pk)
    error = notice = ""
    try:
        line = action(line)
    except DomainError as exc:
        error = exc.message
    else:
        notice = describe(line)
    if request.htmx:
        line = selectors.statement_lines().get(pk=pk)
        return _row_response(request, line, error=error, notice=notice)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return redirect(_back(request))


@staff_perm_required(PERMISSION)
@require_POST
def confirm(request, pk):
    return _line_action(
        request,
        pk,
        lambda line: services.confirm_match(line=line, actor=request.user),
        lambda line: (
            f"{format_naira(line.amount)} confirmed as a repayment of "
            f"{line.suggested_loan.reference} (payment {line.payment.reference})."
        ),
    )


@staff_perm_required(PERMISSION)
@require_POST
def rematch(request, pk):
    return _line_action(
        request,
        pk,
        lambda line: services.rematch(
            line=line,
            actor=request.user,
            loan_reference=request.POST.get("loan_reference", ""),
        ),
        lambda line: (
            f"Line re-matched to {line.suggested_loan.reference}; confirm it to "
            "record the repayment."
        ),
    )


@staff_perm_required(PERMISSION)
@require_POST
def ignore(request, pk):
    return _line_action(
        request,
        pk,
        lambda line: services.ignore_line(
            line=line, actor=request.user, reason=request.POST.get("reason", "")
        ),
        lambda line: f"Line of {format_naira(line.amount)} ignored.",
    )


@staff_perm_required(PERMISSION)
@require_POST
def book_suspense(request, pk):
    return _line_action(
        request,
        pk,
        lambda line: suspense.book_to_suspense(line=line, actor=request.user),
        lambda line: (
            f"{format_naira(line.amount)} held in suspense; assign it to a loan or refund it "
            "from the suspense list."
        ),
    )
