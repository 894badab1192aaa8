from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from devdata import arrears, loans
from devdata.members import DEMO_PASSWORD, seed_members


class Command(BaseCommand):
    help = "Load fake demo data (idempotent) and print the demo logins."

    def add_arguments(self, parser):
        parser.add_argument("--members", type=int, default=24)

    def handle(self, *args, members, **options):
        if not settings.DEBUG:
            # The demo's logins (an administrator and a superuser among them) share the
            # password printed in the README: on a site with DEBUG=false that is a back door.
            raise CommandError(
                "seed_demo only runs with DEBUG=true: it creates staff accounts and a superuser "
                "with the password published in the README. Create real staff with "
                "`manage.py createsuperuser` and the admin instead."
            )
        logins = seed_members(count=members)
        # Products, then loans in every state; a second run adds nothing.
        for seeder in (loans, arrears):
            seeder.seed(stdout=self.stdout)
        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready. Logins (password for all: {DEMO_PASSWORD}):")
        )
        for email, role in logins:
            self.stdout.write(f"  {email:32} {role}")
