from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    """Members sign themselves up; staff accounts are created by administrators."""

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            from members.services import get_or_create_member

            get_or_create_member(user=user)
        return user
