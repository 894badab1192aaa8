from django.urls import path

from servicing import views

app_name = "servicing"

urlpatterns = [
    path(
        "backoffice/loans/<str:reference>/waivers/",
        views.loan_waivers,
        name="loan_waivers",
    ),
    path(
        "backoffice/loans/<str:reference>/waivers/new/",
        views.request_waiver,
        name="request_waiver",
    ),
    path(
        "backoffice/loans/<str:reference>/waivers/<int:pk>/decision/",
        views.decide_waiver,
        name="decide_waiver",
    ),
]
