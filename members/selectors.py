"""Permission-scoped reads. Views never query members without going through here."""

from django.db.models import Q, QuerySet
from django.http import Http404

from members.models import Member, MemberDocument

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
    condition = Q(full_name__istartswith=term) | Q(user__email__istartswith=term.lower())
    digits = "".join(ch for ch in term if ch.isdigit())
    if len(digits) == 4 and digits == term:
        condition |= Q(bvn_last4=digits)
    if len(digits) >= 7:
        tail = digits[1:] if digits.startswith("0") else digits
        tail = tail[3:] if tail.startswith("234") else tail
        condition |= Q(phone__endswith=tail) if len(tail) < 10 else Q(phone="+234" + tail)
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
