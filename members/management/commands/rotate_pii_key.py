from django.core.management.base import BaseCommand, CommandError

from core.crypto import UndecryptableError
from members.pii import rotate_bvn_encryption, rows_needing_rotation


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored BVN with the newest key of PII_ENCRYPTION_KEYS (the first), "
        "in batches, while the site keeps running. Put the new key first, keep the old ones "
        "after it, deploy, run this, then remove the old keys."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="rows per transaction")
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would be re-encrypted"
        )

    def handle(self, *args, **options):
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            result = rotate_bvn_encryption(
                batch_size=options["batch_size"], dry_run=options["dry_run"]
            )
        except UndecryptableError as exc:
            raise CommandError(str(exc)) from None
        verb = "would re-encrypt" if options["dry_run"] else "re-encrypted"
        self.stdout.write(
            f"{verb} {result.rotated} of {result.examined} BVNs in {result.batches} batches"
        )
        if not options["dry_run"]:
            left = rows_needing_rotation()
            if left:
                raise CommandError(f"{left} BVNs still need the old key: run the command again.")
            self.stdout.write("Every BVN is readable with the newest key alone.")
