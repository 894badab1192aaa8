from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "JSON API"

    def ready(self):
        from api.services import connect_privacy_receivers

        connect_privacy_receivers()
