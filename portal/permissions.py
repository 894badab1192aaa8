"""Who may open a page. Object-level checks live in each app's selectors."""

from django.contrib.auth.mixins import AccessMixin, LoginRequiredMixin
from django.core.exceptions import PermissionDenied


class MemberRequiredMixin(LoginRequiredMixin):
    """A signed-in user; objects are then fetched through ``*_visible_to(user)``."""


class StaffPermissionRequiredMixin(AccessMixin):
    """Back-office page: signed-in staff holding every permission in ``permission_required``.

    Anonymous users go to the login page; signed-in users without the permission get 403.
    """

    permission_required: tuple[str, ...] = ()

    def dispatch(self, request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return self.handle_no_permission()
        if not user.is_staff or not user.has_perms(self.permission_required):
            raise PermissionDenied("You do not have permission to open this page.")
        return super().dispatch(request, *args, **kwargs)


def require_staff_perm(user, *perms: str) -> None:
    if not user.is_authenticated or not user.is_staff or not user.has_perms(perms):
        raise PermissionDenied("You do not have permission to do this.")
