from django.urls import path

from arrears import views

app_name = "arrears"

urlpatterns = [
    path("backoffice/collections/", views.collections_view, name="worklist"),
    path(
        "backoffice/collections/allowance-delayed/",
        views.allowance_delays,
        name="allowance_delays",
    ),
    path(
        "backoffice/collections/allowance-delayed/<int:pk>/cancel/",
        views.cancel_allowance_delay,
        name="cancel_allowance_delay",
    ),
    path("backoffice/collections/<str:reference>/", views.collections_loan, name="loan"),
    path("backoffice/collections/<str:reference>/contacts/", views.log_contact, name="log_contact"),
    path(
        "backoffice/collections/<str:reference>/write-off/",
        views.request_write_off,
        name="request_write_off",
    ),
    path(
        "backoffice/collections/<str:reference>/write-off/<int:pk>/",
        views.decide_write_off,
        name="decide_write_off",
    ),
]
