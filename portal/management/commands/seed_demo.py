from importlib import import_module

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from members.demo import DEMO_PASSWORD


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
        from members.demo import seed_members

        logins = seed_members(count=members)
        # Each app contributes its demo data in order; a second run adds nothing.
        for module in ("loans.demo", "arrears.demo"):
            try:
                seeder = import_module(module)
            except ModuleNotFoundError:
                continue
            seeder.seed(stdout=self.stdout)
        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready. Logins (password for all: {DEMO_PASSWORD}):")
        )
        for email, role in logins:
            self.stdout.write(f"  {email:32} {role}")
