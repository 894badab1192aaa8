"""Permission-scoped reads. Views never query members without going through here."""

from django.db.models import Q, QuerySet
from django.db.models.functions import Reverse
from django.http import Http404

from core import caching
from members.models import Member, MemberDocument, User
from members.services import get_or_create_member

MEMBER_LIST_COLUMNS = (
    "id",
    "created_at",
    "full_name",
    "phone",
    "state_code",
    "deployment_state",
    "bvn_last4",
    "kyc_status",
    "user__email",
)


def members_visible_to(user) -> QuerySet[Member]:
    if not user.is_authenticated:
        return Member.objects.none()
    if user.is_staff and user.has_perm("members.view_member"):
        return Member.objects.all()
    return Member.objects.filter(user=user)


def member_list_for_staff(user) -> QuerySet[Member]:
    """Only the columns the list shows, joined in one query."""
    return members_visible_to(user).select_related("user").only(*MEMBER_LIST_COLUMNS)


def search_members(queryset: QuerySet[Member], term: str) -> QuerySet[Member]:
    """Search by name, phone, state code, e-mail or BVN last 4, each through an index."""
    term = (term or "").strip()
    if not term:
        return queryset
    digits = "".join(ch for ch in term if ch.isdigit())
    looks_like_phone = len(digits) >= 7 and "/" not in term and not any(c.isalpha() for c in term)
    if looks_like_phone:
        tail = digits[1:] if digits.startswith("0") else digits
        tail = tail[3:] if tail.startswith("234") else tail
        if len(tail) >= 10:
            return queryset.filter(phone="+234" + tail)
        # A partial number is the end of one: compare reversed values with a prefix, which
        # an index on REVERSE(phone) serves (PostgreSQL migration 0004).
        return queryset.alias(phone_reversed=Reverse("phone")).filter(
            phone_reversed__startswith=tail[::-1]
        )
    condition = Q(full_name__istartswith=term)
    if len(term) >= 3:
        # E-mail lives on the user: find those users first (prefix index) so every branch
        # of the OR is an index condition on members (a join inside an OR scans both tables).

        user_ids = list(
            User.objects.filter(email__istartswith=term.lower()).values_list("pk", flat=True)[:50]
        )
        if user_ids:
            condition |= Q(user_id__in=user_ids)
    if len(digits) == 4 and digits == term:
        condition |= Q(bvn_last4=digits)
    if "/" in term:
        condition |= Q(state_code__istartswith=term.upper().removeprefix("NYSC/"))
    return queryset.filter(condition)


def member_for_staff(user, pk) -> Member:
    try:
        return members_visible_to(user).select_related("user", "kyc_reviewed_by").get(pk=pk)
    except (Member.DoesNotExist, ValueError) as exc:
        raise Http404("No such member") from exc


def document_visible_to(user, pk) -> MemberDocument:
    """The owner, or staff allowed to read KYC documents. Anyone else gets a 404."""
    qs = MemberDocument.objects.select_related("member")
    if not (user.is_staff and user.has_perm("members.view_member_documents")):
        qs = qs.filter(member__user=user)
    try:
        return qs.get(pk=pk)
    except (MemberDocument.DoesNotExist, ValueError) as exc:
        raise Http404("No such document") from exc


def own_profile(user) -> Member:
    """The signed-in member's own profile for display pages, cached for 10 minutes under the
    user's id and forgotten on any save of it (never for a write: services re-read the row
    under lock)."""

    return caching.cached("profile", str(user.pk), lambda: get_or_create_member(user=user))


def connect_cache_invalidation() -> None:
    from django.db.models.signals import post_delete, post_save

    def member_changed(instance, **kwargs):
        caching.forget("profile", str(instance.user_id))
        caching.bump_generation("members.member")

    for signal in (post_save, post_delete):
        signal.connect(member_changed, sender=Member, dispatch_uid=f"cache-member-{id(signal)}")
