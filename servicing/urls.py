from django.urls import path

from servicing import views, views_restructure, views_settlement

app_name = "servicing"

urlpatterns = [
    path("loans/<str:reference>/settle/", views_settlement.settle, name="settle"),
    path("loans/<str:reference>/settle/pay/", views_settlement.settle_pay, name="settle_pay"),
    path("loans/<str:reference>/prepay/", views_settlement.prepay, name="prepay"),
    path("loans/<str:reference>/credit/use/", views_settlement.use_credit, name="use_credit"),
    path("loans/<str:reference>/schedules/", views_settlement.schedules, name="schedules"),
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
    path(
        "loans/<str:reference>/new-terms/",
        views_restructure.restructure_offer,
        name="restructure_offer",
    ),
    path(
        "backoffice/loans/<str:reference>/restructure/",
        views_restructure.restructure,
        name="restructure",
    ),
    path(
        "backoffice/loans/<str:reference>/restructure/<int:pk>/decision/",
        views_restructure.decide_restructure,
        name="decide_restructure",
    ),
]
