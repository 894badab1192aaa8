"""The simulated provider's pages, at the paths they always had. ``config.urls`` includes
this module only when the app is installed (``ALLOW_SIMULATED_PROVIDER``): the simulated
provider lets anyone mark a checkout paid (and its webhook says "paid"), so production
never routes it, whatever ``PAYMENTS_PROVIDER`` says."""

from django.urls import path

from simulator import views

app_name = "simulator"

urlpatterns = [
    path("webhooks/simulated", views.simulated_webhook, name="simulated_webhook"),
    path(
        "payments/simulated/checkout/<str:reference>/",
        views.simulated_checkout,
        name="simulated_checkout",
    ),
]
