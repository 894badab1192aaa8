from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self):
        from huey.contrib.djhuey import HUEY

        from portal import metrics, queue

        queue.connect(HUEY)
        metrics.connect_huey(HUEY)
