from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = "Members"

    def ready(self):
        from members.role_changes import connect_outside_change_audit

        connect_outside_change_audit()

        from members.selectors import connect_cache_invalidation

        connect_cache_invalidation()
