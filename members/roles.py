"""Staff roles are Django groups with permissions, created and kept in sync by migrations.

Each app that adds permissions adds a data migration calling ``sync_role_permissions``; a
permission that does not exist yet (its app not migrated) is skipped until then.
"""

LOAN_OFFICERS = "Loan officers"
FINANCE = "Finance"
ADMINISTRATORS = "Administrators"
ROLES = (LOAN_OFFICERS, FINANCE, ADMINISTRATORS)

_MEMBER_READ = [
    "members.view_member",
    "members.view_memberdocument",
    "members.view_member_documents",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    LOAN_OFFICERS: [
        *_MEMBER_READ,
        "members.review_kyc",
        "loans.view_loanproduct",
        "loans.view_application",
        "loans.review_application",
        "loans.approve_application",
        "loans.view_loan",
        "payments.view_payment",
        "arrears.view_collections",
        "arrears.log_contact",
        "arrears.request_write_off",
        "servicing.waive_charges",
        "servicing.restructure_loan",
        "portal.view_auditevent",
    ],
    FINANCE: [
        *_MEMBER_READ,
        "loans.view_loanproduct",
        "loans.view_application",
        "loans.view_loan",
        "loans.disburse_loan",
        "payments.view_payment",
        "payments.add_payment",
        "payments.reverse_payment",
        "ledger.view_ledger",
        "payments.reconcile_statement",
        "payments.approve_refund",
        "arrears.view_collections",
        "arrears.log_contact",
        "arrears.request_write_off",
        "arrears.approve_write_off",
        "arrears.set_allowance_delay",
        "arrears.view_portfolio",
        "servicing.waive_charges",
        "reports.view_dailyreport",
        "portal.view_auditevent",
    ],
    ADMINISTRATORS: [
        *_MEMBER_READ,
        "members.reveal_bvn",
        "members.change_member",
        "members.view_deletionrequest",
        "members.approve_deletion",
        "members.edit_service_dates",
        "members.view_user",
        "members.change_user",
        # Roles change through members.role_changes (reason, audit, a second administrator
        # for Finance and Administrators), never by editing a group or a user's groups.
        "members.view_rolegrantrequest",
        "members.add_rolegrantrequest",
        "members.approve_rolegrantrequest",
        "members.view_staffidentity",
        "members.add_staffidentity",
        "members.change_staffidentity",
        "auth.view_group",
        "loans.view_loanproduct",
        "loans.add_loanproduct",
        "loans.change_loanproduct",
        "loans.view_application",
        "loans.view_loan",
        "payments.view_payment",
        "ledger.view_ledger",
        "arrears.view_portfolio",
        "reports.view_dailyreport",
        "portal.view_auditevent",
        "notifications.view_message",
    ],
}


def sync_role_permissions(apps, schema_editor=None):
    """Create the role groups and give each exactly the permissions that exist now."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for name in names:
            app_label, codename = name.split(".")
            perm = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if perm is not None:
                wanted.append(perm)
        group.permissions.add(*wanted)


# Permissions a role once held and must lose (sync only ever adds).
REMOVED_ROLE_PERMISSIONS: dict[str, list[str]] = {
    # H2 of the second outside review: with it an administrator could give its own role
    # any permission (e.g. payments.add_payment).
    ADMINISTRATORS: ["auth.change_group"],
}


def remove_role_permissions(apps, schema_editor=None):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, names in REMOVED_ROLE_PERMISSIONS.items():
        group = Group.objects.filter(name=role).first()
        if group is None:
            continue
        for name in names:
            app_label, codename = name.split(".")
            group.permissions.remove(
                *Permission.objects.filter(content_type__app_label=app_label, codename=codename)
            )
