"""Token management: made and revoked by their owner in the portal, audited."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from api.auth import TOKEN_PREFIX, hash_token, new_token_value
from api.models import ApiToken, IdempotencyKey, TokenScope
from core import audit
from core.errors import Conflict, DomainError, NotAllowed
from privacy.signals import member_anonymised

MAX_ACTIVE_TOKENS = 10


@transaction.atomic
def create_token(
    *, user, name: str, scope: str, expires_in_days: int | None
) -> tuple[ApiToken, str]:
    """A new token and its value. The value is shown once and never stored."""
    name = (name or "").strip()
    if not name:
        raise DomainError("Give the token a name.", fields={"name": "Required"})
    if scope not in TokenScope.values:
        raise DomainError("Choose read or write.", fields={"scope": "Invalid"})
    active = (
        ApiToken.objects.select_for_update()
        .filter(user=user, revoked_at__isnull=True)
        .exclude(expires_at__lte=timezone.now())
    )
    if active.count() >= MAX_ACTIVE_TOKENS:
        raise Conflict(f"You already have {MAX_ACTIVE_TOKENS} tokens; revoke one first.")
    raw = new_token_value()
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=raw[len(TOKEN_PREFIX) : len(TOKEN_PREFIX) + 8],
        token_hash=hash_token(raw),
        scope=scope,
        expires_at=timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    audit.record(
        actor=user,
        action="api_token.created",
        obj=token,
        changes={
            "scope": scope,
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        },
    )
    return token, raw


@transaction.atomic
def revoke_token(*, token: ApiToken, actor) -> ApiToken:
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.user_id != actor.pk:
        raise NotAllowed("You can only revoke your own tokens.")
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit.record(actor=actor, action="api_token.revoked", obj=token)
    return token


def purge_idempotency_keys(*, now=None, batch_size: int = 5000) -> int:
    """Forget stored Idempotency-Key answers older than API_IDEMPOTENCY_RETENTION_HOURS.

    A retry after that long is a new request (the API description says keys are kept for
    this long). Deleted in batches so a backlog never holds a long lock.
    """
    from django.conf import settings

    cutoff = (now or timezone.now()) - timedelta(hours=settings.API_IDEMPOTENCY_RETENTION_HOURS)
    purged = 0
    while True:
        ids = list(
            IdempotencyKey.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[
                :batch_size
            ]
        )
        if not ids:
            return purged
        purged += IdempotencyKey.objects.filter(pk__in=ids).delete()[0]


def connect_privacy_receivers() -> None:
    """An anonymised member's tokens are revoked in the same transaction."""

    def revoke_tokens(sender, user, **kwargs):
        ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )

    member_anonymised.connect(revoke_tokens, dispatch_uid="api-revoke-tokens-of-anonymised")
