from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self):
        from huey.contrib.djhuey import HUEY

        from portal import metrics, queue

        queue.connect(HUEY)
        metrics.connect_huey(HUEY)

        from portal.caching import connect_invalidation
        from portal.tables import install_signature_cache

        install_signature_cache()
        connect_invalidation()

        from portal import auth_backends

        auth_backends.connect_invalidation()

        from django.contrib.auth.signals import user_logged_in

        from portal.middleware import SessionAgeMiddleware, StaffSecurityMiddleware

        user_logged_in.connect(
            StaffSecurityMiddleware.stamp_login, dispatch_uid="portal.staff_last_seen"
        )
        user_logged_in.connect(
            SessionAgeMiddleware.stamp_login, dispatch_uid="portal.session_signed_in_at"
        )
