"""Create next months' partitions and detach the expired ones (PostgreSQL; see
core/partitions.py). The same service runs daily as a Huey task.

    python manage.py maintain_partitions [--dry-run] [--date YYYY-MM-DD]
"""

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from core import partitions


class Command(BaseCommand):
    help = "Create the months ahead and detach months past retention of the partitioned tables."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="print what would be done, change nothing"
        )
        parser.add_argument("--date", help="run as on this UTC day (YYYY-MM-DD); default today")

    def handle(self, *args, dry_run, date: str | None, **options):
        if not partitions.enabled():
            self.stdout.write("Partitions exist only on PostgreSQL: nothing to do.")
            return
        try:
            today = _parse(date)
        except ValueError as exc:
            raise CommandError(f"--date: {exc}") from exc
        actions = partitions.maintain_partitions(today=today, dry_run=dry_run)
        prefix = "would be " if dry_run else ""
        for action in actions:
            what = action.get("partition") or ", ".join(action.get("partitions", []))
            line = f"{action['table']}: {what} {prefix}{action['action'].replace('_', ' ')}"
            if "archived_as" in action:
                line += f" (kept as {action['archived_as']})"
            if "error" in action:
                line += f" FAILED: {action['error']}"
            self.stdout.write(line)
        if not actions:
            self.stdout.write("Partitions are up to date.")
        self.stdout.write(json.dumps(partitions.partition_health(today=today)))
        if any("error" in action for action in actions):
            raise CommandError("some partition steps failed (see above); the next run retries")


def _parse(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None
