"""``manage.py rotate_pii_key``: every BVN re-encrypted under the newest key, in batches,
while the old key still reads whatever is not rotated yet; afterwards the old key can go."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.test import override_settings

from core.crypto import PiiCipher, bvn_blind_index, pii_cipher
from core.models import AuditEvent
from members import pii
from members.models import Member
from members.services import reveal_bvn
from tests.factories import MemberFactory, make_admin

pytestmark = pytest.mark.django_db

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def _members_under_old_key(count):
    with override_settings(PII_ENCRYPTION_KEYS=[OLD_KEY]):
        members = [MemberFactory(bvn=f"2239{n:07d}") for n in range(count)]
    return {m.pk: f"2239{n:07d}" for n, m in enumerate(members)}


def _stored():
    return dict(Member.objects.exclude(bvn_encrypted="").values_list("pk", "bvn_encrypted"))


def test_rotation_moves_every_bvn_to_the_new_key_in_batches_and_the_old_key_can_go(capsys):
    bvns = _members_under_old_key(7)
    hashes_before = dict(Member.objects.values_list("pk", "bvn_hash"))
    old_only, new_only = PiiCipher([OLD_KEY]), PiiCipher([NEW_KEY])
    assert all(old_only.decrypt(token) == bvns[pk] for pk, token in _stored().items())

    with override_settings(PII_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        call_command("rotate_pii_key", "--dry-run", "--batch-size", "3")
        assert "would re-encrypt 7 of 7 BVNs in 3 batches" in capsys.readouterr().out
        assert all(new_only.needs_rotation(t) for t in _stored().values())  # dry run wrote nothing

        call_command("rotate_pii_key", "--batch-size", "3")
        out = capsys.readouterr().out
        assert "re-encrypted 7 of 7 BVNs in 3 batches" in out
        assert "readable with the newest key alone" in out

        # A second run finds nothing to do.
        call_command("rotate_pii_key")
        assert "re-encrypted 0 of 7" in capsys.readouterr().out

    stored = _stored()
    assert all(new_only.decrypt(token) == bvns[pk] for pk, token in stored.items())
    assert all(old_only.needs_rotation(token) for token in stored.values())
    # The blind index does not depend on the encryption key: lookups keep working.
    assert dict(Member.objects.values_list("pk", "bvn_hash")) == hashes_before
    assert AuditEvent.objects.filter(action="pii.key_rotated").count() == 2

    with override_settings(PII_ENCRYPTION_KEYS=[NEW_KEY]):
        member = Member.objects.get(pk=next(iter(bvns)))
        assert reveal_bvn(member=member, actor=make_admin()) == bvns[member.pk]
        assert Member.objects.filter(bvn_hash=bvn_blind_index(bvns[member.pk])).count() == 1


def test_during_rotation_rows_under_either_key_stay_readable(monkeypatch):
    bvns = _members_under_old_key(5)
    calls, mid_rotation = [], []
    real_rotate = PiiCipher.rotate

    def rotate_and_look(self, token):
        calls.append(token)
        if len(calls) == 3:
            # The first batch (2 rows) is stored under the new key, the rest is not yet:
            # the site, configured with both keys, still reads every member's BVN.
            stored = _stored()
            mid_rotation.append(
                (
                    sum(PiiCipher([NEW_KEY]).needs_rotation(t) for t in stored.values()),
                    {pk: pii_cipher().decrypt(t) for pk, t in stored.items()},
                )
            )
        return real_rotate(self, token)

    with override_settings(PII_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        monkeypatch.setattr(PiiCipher, "rotate", rotate_and_look)
        result = pii.rotate_bvn_encryption(batch_size=2)
    assert result.rotated == 5 and result.batches == 3
    assert mid_rotation == [(3, bvns)]


def test_dropping_the_old_key_before_rotating_is_refused_and_changes_nothing():
    _members_under_old_key(3)
    before = _stored()
    with override_settings(PII_ENCRYPTION_KEYS=[NEW_KEY]):
        with pytest.raises(CommandError, match="cannot be rotated"):
            call_command("rotate_pii_key")
    assert _stored() == before


def test_a_bad_batch_size_is_refused():
    with pytest.raises(CommandError, match="batch-size"):
        call_command("rotate_pii_key", "--batch-size", "0")
