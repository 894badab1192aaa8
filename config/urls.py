from allauth.account.decorators import secure_admin_login
from django.apps import apps
from django.contrib import admin
from django.urls import include, path, re_path

from api import views as api_views
from api.api import api
from core import views
from reports import metrics
from reports import views as report_views

# The Django admin signs people in through allauth (rate limits, MFA) instead of its own form.
admin.site.login = secure_admin_login(admin.site.login)
admin.site.site_header = "AllaweePlus administration"

urlpatterns = [
    path("", report_views.home, name="home"),
    path("backoffice/", report_views.backoffice, name="backoffice"),
    path("backoffice/audit/", views.AuditListView.as_view(), name="audit_list"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    # Anything else under /api/ is a JSON 404, never the HTML page.
    re_path(r"^api/", api_views.api_not_found),
    path("me/api-tokens/", api_views.token_list, name="api_tokens"),
    path("me/api-tokens/<int:pk>/revoke/", api_views.revoke_token, name="api_token_revoke"),
    path("", include("members.urls")),
    path("", include("privacy.urls")),
    # loans before payments: "loans/apply/" must not be taken for a loan reference.
    path("", include("loans.urls")),
    path("", include("payments.urls")),
    path("", include("payments.reconciliation.urls")),
    path("", include("servicing.urls")),
    path("", include("arrears.urls")),
    path("", include("reports.urls")),
    path("", include("notifications.urls")),
]

# The simulated provider's webhook and hosted checkout, at their old paths, only where the
# `simulator` app is installed (ALLOW_SIMULATED_PROVIDER; never production with DEBUG=false).
if apps.is_installed("simulator"):
    urlpatterns.append(path("", include("simulator.urls")))
