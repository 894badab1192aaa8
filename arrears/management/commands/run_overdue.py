from datetime import date

from django.core.management.base import BaseCommand, CommandError

from arrears.overdue import run_overdue
from core.errors import DomainError
from core.money import format_naira


class Command(BaseCommand):
    help = "Mark overdue installments, charge late fees and snapshot PAR (catches up missed days)."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="Lagos day to run for, YYYY-MM-DD (default: today)")

    def handle(self, *args, **options):
        run_date = None
        if options["date"]:
            try:
                run_date = date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError(
                    f"--date {options['date']!r} is not a YYYY-MM-DD date."
                ) from None
        try:
            outcomes = run_overdue(run_date=run_date)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        for outcome in outcomes:
            run = outcome.run
            state = "done" if outcome.created else "already done earlier, nothing changed"
            paused = " (late fees paused: allowance delayed)" if run.fees_paused else ""
            self.stdout.write(
                f"{run.run_date.isoformat()}: {state}; {run.installments_marked_overdue} marked "
                f"overdue, {run.fees_charged} charged {format_naira(run.fees_total)}{paused}"
            )
