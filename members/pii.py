"""Re-encrypting stored BVNs under the newest PII key (``PII_ENCRYPTION_KEYS`` rotation).

Rotation runs while the site is up: every process already decrypts with all configured keys
(MultiFernet), so rows are moved to the new key in small batches, each its own short
transaction locking only its rows. A member saved in between is simply re-read in the next
pass. When ``rotate_bvn_encryption`` reports nothing left, the old key can be removed.
"""

import logging
from dataclasses import dataclass

from django.db import transaction

from core import audit
from core.crypto import pii_cipher
from members.models import Member

logger = logging.getLogger("members.pii")


@dataclass
class RotationResult:
    examined: int = 0
    rotated: int = 0
    batches: int = 0

    @property
    def already_current(self) -> int:
        return self.examined - self.rotated


def rows_needing_rotation() -> int:
    cipher = pii_cipher()
    tokens = Member.objects.exclude(bvn_encrypted="").values_list("bvn_encrypted", flat=True)
    return sum(1 for token in tokens.iterator(chunk_size=2000) if cipher.needs_rotation(token))


def rotate_bvn_encryption(*, batch_size: int = 500, dry_run: bool = False) -> RotationResult:
    """Re-encrypt every BVN that the newest key cannot read, ``batch_size`` rows at a time.

    Raises ``UndecryptableError`` (and leaves that batch untouched) if a BVN was encrypted
    under a key no longer configured: a key must never be dropped before its rows rotate.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    cipher = pii_cipher()
    result = RotationResult()
    last_pk = 0
    while True:
        with transaction.atomic():
            batch = list(
                Member.objects.select_for_update()
                .filter(pk__gt=last_pk)
                .exclude(bvn_encrypted="")
                .order_by("pk")
                .only("pk", "bvn_encrypted")[:batch_size]
            )
            if not batch:
                break
            last_pk = batch[-1].pk
            result.batches += 1
            result.examined += len(batch)
            stale = [m for m in batch if cipher.needs_rotation(m.bvn_encrypted)]
            for member in stale:
                member.bvn_encrypted = cipher.rotate(member.bvn_encrypted)
            result.rotated += len(stale)
            if stale and not dry_run:
                Member.objects.bulk_update(stale, ["bvn_encrypted"])
    if not dry_run:
        audit.record(
            actor=None,
            action="pii.key_rotated",
            changes={"rotated": result.rotated, "examined": result.examined},
        )
    logger.info(
        "BVN key rotation %s",
        "checked" if dry_run else "done",
        extra={"rotated": result.rotated, "examined": result.examined},
    )
    return result
