from django.urls import path

from privacy import views

app_name = "privacy"

urlpatterns = [
    path("me/my-data.json", views.export_my_data, {"fmt": "json"}, name="export_my_data_json"),
    path("me/my-data.csv", views.export_my_data, {"fmt": "csv"}, name="export_my_data_csv"),
    path("me/delete-account/", views.request_deletion, name="request_deletion"),
]
