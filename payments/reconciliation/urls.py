from django.urls import path

from payments.reconciliation import views

app_name = "recon"

urlpatterns = [
    path("backoffice/reconciliation/", views.lines, name="lines"),
    path("backoffice/reconciliation/upload/", views.upload, name="upload"),
    path("backoffice/reconciliation/mappings/", views.mapping_list, name="mappings"),
    path("backoffice/reconciliation/mappings/new/", views.mapping_edit, name="mapping_create"),
    path("backoffice/reconciliation/mappings/<int:pk>/", views.mapping_edit, name="mapping_edit"),
    path("backoffice/reconciliation/lines/<int:pk>/confirm/", views.confirm, name="confirm"),
    path("backoffice/reconciliation/lines/<int:pk>/rematch/", views.rematch, name="rematch"),
    path("backoffice/reconciliation/lines/<int:pk>/ignore/", views.ignore, name="ignore"),
    path(
        "backoffice/reconciliation/lines/<int:pk>/suspense/",
        views.book_suspense,
        name="book_suspense",
    ),
]
