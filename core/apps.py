from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The kernel. Its label stays "portal": the audit table and migrations keep their names."""

    name = "core"
    label = "portal"
    verbose_name = "Core"

    def ready(self):
        from huey.contrib.djhuey import HUEY

        from core import (
            metrics,
            queue,
            tasks,  # noqa: F401 - registers the jobs that services queue
        )

        queue.connect(HUEY)
        metrics.connect_huey(HUEY)

        from core.table_render import install_signature_cache

        install_signature_cache()

        from core import auth_backends

        auth_backends.connect_invalidation()

        from django.contrib.auth.signals import user_logged_in

        from core.middleware import SessionAgeMiddleware, StaffSecurityMiddleware

        user_logged_in.connect(
            StaffSecurityMiddleware.stamp_login, dispatch_uid="portal.staff_last_seen"
        )
        user_logged_in.connect(
            SessionAgeMiddleware.stamp_login, dispatch_uid="portal.session_signed_in_at"
        )
