"""Every write to members goes through here: one transaction, one audit event per change."""

import hashlib

import filetype
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core import audit
from core.crypto import bvn_blind_index, pii_cipher
from core.errors import Conflict, DomainError, NotAllowed, check_transition
from core.signals import send_after_commit
from members import signals
from members.banks import bank_by_code
from members.lookups import NEUTRAL_MESSAGES
from members.models import (
    KYC_TRANSITIONS,
    REQUIRED_DOCUMENTS,
    KycStatus,
    Member,
    MemberDocument,
)
from members.service_year import ServiceBatch, batch_for
from members.staff_identity import check_independent
from members.validators import parse_state_code, validate_nuban

ALLOWED_DOCUMENT_TYPES = {
    "application/pdf": "pdf",
    "image/jpeg": "jpg",
    "image/png": "png",
}

# Profile fields a member edits; BVN is handled apart because it is stored encrypted.
PROFILE_FIELDS = (
    "full_name",
    "date_of_birth",
    "phone",
    "state_code",
    "batch",
    "stream",
    "deployment_state",
    "ppa_name",
    "service_start",
    "passing_out",
    "service_batch",
    "claimed_service_start",
    "monthly_allowance",
    "other_income",
    "bank_code",
    "account_number",
)

# A unique constraint that fires anyway (two members saving at once) gets the same neutral
# answer as members.lookups gives: it must not say the value belongs to someone else.
_UNIQUE_FIELDS = {
    "member_unique_bvn": "bvn",
    "member_unique_phone": "phone",
    "member_unique_state_code": "state_code",
    "member_unique_bank_account": "account_number",
}


def get_or_create_member(*, user) -> Member:
    member, _ = Member.objects.get_or_create(user=user)
    return member


def set_bvn(member: Member, bvn: str) -> None:
    """Encrypt the BVN and keep only what is needed to find and show it (hash, last 4)."""
    member.bvn_encrypted = pii_cipher().encrypt(bvn)
    member.bvn_hash = bvn_blind_index(bvn)
    member.bvn_last4 = bvn[-4:]


def _changed(before: dict, after: dict) -> dict:
    return {key: [before[key], after[key]] for key in after if before.get(key) != after[key]}


def _snapshot(member: Member) -> dict:
    return {
        field: (str(value) if value is not None else None)
        for field in PROFILE_FIELDS
        for value in [getattr(member, field)]
    }


@transaction.atomic
def update_member_profile(*, member: Member, actor, data: dict, bvn: str | None = None):
    """Save a member's KYC profile. Only editable while incomplete or rejected."""
    member = Member.objects.select_for_update().get(pk=member.pk)
    if member.user_id != actor.pk:
        raise NotAllowed("You can only edit your own profile.")
    if not member.is_kyc_editable:
        raise Conflict(
            "Your profile is "
            f"{member.get_kyc_status_display().lower()} and can no longer be edited here. "
            "Contact support to change it."
        )
    before = _snapshot(member)
    for field, value in data.items():
        if field not in PROFILE_FIELDS:
            raise DomainError(f"{field} cannot be set here.")
        setattr(member, field, value)
    account_changed = (member.bank_code, member.account_number) != (
        before["bank_code"] or "",
        before["account_number"] or "",
    )
    if account_changed and (member.account_name or member.account_name_confirmed):
        # A confirmation is about one account; a new account is checked again.
        member.clear_payout_confirmation()
    changed_bvn = False
    if bvn:
        new_hash = bvn_blind_index(bvn)
        if new_hash != member.bvn_hash:
            set_bvn(member, bvn)
            changed_bvn = True
    try:
        with transaction.atomic():
            member.save()
    except IntegrityError as exc:
        for constraint, field in _UNIQUE_FIELDS.items():
            if constraint in str(exc):
                message = NEUTRAL_MESSAGES[field]
                raise Conflict(message, fields={field: message}) from exc
        raise
    changes = _changed(before, _snapshot(member))
    if changed_bvn:
        changes["bvn"] = "changed"  # never the value itself
    audit.record(actor=actor, action="member.profile_updated", obj=member, changes=changes)
    if account_changed:
        audit.record(
            actor=actor,
            action="member.payout_account_changed",
            obj=member,
            changes={
                "bank_code": [before["bank_code"], member.bank_code],
                "account_number": [before["account_number"], member.account_number],
                "confirmation_cleared": True,
            },
        )
    return member


@transaction.atomic
def change_payout_account(
    *, member: Member, actor, bank_code: str, account_number: str, reason: str
) -> Member:
    """Staff change a member's bank account (support case): the name confirmation and any
    pending override are cleared, so nothing is paid to the new account before its name is
    resolved again. Audited with the reason."""
    from django.core.exceptions import ValidationError

    if not (actor.is_authenticated and actor.is_staff and actor.has_perm("members.change_member")):
        raise NotAllowed("You do not have permission to change a member's bank account.")
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise DomainError("Say why the account changes (at least 10 characters).")
    if bank_by_code(bank_code) is None:
        raise DomainError("Choose a bank from the list.")
    try:
        account_number = validate_nuban(account_number, bank_code)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages)) from exc
    member = Member.objects.select_for_update().get(pk=member.pk)
    if member.user_id == actor.pk:
        raise NotAllowed("You cannot change your own payout account here.")
    before = (member.bank_code, member.account_number)
    if before == (bank_code, account_number):
        raise Conflict("This is already the member's account.")
    member.bank_code, member.account_number = bank_code, account_number
    fields = ["bank_code", "account_number", *member.clear_payout_confirmation(), "updated_at"]
    try:
        with transaction.atomic():
            member.save(update_fields=fields)
    except IntegrityError as exc:
        message = NEUTRAL_MESSAGES["account_number"]
        raise Conflict(message) from exc
    audit.record(
        actor=actor,
        action="member.payout_account_changed",
        obj=member,
        changes={
            "bank_code": [before[0], bank_code],
            "account_number": [before[1], account_number],
            "confirmation_cleared": True,
            "reason": reason,
        },
    )
    return member


@transaction.atomic
def upload_document(*, member: Member, actor, kind: str, uploaded_file):
    """Store a KYC document privately after checking its real type by content, not its name."""
    if member.user_id != actor.pk:
        raise NotAllowed("You can only upload documents to your own profile.")
    member = Member.objects.select_for_update().get(pk=member.pk)
    if not member.is_kyc_editable:
        raise Conflict("Your documents are under review or verified and cannot be changed.")
    if uploaded_file.size > settings.DOCUMENT_MAX_BYTES:
        raise DomainError("The file is larger than 5 MB.", fields={"file": "Too large"})
    # Quotas after this upload, a document of the same kind being replaced (issue 15, M7).
    replaced = list(member.documents.filter(kind=kind))
    kept = member.documents.exclude(pk__in=[d.pk for d in replaced])
    kept_count, kept_bytes = kept.count(), sum(kept.values_list("size", flat=True))
    if kept_count + 1 > settings.DOCUMENT_MAX_PER_MEMBER:
        raise DomainError(
            f"You have {kept_count} documents, the most we keep for one member.",
            fields={"file": "Quota"},
        )
    if kept_bytes + uploaded_file.size > settings.DOCUMENT_MAX_TOTAL_BYTES:
        raise DomainError(
            "Your documents would take more than "
            f"{settings.DOCUMENT_MAX_TOTAL_BYTES // (1024 * 1024)} MB; upload a smaller file.",
            fields={"file": "Quota"},
        )
    head = uploaded_file.read(8192)
    uploaded_file.seek(0)
    kind_guess = filetype.guess(head)
    if kind_guess is None or kind_guess.mime not in ALLOWED_DOCUMENT_TYPES:
        raise DomainError(
            "Upload a PDF, JPEG or PNG file (the file's content is checked, not its name).",
            fields={"file": "Unsupported type"},
        )
    digest = hashlib.sha256()
    for chunk in uploaded_file.chunks():
        digest.update(chunk)
    uploaded_file.seek(0)
    document = MemberDocument(
        member=member,
        kind=kind,
        original_name=(uploaded_file.name or "document")[:200],
        content_type=kind_guess.mime,
        size=uploaded_file.size,
        sha256=digest.hexdigest(),
        uploaded_by=actor,
    )
    document.file.save(
        f"upload.{ALLOWED_DOCUMENT_TYPES[kind_guess.mime]}", uploaded_file, save=False
    )
    document.save()
    # The new document replaces the old one of its kind: row gone now, file gone once the
    # change is committed (a rollback keeps the old file with its row).
    replaced_ids = [old.pk for old in replaced]
    for old in replaced:
        name, storage = old.file.name, old.file.storage
        old.delete()
        transaction.on_commit(lambda name=name, storage=storage: storage.delete(name))
    audit.record(
        actor=actor,
        action="member.document_uploaded",
        obj=member,
        changes={
            "kind": kind,
            "document_id": document.pk,
            "content_type": kind_guess.mime,
            **({"replaced_document_ids": replaced_ids} if replaced_ids else {}),
        },
    )
    return document


def missing_documents(member: Member) -> list[str]:
    present = set(member.documents.values_list("kind", flat=True))
    return [kind.label for kind in REQUIRED_DOCUMENTS if kind not in present]


@transaction.atomic
def submit_kyc(*, member: Member, actor) -> Member:
    member = Member.objects.select_for_update().get(pk=member.pk)
    if member.user_id != actor.pk:
        raise NotAllowed("You can only submit your own profile.")
    check_transition(KYC_TRANSITIONS, member.kyc_status, KycStatus.SUBMITTED, what="profile")
    if not member.is_profile_complete:
        raise DomainError("Complete every field of your profile before submitting it.")
    missing = missing_documents(member)
    if missing:
        raise DomainError(f"Upload your {' and '.join(missing)} before submitting.")
    return _move_kyc(member, KycStatus.SUBMITTED, actor=actor)


def _move_kyc(member, target, *, actor, reason=""):
    before = member.kyc_status
    member.kyc_status = target
    member.kyc_rejection_reason = reason
    fields = ["kyc_status", "kyc_rejection_reason", "updated_at"]
    if target in (KycStatus.VERIFIED, KycStatus.REJECTED):
        member.kyc_reviewed_by = actor
        member.kyc_reviewed_at = timezone.now()
        fields += ["kyc_reviewed_by", "kyc_reviewed_at"]
    member.save(update_fields=fields)
    audit.record(
        actor=actor,
        action=f"member.kyc_{target}",
        obj=member,
        changes={"kyc_status": [before, target], **({"reason": reason} if reason else {})},
    )
    if target in (KycStatus.VERIFIED, KycStatus.REJECTED):
        send_after_commit(signals.kyc_decided, Member, member_id=member.pk, decision=target)
    return member


def _require_reviewer(actor):
    if not actor.has_perm("members.review_kyc"):
        raise NotAllowed("You do not have permission to review KYC.")


@transaction.atomic
def verify_kyc(*, member: Member, actor) -> Member:
    _require_reviewer(actor)
    member = Member.objects.select_for_update().get(pk=member.pk)
    if member.user_id == actor.pk:
        raise NotAllowed("You cannot review your own KYC.")
    check_independent(actor=actor, member=member, action="verify_kyc")
    check_transition(KYC_TRANSITIONS, member.kyc_status, KycStatus.VERIFIED, what="profile")
    return _move_kyc(member, KycStatus.VERIFIED, actor=actor)


@transaction.atomic
def reject_kyc(*, member: Member, actor, reason: str) -> Member:
    _require_reviewer(actor)
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise DomainError(
            "Give the member a reason (at least 5 characters).", fields={"reason": "Required"}
        )
    member = Member.objects.select_for_update().get(pk=member.pk)
    if member.user_id == actor.pk:
        raise NotAllowed("You cannot review your own KYC.")
    check_independent(actor=actor, member=member, action="reject_kyc")
    check_transition(KYC_TRANSITIONS, member.kyc_status, KycStatus.REJECTED, what="profile")
    return _move_kyc(member, KycStatus.REJECTED, actor=actor, reason=reason)


def reveal_bvn(*, member: Member, actor) -> str:
    """Full BVN for a permitted staff member; every reveal is written to the audit log."""
    if not actor.has_perm("members.reveal_bvn"):
        raise NotAllowed("You do not have permission to reveal a BVN.")
    if not member.bvn_encrypted:
        raise DomainError("This member has not given a BVN yet.")
    audit.record(actor=actor, action="member.bvn_revealed", obj=member)
    return pii_cipher().decrypt(member.bvn_encrypted)


def record_document_view(*, document: MemberDocument, actor) -> None:
    if actor.pk != document.member.user_id:
        audit.record(
            actor=actor,
            action="member.document_viewed",
            obj=document.member,
            changes={"document_id": document.pk, "kind": document.kind},
        )


def apply_calendar_change(batch: ServiceBatch, before: ServiceBatch | None, actor) -> int:
    """After an administrator adds or corrects a calendar entry: members of the batch whose
    dates were the old entry's (no extension recorded) follow it, and members whose state
    code belongs to the batch but had no entry are linked to it. One audit event per member."""
    moved = 0
    pattern = rf"^[A-Z]{{2}}/{batch.year % 100:02d}{batch.batch}{batch.stream}?/"
    unlinked = Member.objects.filter(service_batch__isnull=True, state_code__regex=pattern)
    linked = Member.objects.none()
    if before is not None:
        linked = Member.objects.filter(
            service_batch=batch,
            service_start=before.orientation_start,
            passing_out=before.passing_out,
        )
    for member in list(unlinked) + list(linked):
        if member.service_batch_id is None:
            code = parse_state_code(member.state_code)
            if batch_for(code, member.claimed_service_start or member.service_start) != batch:
                continue  # the other stream fits this member better
        old = (member.service_start, member.passing_out)
        member.service_batch = batch
        member.service_start, member.passing_out = batch.orientation_start, batch.passing_out
        member.save(update_fields=["service_batch", "service_start", "passing_out", "updated_at"])
        audit.record(
            actor=actor,
            action="member.service_dates_from_calendar",
            obj=member,
            changes={
                "batch": str(batch),
                "service_start": [str(old[0]), str(batch.orientation_start)],
                "passing_out": [str(old[1]), str(batch.passing_out)],
            },
        )
        moved += 1
    return moved
