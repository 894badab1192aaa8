from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    """A member's data: the export of everything we hold and account deletion (anonymisation
    after the retention period). It reads every app, so it sits above them all."""

    name = "privacy"
    verbose_name = "Privacy"
