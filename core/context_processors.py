from django.urls import reverse


def navigation(request):
    """The menu for the signed-in user's role; permissions decide, not the template."""
    user = getattr(request, "user", None)
    items: list[tuple[str, str]] = []
    if user is None or not user.is_authenticated:
        return {"nav_items": items}
    if user.is_staff:
        items.append(("Back office", reverse("backoffice")))
        if user.has_perm("loans.view_application"):
            items.append(("Applications", reverse("loans:queue")))
        if user.has_perm("loans.disburse_loan"):
            items.append(("Disbursements", reverse("payments:disbursement_queue")))
        if user.has_perm("arrears.view_collections"):
            items.append(("Collections", reverse("arrears:worklist")))
        if user.has_perm("payments.reconcile_statement"):
            items.append(("Reconciliation", reverse("recon:lines")))
        if user.has_perm("ledger.view_ledger"):
            items.append(("Ledger", reverse("payments:trial_balance")))
        if user.has_perm("reports.view_dailyreport"):
            items.append(("Reports", reverse("reports:list")))
        if user.has_perm("members.view_member"):
            items.append(("Members", reverse("members:staff_list")))
        if user.has_perm("portal.view_auditevent"):
            items.append(("Audit log", reverse("audit_list")))
        if user.is_superuser or user.has_perm("loans.change_loanproduct"):
            items.append(("Admin", reverse("admin:index")))
        items.append(("API tokens", reverse("api_tokens")))
    else:
        items.append(("My dashboard", reverse("members:dashboard")))
        items.append(("Apply", reverse("loans:apply")))
        items.append(("My profile", reverse("members:profile")))
        items.append(("API tokens", reverse("api_tokens")))
        items.append(("Messages", reverse("notifications:messages")))
    return {"nav_items": items}
