"""Who may open what: every URL of the URL conf and every operation of the JSON API ×
{anonymous, member A, member B, loan officer, finance, administrator}.

The list of URLs is generated from ``get_resolver().url_patterns`` (walked recursively) and
the API's OpenAPI schema, so a URL added without a rule here fails
``test_every_url_has_a_rule``. Adding a rule is one line in ``RULES`` (or ``API_RULES``):

    "notifications:inbox": R("login 200 200 403 403 403"),

The six outcomes are in the order of ``ROLES``. Outcomes: an HTTP status (``200``, ``403``,
``404``, ``405``, ``401``, ``429``…), ``login`` (302 to the sign-in page), ``admin-login``
(302 to the admin sign-in), ``reauth`` (302 to re-authentication: the role passed the
permission check, then is asked for the password again) or ``302`` (any other redirect:
typically an action that answered with a message). Object URLs use member A's objects, so
member B must get a 403 or 404. Every request runs inside a savepoint that is rolled back,
so one role's POST never changes what the next role sees.
"""

import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlparse

import pytest
from django.contrib import admin
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from members.roles import ADMINISTRATORS, FINANCE, LOAN_OFFICERS, ROLE_PERMISSIONS
from payments.models import Refund
from tests.security.world import ROLES, World, build_world


@dataclass(frozen=True)
class R:
    """The expected outcome per role (``ROLES`` order), how to call the URL and with what."""

    expect: str
    method: str = "GET"
    kwargs: object = None  # world -> URL kwargs
    data: object = None  # form data, or the JSON body of an API call (or world -> either)
    headers: dict = field(default_factory=dict)

    def outcomes(self) -> dict[str, str]:
        values = self.expect.split()
        assert len(values) == len(ROLES), f"{self.expect!r} needs {len(ROLES)} outcomes"
        return dict(zip(ROLES, values, strict=True))


def A_LOAN(w):
    return {"reference": w.loan.reference}


def A_APP(w):
    return {"reference": w.application.reference}


def A_MESSAGE(w):
    from django.utils import timezone

    from notifications.models import Message

    message, _ = Message.objects.get_or_create(
        member=w.member_a,
        dedupe_key="matrix:a",
        defaults={
            "channel": "email",
            "kind": "application_received",
            "subject": "We received your application",
            "body": "Member A's message.",
            "scheduled_for": timezone.now(),
        },
    )
    return {"pk": message.pk}


def A_MEMBER(w):
    return {"pk": w.member_a.pk}


def A_REFUND(w):
    """A credit refund member A asked for (written directly: the matrix only needs a row)."""
    refund, _ = Refund.objects.get_or_create(
        reference="RFD-MATRIX-A",
        defaults={
            "source": "credit",
            "member": w.member_a,
            "loan": w.loan,
            "amount": 100,
            "bank_code": w.member_a.bank_code,
            "account_number": w.member_a.account_number,
            "account_name": w.member_a.full_name,
            "requested_by": w.member_a.user,
        },
    )
    return {"pk": refund.pk}


# Member pages: members only (staff get 403: the member portal is not for them).
MEMBER_ONLY = "login 200 200 403 403 403"
MEMBER_POST = "login 302 302 403 403 403"
# Member A's object: A sees it, B gets a 404 (its existence is not revealed).
A_ONLY = "login 200 404 403 403 403"
STAFF_ALL = "login 403 403 200 200 200"

RULES: dict[str, R] = {
    # --- portal ---------------------------------------------------------------------
    "home": R("200 302 302 302 302 302"),
    "backoffice": R("login 403 403 200 200 200"),
    "audit_list": R(STAFF_ALL),
    "healthz": R("200 200 200 200 200 200"),
    "readyz": R("200 200 200 200 200 200"),
    # Without METRICS_TOKEN only staff with a role read the metrics; others see nothing.
    "metrics": R("404 404 404 200 200 200"),
    "api_tokens": R("login 200 200 200 200 200"),
    "api_token_revoke": R("login 302 404 404 404 404", "POST", lambda w: {"pk": w.token.pk}),
    # --- allauth (sign-in, sign-up, password reset, MFA) -------------------------------
    "account_login": R("200 302 302 302 302 302"),
    "account_logout": R("302 200 200 200 200 200"),
    "account_inactive": R("200 200 200 200 200 200"),
    "account_signup": R("200 302 302 302 302 302"),
    "account_reauthenticate": R("login 200 200 200 200 200"),
    "account_request_reauthentication_code": R("login 200 200 200 200 200"),
    "account_confirm_reauthentication_code": R("login reauth reauth reauth reauth reauth"),
    "account_email": R("login 200 200 200 200 200"),
    "account_email_verification_sent": R("200 200 200 200 200 200"),
    "account_change_password": R("login 200 200 200 200 200"),
    "account_set_password": R("login 302 302 302 302 302"),
    "account_reset_password": R("200 200 200 200 200 200"),
    "account_confirm_login_code": R("login 302 302 302 302 302"),
    "account_confirm_email": R("200 200 200 200 200 200", kwargs=lambda w: {"key": "nope"}),
    "account_reset_password_from_key_done": R("200 200 200 200 200 200"),
    "account_reset_password_from_key": R(
        "200 200 200 200 200 200", kwargs=lambda w: {"uidb36": "1", "key": "set-password"}
    ),
    "account_reset_password_done": R("200 200 200 200 200 200"),
    "mfa_index": R("login 200 200 200 200 200"),
    "mfa_authenticate": R("login 302 302 302 302 302"),
    # Member B has TOTP (build_world), so the MFA pages answer B differently.
    "mfa_reauthenticate": R("login reauth 200 reauth reauth reauth"),
    "mfa_activate_totp": R("login reauth reauth reauth reauth reauth"),
    "mfa_deactivate_totp": R("login 404 reauth 404 404 404"),
    "mfa_view_recovery_codes": R("login 404 404 404 404 404"),
    "mfa_generate_recovery_codes": R("login reauth reauth reauth reauth reauth"),
    "mfa_download_recovery_codes": R("login 404 404 404 404 404"),
    # --- JSON API pages outside the operations ------------------------------------------
    "api-v1:openapi-json": R("200 200 200 200 200 200"),
    "api-v1:openapi-view": R("200 200 200 200 200 200"),
    "api-v1:api-root": R("404 404 404 404 404 404"),
    # Unknown /api/ paths: a JSON 404 for everyone.
    "<unnamed> ^api/": R("404 404 404 404 404 404"),
    # --- members ------------------------------------------------------------------------
    "members:dashboard": R(MEMBER_ONLY),
    # --- notifications: a member's own message log -----------------------------------------
    "notifications:messages": R(MEMBER_ONLY),
    "notifications:message_detail": R(A_ONLY, kwargs=A_MESSAGE),
    "members:profile": R(MEMBER_ONLY),
    # member_a and member_b are verified: a locked profile gets no lookup at all (409).
    "members:profile_validate": R("login 409 409 403 403 403", "POST"),
    # The data export asks for the password again first.
    "privacy:export_my_data_json": R("login reauth reauth reauth reauth reauth"),
    "privacy:export_my_data_csv": R("login reauth reauth reauth reauth reauth"),
    "members:upload_document": R(MEMBER_POST, "POST"),
    "members:submit_kyc": R(MEMBER_POST, "POST"),
    "privacy:request_deletion": R(MEMBER_POST, "POST"),
    "members:document": R("login 200 404 200 200 200", kwargs=lambda w: {"pk": w.document.pk}),
    "members:staff_list": R(STAFF_ALL),
    "members:staff_detail": R(STAFF_ALL, kwargs=A_MEMBER),
    "members:reveal_bvn": R("login 403 403 403 403 reauth", "POST", A_MEMBER),
    "members:verify_kyc": R("login 403 403 302 403 403", "POST", A_MEMBER),
    "members:reject_kyc": R("login 403 403 302 403 403", "POST", A_MEMBER),
    # --- loans (member side) --------------------------------------------------------------
    "loans:apply": R(MEMBER_ONLY),
    "loans:application_detail": R(A_ONLY, kwargs=A_APP),
    "loans:key_facts": R(A_ONLY, kwargs=A_APP),
    "loans:cancel": R("login 302 404 403 403 403", "POST", A_APP),
    "payments:loan_detail": R("login 200 404 200 200 200", kwargs=A_LOAN),
    "payments:statement_csv": R("login 200 404 200 200 200", kwargs=A_LOAN),
    "payments:loan_key_facts": R("login 200 404 200 200 200", kwargs=A_LOAN),
    # Not repaid yet: the owner and staff are sent back with a message; B gets nothing.
    "payments:discharge_letter": R("login 302 404 302 302 302", kwargs=A_LOAN),
    # --- loans (back office) --------------------------------------------------------------
    "loans:queue": R(STAFF_ALL),
    "loans:staff_application": R(STAFF_ALL, kwargs=A_APP),
    "loans:approve": R("login 403 403 302 403 403", "POST", A_APP),
    "loans:reject": R("login 403 403 302 403 403", "POST", A_APP),
    "loans:request_info": R("login 403 403 302 403 403", "POST", A_APP),
    "loans:add_note": R("login 403 403 302 403 403", "POST", A_APP),
    # --- payments ---------------------------------------------------------------------------
    # Webhooks: anyone may knock, an unsigned body is a 401 and nothing is stored.
    "payments:paystack_webhook": R("401 401 401 401 401 401", "POST"),
    "payments:pay": R("login 200 404 302 302 302", kwargs=A_LOAN),
    "payments:checkout_return": R("login 302 302 302 302 302"),
    "payments:disbursement_queue": R("login 403 403 403 200 403"),
    "payments:staff_loan": R(STAFF_ALL, kwargs=A_LOAN),
    "payments:resolve_account": R("login 403 403 403 302 403", "POST", A_LOAN),
    "payments:confirm_account": R("login 403 403 403 302 403", "POST", A_LOAN),
    "payments:disburse": R("login 403 403 403 reauth 403", "POST", A_LOAN),
    "payments:manual_disburse": R("login 403 403 403 reauth 403", "POST", A_LOAN),
    "payments:manual_payment": R("login 403 403 403 302 403", "POST", A_LOAN),
    "payments:reverse": R("login 403 403 403 302 403", "POST", lambda w: {"pk": w.payment.pk}),
    "payments:trial_balance": R("login 403 403 403 200 200"),
    "payments:refund_credit": R("login 200 404 302 302 302", kwargs=A_LOAN),
    "payments:staff_refund_credit": R("login 403 403 403 302 403", "POST", A_LOAN),
    "payments:refund_queue": R("login 403 403 403 200 403"),
    "payments:refund_approve": R("login 403 403 403 reauth 403", "POST", A_REFUND),
    "payments:refund_reject": R("login 403 403 403 302 403", "POST", A_REFUND),
    "payments:suspense": R("login 403 403 403 200 403"),
    # Finance without a loan reference or an account: the page again, with the error.
    "payments:suspense_assign": R(
        "login 403 403 403 200 403", "POST", lambda w: {"pk": w.statement_line.pk}
    ),
    "payments:suspense_refund": R(
        "login 403 403 403 200 403", "POST", lambda w: {"pk": w.statement_line.pk}
    ),
    # --- simulator (installed only where the simulated provider is allowed) -----------------
    "simulator:simulated_webhook": R("401 401 401 401 401 401", "POST"),
    # The simulated provider's hosted page: like Paystack's, whoever holds the reference.
    "simulator:simulated_checkout": R(
        "200 200 200 200 200 200", kwargs=lambda w: {"reference": w.checkout.reference}
    ),
    # --- reconciliation (finance) -------------------------------------------------------------
    "recon:lines": R("login 403 403 403 200 403"),
    "recon:upload": R("login 403 403 403 200 403"),
    "recon:mappings": R("login 403 403 403 200 403"),
    "recon:mapping_create": R("login 403 403 403 200 403"),
    "recon:mapping_edit": R("login 403 403 403 200 403", kwargs=lambda w: {"pk": w.mapping.pk}),
    "recon:confirm": R("login 403 403 403 302 403", "POST", lambda w: {"pk": w.statement_line.pk}),
    "recon:rematch": R("login 403 403 403 302 403", "POST", lambda w: {"pk": w.statement_line.pk}),
    "recon:ignore": R("login 403 403 403 302 403", "POST", lambda w: {"pk": w.statement_line.pk}),
    "recon:book_suspense": R(
        "login 403 403 403 302 403", "POST", lambda w: {"pk": w.statement_line.pk}
    ),
    # --- arrears (collections) ------------------------------------------------------------------
    "arrears:worklist": R("login 403 403 200 200 403"),
    "arrears:allowance_delays": R("login 403 403 403 200 403"),
    "arrears:cancel_allowance_delay": R(
        "login 403 403 403 302 403", "POST", lambda w: {"pk": w.allowance_delay.pk}
    ),
    "arrears:loan": R("login 403 403 200 200 403", kwargs=A_LOAN),
    "arrears:log_contact": R("login 403 403 302 302 403", "POST", A_LOAN),
    "arrears:request_write_off": R("login 403 403 reauth reauth 403", "POST", A_LOAN),
    "arrears:decide_write_off": R(
        "login 403 403 403 reauth 403",
        "POST",
        lambda w: {"reference": w.loan_b.reference, "pk": w.write_off.pk},
    ),
    # --- servicing (waivers on the staff loan page) ---------------------------------------------
    # Early settlement, prepayment, credit, schedule versions: the borrower acts; staff who see
    # the loan see the quote and the versions; acting for the member is the borrower's alone.
    "servicing:settle": R("login 200 404 200 200 200", kwargs=A_LOAN),
    "servicing:settle_pay": R("login 302 404 302 302 302", "POST", A_LOAN),
    "servicing:prepay": R("login 200 404 302 302 302", kwargs=A_LOAN),
    "servicing:use_credit": R("login 302 404 302 302 302", "POST", A_LOAN),
    "servicing:schedules": R("login 200 404 200 200 200", kwargs=A_LOAN),
    "servicing:loan_waivers": R("login 403 403 200 200 200", kwargs=A_LOAN),
    "servicing:request_waiver": R("login 403 403 302 302 403", "POST", A_LOAN),
    "servicing:decide_waiver": R(
        "login 403 403 302 302 403",
        "POST",
        lambda w: {"reference": w.loan.reference, "pk": w.waiver.pk},
    ),
    # Restructures: the borrower reads and accepts the offer (staff and B: 404); officers with the
    # permission propose and decide, every staff role who sees loans reads the page.
    "servicing:restructure_offer": R("login 200 404 404 404 404", kwargs=A_LOAN),
    "servicing:restructure": R("login 403 403 200 200 200", kwargs=A_LOAN),
    "servicing:decide_restructure": R(
        "login 403 403 302 403 403",
        "POST",
        lambda w: {"reference": w.loan.reference, "pk": w.restructure.pk},
    ),
    # --- reports ------------------------------------------------------------------------------
    "reports:list": R("login 403 403 403 200 200"),
    "reports:export": R("login 403 403 403 200 200"),
    "reports:download_csv": R("login 403 403 403 200 200", kwargs=lambda w: {"day": w.report_day}),
    "reports:download_xlsx": R("login 403 403 403 200 200", kwargs=lambda w: {"day": w.report_day}),
    # --- Django admin (site-level pages; model pages follow ADMIN_MODEL_RULE) -------------------
    "admin:index": R("admin-login admin-login admin-login 200 200 200"),
    # The admin signs in through allauth; a signed-in non-staff user is refused.
    "admin:login": R("login 403 403 302 302 302"),
    "admin:logout": R("302 302 302 405 405 405"),
    "admin:password_change": R("admin-login admin-login admin-login 200 200 200"),
    "admin:password_change_done": R("admin-login admin-login admin-login 200 200 200"),
    "admin:autocomplete": R("admin-login admin-login admin-login 403 403 403"),
    "admin:jsi18n": R("admin-login admin-login admin-login 200 200 200"),
    # Any other admin path: the sign-in for non-staff, a 404 for staff.
    "<unnamed> admin/(?P<url>.*)$": R(
        "admin-login admin-login admin-login 404 404 404", kwargs=lambda w: {"url": "nowhere/"}
    ),
    "admin:app_list": R(
        "admin-login admin-login admin-login 200 200 200", kwargs=lambda w: {"app_label": "members"}
    ),
    # Setting another user's password: only with members.change_user (administrators).
    "admin:auth_user_password_change": R(
        "admin-login admin-login admin-login 403 403 200",
        kwargs=lambda w: {"id": w.member_a.user.pk},
    ),
    "admin:view_on_site": R(
        "admin-login admin-login admin-login 302 302 302",
        kwargs=lambda w: {
            "content_type_id": _content_type_id(w.member_a),
            "object_id": w.member_a.pk,
        },
    ),
}

# Admin model pages (changelist, add, change, history, delete) of every registered model:
# non-staff are sent to the admin sign-in; staff get what ROLE_PERMISSIONS grants them, and
# nobody may add, change or delete the models the admin keeps read-only (audit trail, money,
# history, tokens): those are only ever written by the services.
ADMIN_READ_ONLY = {
    "members.deletionrequest",
    "portal.auditevent",
    "loans.application",
    "loans.applicationnote",
    "loans.approval",
    "loans.loan",
    "loans.installment",
    "arrears.overduerun",
    "arrears.latefeecharge",
    "arrears.portfoliosnapshot",
    "arrears.allowancedelay",
    "arrears.collectioncontact",
    "arrears.writeoff",
    "servicing.waiver",
    "servicing.restructure",
    "servicing.restructurehistory",
    "api.apitoken",
    "api.idempotencykey",
    "reports.dailyreport",
}
ADMIN_STAFF_ROLES = {"officer": LOAN_OFFICERS, "finance": FINANCE, "administrator": ADMINISTRATORS}


def NEW_APPLICATION(w):
    return {"product": w.loan.application.product_id, "amount": "60000.00", "tenure_months": 3}


# --- JSON API: "METHOD /path" of the OpenAPI schema (path relative to /api/v1) --------------
# Bodies are valid, so a refusal is the permission or the object's state speaking, not the
# schema (member A's application is approved and its loan disbursed: 409 for the owner).
API_RULES: dict[str, R] = {
    "GET /api/v1/products": R("200 200 200 200 200 200"),
    "GET /api/v1/quote": R("422 422 422 422 422 422"),
    "GET /api/v1/applications": R("401 200 200 200 200 200"),
    "POST /api/v1/applications": R("401 409 409 403 403 403", "POST", data=NEW_APPLICATION),
    "GET /api/v1/applications/{reference}": R("401 200 404 200 200 200", kwargs=A_APP),
    "POST /api/v1/applications/{reference}/submit": R(
        "401 409 404 403 403 403", "POST", A_APP, {"consent": True, "key_facts_hash": "0" * 64}
    ),
    "POST /api/v1/applications/{reference}/cancel": R("401 409 404 403 403 403", "POST", A_APP),
    "POST /api/v1/applications/{reference}/approve": R("401 403 404 409 403 403", "POST", A_APP),
    "POST /api/v1/applications/{reference}/reject": R(
        "401 403 404 409 403 403", "POST", A_APP, {"reason": "Income too low for this loan."}
    ),
    "GET /api/v1/loans": R("401 200 200 200 200 200"),
    "GET /api/v1/loans/{reference}": R("401 200 404 200 200 200", kwargs=A_LOAN),
    "GET /api/v1/payments": R("401 200 200 200 200 200"),
    "POST /api/v1/payments": R(
        "401 403 403 403 201 403",
        "POST",
        data=lambda w: {"loan": w.loan.reference, "amount": "100.00", "reason": "Cash at branch"},
        headers={"Idempotency-Key": "matrix-0001"},
    ),
    "GET /api/v1/loans/{reference}/credit": R("401 200 404 200 200 200", kwargs=A_LOAN),
    # Member A has no credit to refund (409); officers and administrators may not ask.
    "POST /api/v1/refunds": R(
        "401 409 404 403 409 403",
        "POST",
        data=lambda w: {"loan": w.loan.reference, "amount": "100.00"},
        headers={"Idempotency-Key": "matrix-refund-1"},
    ),
    # Servicing: viewers read the quote and preview; the borrower pays (member A has a
    # checkout waiting: 409), finance may only use the member's credit (none: 409); officers
    # and administrators may not pay (no payments.add_payment).
    "GET /api/v1/loans/{reference}/settlement-quote": R("401 200 404 200 200 200", kwargs=A_LOAN),
    "POST /api/v1/loans/{reference}/prepayments/preview": R(
        "401 200 404 200 200 200", "POST", A_LOAN, {"amount": "30000.00", "choice": "lower"}
    ),
    "POST /api/v1/loans/{reference}/prepayments": R(
        "401 409 404 403 409 403",
        "POST",
        A_LOAN,
        {"amount": "30000.00", "choice": "lower"},
        headers={"Idempotency-Key": "matrix-prepay-1"},
    ),
    "POST /api/v1/loans/{reference}/settlement": R(
        "401 409 404 403 409 403", "POST", A_LOAN, headers={"Idempotency-Key": "matrix-settle-1"}
    ),
    "POST /api/v1/loans/{reference}/credit/use": R(
        "401 409 404 403 409 403", "POST", A_LOAN, headers={"Idempotency-Key": "matrix-credit-1"}
    ),
    "GET /api/v1/refunds/{reference}": R(
        "401 200 404 404 200 404",
        kwargs=lambda w: {"reference": Refund.objects.get(pk=A_REFUND(w)["pk"]).reference},
    ),
    "GET /api/v1/reports/daily/{report_date}": R(
        "401 403 403 403 404 404", kwargs=lambda w: {"report_date": "2026-01-01"}
    ),
    "GET /api/v1/me": R("401 200 200 200 200 200"),
    "GET /api/v1/ping": R("200 200 200 200 200 200"),
}


# --- Walking the URL conf -----------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    key: str  # "namespace:name", or "<unnamed> <regex>"
    pattern: URLPattern
    route: str


def walk(patterns=None, prefix="", namespace=None):
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        else:
            route = prefix + str(entry.pattern)
            if entry.name:
                key = f"{namespace}:{entry.name}" if namespace else entry.name
            else:
                key = f"<unnamed> {route}"
            yield Route(key, entry, route)


# The API's operations are checked per operation (API_RULES); their URL patterns too.
_API_OPERATION = re.compile(r"^api/v1/.+")
_ADMIN_MODEL = re.compile(r"^admin:(?P<app>[a-z_]+?)_(?P<model>[a-z]+)_(?P<action>[a-z]+)$")


def _is_api_operation(route: Route) -> bool:
    return route.key.startswith("api-v1:") and route.key not in RULES


def _admin_model_page(route: Route):
    """(model label, action) for an admin model page, else None."""
    if route.key.startswith("<unnamed> admin/") and "<path:object_id>" in route.route:
        # The admin's "object_id/" redirect to the change page.
        parts = route.route.split("/")
        return (f"{parts[1]}.{parts[2]}", "redirect")
    match = _ADMIN_MODEL.match(route.key)
    if not match:
        return None
    for model in admin.site._registry:
        if f"{model._meta.app_label}_{model._meta.model_name}" == (
            f"{match['app']}_{match['model']}"
        ):
            return (model._meta.label_lower, match["action"])
    return None


def portal_routes():
    return [r for r in walk() if not _is_api_operation(r) and not _admin_model_page(r)]


def admin_model_routes():
    return [(r, *_admin_model_page(r)) for r in walk() if _admin_model_page(r)]


def api_operations():
    from api.api import api

    schema = api.get_openapi_schema()
    return [
        f"{method.upper()} {path}"
        for path, methods in schema["paths"].items()
        for method in methods
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def _content_type_id(obj):
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_for_model(obj).pk


# --- Calling a URL as a role ---------------------------------------------------------------


def classify(response) -> str:
    if response.status_code in (301, 302, 303, 307):
        path = urlparse(response["Location"]).path
        if path == reverse("account_login"):
            return "login"
        if path == reverse("admin:login"):
            return "admin-login"
        if path.startswith(reverse("account_reauthenticate")):
            return "reauth"
        return "302"
    return str(response.status_code)


def call(world: World, role: str, method: str, url: str, rule: R, *, api=False) -> str:
    """One request as ``role``, inside a savepoint rolled back afterwards."""
    with transaction.atomic():
        if api:
            from django.test import Client

            from tests.api.conftest import token_for

            client = Client()
            user = world.user(role)
            headers = dict(rule.headers)
            if user is not None:
                headers["Authorization"] = f"Bearer {token_for(user)}"
            body = rule.data(world) if callable(rule.data) else rule.data
            kwargs = {}
            if method == "POST":
                kwargs = {"content_type": "application/json", "data": json.dumps(body or {})}
            response = getattr(client, method.lower())(url, headers=headers, **kwargs)
        else:
            client = world.client(role)
            data = rule.data(world) if callable(rule.data) else rule.data
            response = getattr(client, method.lower())(url, data=data or None)
        outcome = classify(response)
        transaction.set_rollback(True)
    return outcome


def url_of(route: Route, kwargs: dict) -> str:
    if route.key.startswith("<unnamed> ^api/"):
        return "/api/nowhere"
    path = route.route
    for name, value in kwargs.items():
        path = re.sub(rf"<(?:\w+:)?{name}>|\(\?P<{name}>[^)]*\)", str(value), path)
    path = path.replace("^", "").replace("$", "")
    assert "<" not in path and "(?P" not in path, f"{route.key}: no value for {path}"
    return "/" + path


def mismatches(world, cases, *, api=False):
    problems = []
    for key, url, rule in cases:
        for role, expected in rule.outcomes().items():
            got = call(world, role, rule.method, url, rule, api=api)
            if got != expected:
                problems.append(
                    f"{key} {rule.method} {url} as {role}: expected {expected}, got {got}"
                )
    return problems


# --- The tests ------------------------------------------------------------------------------


def test_every_url_has_a_rule():
    missing = sorted({r.key for r in portal_routes()} - set(RULES))
    assert not missing, (
        "URLs without an access rule (add a line to RULES in tests/security/"
        f"test_access_matrix.py): {missing}"
    )
    missing_api = sorted(set(api_operations()) - set(API_RULES))
    assert not missing_api, f"API operations without a rule (add to API_RULES): {missing_api}"


def test_no_rule_is_left_for_a_url_that_is_gone():
    keys = {r.key for r in portal_routes()}
    assert not sorted(set(RULES) - keys)
    assert not sorted(set(API_RULES) - set(api_operations()))


GROUPS = ["portal", "members", "loans", "payments", "recon", "arrears", "reports", "admin"]


def _group(key: str) -> str:
    prefix = key.split(":")[0] if ":" in key else "portal"
    return prefix if prefix in GROUPS else "portal"


@pytest.mark.django_db
@pytest.mark.parametrize("group", GROUPS)
def test_portal_url_answers_each_role_as_its_rule_says(group):
    world = build_world()
    cases = []
    for route in portal_routes():
        if _group(route.key) != group:
            continue
        rule = RULES[route.key]
        kwargs = rule.kwargs(world) if rule.kwargs else {}
        cases.append((route.key, url_of(route, kwargs), rule))
    assert cases
    problems = mismatches(world, cases)
    assert not problems, "\n".join(problems)


def _admin_expected(role: str, label: str, action: str, *, missing=False) -> str:
    if role not in ADMIN_STAFF_ROLES:
        return "admin-login"
    granted = set(ROLE_PERMISSIONS[ADMIN_STAFF_ROLES[role]])
    app, model = label.split(".")

    def has(verb):
        return f"{app}.{verb}_{model}" in granted

    can_view = has("view") or (has("change") and label not in ADMIN_READ_ONLY)
    if action == "redirect":
        return "302"
    if action == "changelist":
        return "200" if can_view else "403"
    if action in {"change", "history"}:
        if missing:
            return "302" if can_view or action == "history" else "403"
        return "200" if can_view else "403"
    verb = {"add": "add", "delete": "delete"}[action]
    allowed = has(verb) and label not in ADMIN_READ_ONLY
    if missing and action == "delete":
        return "302" if allowed else "403"
    return "200" if allowed else "403"


@pytest.mark.django_db
def test_admin_model_pages_follow_the_role_permissions():
    from django.apps import apps

    world = build_world()
    cases, missing = [], set()
    for route, label, action in admin_model_routes():
        model = apps.get_model(label)
        kwargs = {}
        if "object_id" in route.route:
            obj = model._default_manager.order_by("pk").first()
            # No row (e.g. no late fee charged yet): the permission is checked before the
            # admin finds out the object is missing, then it redirects to the index.
            kwargs = {"object_id": obj.pk if obj else 0}
            if obj is None:
                missing.add(label)
        expect = " ".join(
            _admin_expected(role, label, action, missing=label in missing) for role in ROLES
        )
        cases.append((f"admin {label} {action}", url_of(route, kwargs), R(expect)))
    problems = mismatches(world, cases)
    assert not problems, "\n".join(problems)
    assert len(missing) <= 2, f"build_world() should make rows of {sorted(missing)}"


@pytest.mark.django_db
def test_api_operation_answers_each_role_as_its_rule_says():
    world = build_world()
    cases = []
    for operation in api_operations():
        rule = API_RULES[operation]
        method, path = operation.split(" ", 1)
        kwargs = rule.kwargs(world) if rule.kwargs else {}
        for name, value in kwargs.items():
            path = path.replace(f"{{{name}}}", str(value))
        cases.append(
            (operation, path, R(rule.expect, method, rule.kwargs, rule.data, rule.headers))
        )
    problems = mismatches(world, cases, api=True)
    assert not problems, "\n".join(problems)
