from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from notifications import services


class Command(BaseCommand):
    help = (
        "Queue the repayment reminders of a day (3 days before due, due day, 1/7/30 days "
        "overdue) and deliver them inside contact hours. Safe to run twice: nothing is sent twice."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--date", help="the Lagos day to run for, YYYY-MM-DD (default: today in Lagos)"
        )

    def handle(self, *args, **options):
        if options["date"]:
            try:
                day = date.fromisoformat(options["date"])
            except ValueError as exc:
                raise CommandError("--date must be YYYY-MM-DD") from exc
        else:
            day = timezone.localdate()
        created = services.queue_reminders(on=day)
        self.stdout.write(f"{created} reminder message(s) queued for {day.isoformat()}")
