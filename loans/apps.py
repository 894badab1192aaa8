from django.apps import AppConfig


class LoansConfig(AppConfig):
    name = "loans"
    verbose_name = "Loans"

    def ready(self):
        from loans import tasks  # noqa: F401 - registers the jobs that services queue
        from loans.views import dashboard_panel
        from members.views import register_dashboard_panel

        register_dashboard_panel(dashboard_panel)

        from loans.selectors import connect_cache_invalidation

        connect_cache_invalidation()
