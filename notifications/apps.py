from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Member notifications"

    def ready(self):
        from notifications.tasks import connect_event_receivers

        connect_event_receivers()
