from django.urls import path

from loans import views

app_name = "loans"

urlpatterns = [
    path("loans/apply/", views.apply, name="apply"),
    path(
        "loans/applications/<str:reference>/", views.application_detail, name="application_detail"
    ),
    path("loans/applications/<str:reference>/key-facts/", views.key_facts, name="key_facts"),
    path("loans/applications/<str:reference>/cancel/", views.cancel, name="cancel"),
    path("backoffice/applications/", views.application_queue_view, name="queue"),
    path(
        "backoffice/applications/<str:reference>/",
        views.staff_application,
        name="staff_application",
    ),
    path("backoffice/applications/<str:reference>/approve/", views.approve, name="approve"),
    path("backoffice/applications/<str:reference>/reject/", views.reject, name="reject"),
    path(
        "backoffice/applications/<str:reference>/request-info/",
        views.request_info,
        name="request_info",
    ),
    path("backoffice/applications/<str:reference>/note/", views.add_note, name="add_note"),
]
