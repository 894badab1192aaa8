from django.core.management.base import BaseCommand

from privacy.deletion import anonymise_due


class Command(BaseCommand):
    help = (
        "Anonymise the members whose approved deletion request has passed the retention "
        "period (MEMBER_DATA_RETENTION_DAYS). Loans, payments and the ledger are kept."
    )

    def handle(self, *args, **options):
        self.stdout.write(f"{anonymise_due()} members anonymised")
