from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self):
        from loans.services import PAYOUT_STARTED_CHECKS
        from payments import tasks  # noqa: F401 - registers the jobs that services queue
        from payments.selectors import disbursement_in_flight

        # A disbursement in flight keeps an approved loan from being cancelled.
        if disbursement_in_flight not in PAYOUT_STARTED_CHECKS:
            PAYOUT_STARTED_CHECKS.append(disbursement_in_flight)
