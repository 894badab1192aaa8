from datetime import date

from django.core.management.base import BaseCommand, CommandError

from core.clock import previous_lagos_day
from core.errors import DomainError
from reports import services


class Command(BaseCommand):
    help = "Make (or remake) the daily report of a Lagos day and e-mail it to Finance."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="Lagos day, YYYY-MM-DD (default: yesterday in Lagos)")
        parser.add_argument("--no-email", action="store_true", help="Store it without e-mailing")

    def handle(self, *args, **options):
        report_date = previous_lagos_day()
        if options["date"]:
            try:
                report_date = date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError(
                    f"--date {options['date']!r} is not a YYYY-MM-DD date."
                ) from None
        try:
            report = services.run_daily_report(
                report_date=report_date, email=not options["no_email"]
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"{report} stored" + ("" if options["no_email"] else " and e-mailed"))
