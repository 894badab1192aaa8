"""Django's permission checks with the permission set cached across requests.

``ModelBackend`` caches a user's permissions on the user object, which lives for one request:
every staff page and every API call of a staff token paid two queries (the user's own
permissions and their groups') before doing any work. Here the set is kept in the cache
(Redis in production, shared by every process) for ``PERMISSION_CACHE_SECONDS``.

A permission change must take effect at once (a loan officer moved out of the role must not
keep approving for five minutes), so every way a set can change forgets the affected users'
entries: their groups or direct permissions changing, a group's permissions changing, a group
or permission being deleted, and migrations (which sync role permissions through historical
models that send no signals to us). The key also carries ``is_superuser`` and the account's
join time, so a promoted account or a reused id never reads an old set. The cache is only a
shortcut: when it is unreachable the backend asks the database as before.
"""

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache

KEY_PREFIX = "perms:v1"


def _joined(date_joined) -> int:
    return int(date_joined.timestamp() * 1_000_000) if date_joined else 0


def _key(user_id, joined_ts, is_superuser) -> str:
    return f"{KEY_PREFIX}:{user_id}:{joined_ts}:{int(bool(is_superuser))}"


def permission_cache_key(user) -> str:
    return _key(user.pk, _joined(user.date_joined), user.is_superuser)


class CachedPermissionsBackend(ModelBackend):
    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            key = permission_cache_key(user_obj)
            cached = cache.get(key)
            if cached is not None:
                user_obj._perm_cache = set(cached)
            else:
                permissions = super().get_all_permissions(user_obj)
                cache.set(key, frozenset(permissions), settings.PERMISSION_CACHE_SECONDS)
        return user_obj._perm_cache


def forget_permissions(user_ids) -> None:
    """Drop the cached permission sets of these users (both superuser variants)."""
    from django.contrib.auth import get_user_model

    rows = get_user_model().objects.filter(pk__in=list(user_ids)).values_list("pk", "date_joined")
    keys = []
    for pk, joined in rows:
        ts = _joined(joined)
        keys += [_key(pk, ts, False), _key(pk, ts, True)]
    if keys:
        cache.delete_many(keys)


def forget_all_permissions() -> None:
    """Every cached set (after migrations; rare, so it may cost a scan)."""
    delete_pattern = getattr(cache, "delete_pattern", None)
    if delete_pattern is not None:
        delete_pattern(f"{KEY_PREFIX}:*")
        return
    from django.contrib.auth import get_user_model

    forget_permissions(get_user_model().objects.values_list("pk", flat=True))


def _users_in_groups(group_ids) -> set:
    from django.contrib.auth import get_user_model

    return set(
        get_user_model()
        .objects.filter(groups__in=list(group_ids))
        .values_list("pk", flat=True)
        .distinct()
    )


def _users_with_permission(permission_ids) -> set:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    User = get_user_model()
    ids = list(permission_ids)
    direct = set(User.objects.filter(user_permissions__in=ids).values_list("pk", flat=True))
    groups = Group.objects.filter(permissions__in=ids).values_list("pk", flat=True)
    return direct | _users_in_groups(groups)


def connect_invalidation() -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission
    from django.db.models.signals import m2m_changed, post_migrate, pre_delete

    User = get_user_model()

    def on_change(*, forward, named, cleared):
        """An m2m_changed receiver that forgets the affected users' sets. ``forward(instance)``
        when the change came from the side holding the field (``user.groups.add``);
        ``named(pk_set)`` from the other side (``group.user_set.add``); ``cleared(instance)``
        for a clear from the other side, asked before it is cleared (pk_set is None)."""

        def receiver(sender, instance, action, reverse, pk_set, **kwargs):
            if action not in ("post_add", "post_remove", "pre_clear"):
                return
            if not reverse:
                forget_permissions(forward(instance))
            elif pk_set is not None:
                forget_permissions(named(pk_set))
            else:
                forget_permissions(cleared(instance))

        return receiver

    user_groups_changed = on_change(
        forward=lambda user: [user.pk],
        named=lambda user_ids: user_ids,
        cleared=lambda group: _users_in_groups([group.pk]),
    )
    user_permissions_changed = on_change(
        forward=lambda user: [user.pk],
        named=lambda user_ids: user_ids,
        cleared=lambda permission: User.objects.filter(user_permissions=permission).values_list(
            "pk", flat=True
        ),
    )
    group_permissions_changed = on_change(
        forward=lambda group: _users_in_groups([group.pk]),
        named=_users_in_groups,
        cleared=lambda permission: _users_with_permission([permission.pk]),
    )

    def group_deleted(sender, instance, **kwargs):
        forget_permissions(_users_in_groups([instance.pk]))

    def permission_deleted(sender, instance, **kwargs):
        forget_permissions(_users_with_permission([instance.pk]))

    def migrated(sender, **kwargs):
        # post_migrate is sent once per app after all migrations ran; once is enough.
        if sender.label == "portal":
            forget_all_permissions()

    uid = "core.auth_backends."
    m2m_changed.connect(
        user_groups_changed, sender=User.groups.through, dispatch_uid=uid + "groups"
    )
    m2m_changed.connect(
        user_permissions_changed,
        sender=User.user_permissions.through,
        dispatch_uid=uid + "user_permissions",
    )
    m2m_changed.connect(
        group_permissions_changed,
        sender=Group.permissions.through,
        dispatch_uid=uid + "group_permissions",
    )
    pre_delete.connect(group_deleted, sender=Group, dispatch_uid=uid + "group_deleted")
    pre_delete.connect(
        permission_deleted, sender=Permission, dispatch_uid=uid + "permission_deleted"
    )
    post_migrate.connect(migrated, dispatch_uid=uid + "migrated")
