"""Who may open a page. Object-level checks live in each app's selectors."""

from typing import TYPE_CHECKING

from django.contrib.auth.mixins import AccessMixin
from django.core.exceptions import PermissionDenied
from django.views import View

# The mixin sits before a view class: to the type checker it is one (for ``dispatch``).
if TYPE_CHECKING:
    _ViewBase = View
else:
    _ViewBase = object


class StaffPermissionRequiredMixin(AccessMixin, _ViewBase):
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


def staff_perm_required(*perms: str):
    """View decorator: signed-in staff with every permission, checked before anything else."""
    from functools import wraps

    from django.contrib.auth.views import redirect_to_login

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            require_staff_perm(request.user, *perms)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
