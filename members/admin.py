from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction

from core import audit
from core.errors import DomainError
from members.banks import BANK_CHOICES
from members.models import (
    Member,
    MemberDocument,
    RoleChangeKind,
    RoleGrantRequest,
    StaffIdentity,
    User,
)
from members.role_changes import (
    approve_role_change,
    check_role_change,
    reject_role_change,
    request_role_change,
)
from members.roles import ROLES
from members.service_year import ServiceBatch
from members.services import apply_calendar_change
from members.staff_identity import check_staff_identity, set_staff_identity

# Only a superuser sees or sets these: they are who may do what.
PRIVILEGE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Administrators edit accounts (e-mail, name, active); roles change through the role
    change requests below, and superuser/staff status and direct permissions only by a
    superuser. The form is built from the fieldsets, so a crafted POST of a field that is
    not shown is ignored."""

    ordering = ("email",)
    list_display = ("email", "display_name", "is_staff", "is_active", "date_joined", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("email", "display_name")
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("email", "password", "display_name")}),
        ("Access", {"fields": ("is_active", *PRIVILEGE_FIELDS)}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    limited_fieldsets = (
        (None, {"fields": ("email", "password", "display_name")}),
        ("Access", {"fields": ("is_active", "is_staff", "roles")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {"classes": ("wide",), "fields": ("email", "display_name", "password1", "password2")},
        ),
    )

    def get_fieldsets(self, request, obj=None):
        if obj is not None and not request.user.is_superuser:
            return self.limited_fieldsets
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return ("roles",)
        return ("is_staff", "roles", "last_login", "date_joined")

    @admin.display(description="Roles")
    def roles(self, obj):
        return ", ".join(obj.groups.values_list("name", flat=True)) or "—"

    def has_change_permission(self, request, obj=None):
        # A staff account (its password, e-mail, active flag) is a superuser's to change:
        # taking over a finance user's login is the same attack as granting the role.
        if (
            obj is not None
            and (obj.is_staff or obj.is_superuser)
            and not request.user.is_superuser
            and obj.pk != request.user.pk
        ):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and (obj.is_staff or obj.is_superuser) and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not request.user.is_superuser:
            # Belt and braces: the limited form has no privilege field, and nothing else
            # may have slipped one in.
            original = User.objects.filter(pk=obj.pk).first() if change else None
            obj.is_staff = original.is_staff if original else False
            obj.is_superuser = original.is_superuser if original else False
        super().save_model(request, obj, form, change)
        changed = [name for name in form.changed_data if name not in ("password",)]
        audit.record(
            actor=request.user,
            action="user.changed_in_admin" if change else "user.created_in_admin",
            obj=obj,
            changes={
                name: str(form.cleaned_data.get(name))
                for name in changed
                if name not in ("password1", "password2")
            },
        )

    def save_related(self, request, form, formsets, change):
        if not request.user.is_superuser:
            # No m2m field is on the limited form; refuse to save any that a POST carried.
            for name in ("groups", "user_permissions"):
                form.cleaned_data.pop(name, None)
        super().save_related(request, form, formsets, change)


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(BaseGroupAdmin):
    """Roles and their permissions come from migrations (members.roles); only a superuser
    may change a group here. An administrator sees them."""

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        audit.record(
            actor=request.user,
            action="group.changed_in_admin",
            obj=form.instance,
            changes={"permissions": [str(p) for p in form.instance.permissions.all()]},
        )


class RoleGrantRequestForm(forms.ModelForm):
    role = forms.ChoiceField(choices=[(role, role) for role in ROLES])
    kind = forms.ChoiceField(choices=RoleChangeKind.choices)

    class Meta:
        model = RoleGrantRequest
        fields = ("user", "role", "kind", "reason")

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            data["reason"] = check_role_change(
                user=data["user"],
                role=data["role"],
                kind=data["kind"],
                actor=self.request.user,
                reason=data.get("reason", ""),
            )
        except DomainError as exc:
            raise ValidationError(exc.message) from exc
        return data


@admin.register(RoleGrantRequest)
class RoleGrantRequestAdmin(admin.ModelAdmin):
    """Grant or revoke a staff role: the reason is required; a grant of Finance or
    Administrators waits for a second administrator (the "Approve" action), who is neither
    the requester nor the grantee. Rows are never edited or deleted."""

    form = RoleGrantRequestForm
    list_display = ("id", "user", "kind", "role", "status", "requested_by", "decided_by")
    list_filter = ("status", "kind", "role")
    search_fields = ("user__email",)
    raw_id_fields = ("user",)
    show_full_result_count = False
    actions = ["approve", "reject"]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.request = request
        return form

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return [f.name for f in RoleGrantRequest._meta.fields]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        saved = request_role_change(
            user=obj.user,
            role=obj.role,
            kind=obj.kind,
            actor=request.user,
            reason=obj.reason,
        )
        obj.pk, obj.status = saved.pk, saved.status
        obj._state.adding = False

    def _decide(self, request, queryset, decide):
        for change in queryset:
            try:
                decide(change=change, actor=request.user)
            except DomainError as exc:
                self.message_user(request, f"{change}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{change}: done.", messages.SUCCESS)

    @admin.action(description="Approve (second administrator)", permissions=["approve"])
    def approve(self, request, queryset):
        self._decide(request, queryset, approve_role_change)

    @admin.action(description="Reject", permissions=["add"])
    def reject(self, request, queryset):
        self._decide(request, queryset, reject_role_change)

    def has_approve_permission(self, request):
        return request.user.has_perm("members.approve_rolegrantrequest")


class StaffIdentityForm(forms.ModelForm):
    bvn = forms.CharField(
        label="BVN", max_length=14, help_text="Stored encrypted; shown masked afterwards."
    )
    bank_code = forms.ChoiceField(choices=BANK_CHOICES)

    class Meta:
        model = StaffIdentity
        fields = ("user", "bvn", "phone", "bank_code", "account_number")

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        user = data.get("user") or self.instance.user
        try:
            data["bvn"], data["phone"], data["account_number"] = check_staff_identity(
                user=user,
                actor=self.request.user,
                bvn=data["bvn"],
                phone=data["phone"],
                bank_code=data["bank_code"],
                account_number=data["account_number"],
            )
        except DomainError as exc:
            raise ValidationError(exc.message) from exc
        return data

    def _post_clean(self):
        # Written by the service (encrypts the BVN), not by ModelForm's instance update.
        pass


@admin.register(StaffIdentity)
class StaffIdentityAdmin(admin.ModelAdmin):
    """Who each staff account is (BVN, phone, bank account), recorded by another
    administrator; maker-checker refuses decisions on members who share them."""

    form = StaffIdentityForm
    list_display = ("user", "bvn_masked", "phone", "bank_code", "recorded_by", "updated_at")
    search_fields = ("user__email", "=phone")
    raw_id_fields = ("user",)
    show_full_result_count = False

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.request = request
        return form

    def get_readonly_fields(self, request, obj=None):
        return ("user", "bvn_masked", "recorded_by") if obj else ("bvn_masked", "recorded_by")

    @admin.display(description="BVN")
    def bvn_masked(self, obj):
        return obj.bvn_masked

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        saved = set_staff_identity(
            user=data.get("user") or obj.user,
            actor=request.user,
            bvn=data["bvn"],
            phone=data["phone"],
            bank_code=data["bank_code"],
            account_number=data["account_number"],
        )
        for field in StaffIdentity._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = (
        "full_name",
        "state_code",
        "deployment_state",
        "kyc_status",
        "bvn_masked",
        "created_at",
    )
    list_filter = ("kyc_status", "deployment_state", "batch")
    search_fields = ("full_name", "state_code", "=phone", "=bvn_last4", "user__email")
    # Identity and payout fields change only through services (audited; a new account clears
    # its name confirmation): read-only here for everyone, superusers included.
    readonly_fields = (
        "user",
        "full_name",
        "date_of_birth",
        "phone",
        "bvn_masked",
        "state_code",
        "service_batch",
        "service_start",
        "passing_out",
        "claimed_service_start",
        "bank_code",
        "account_number",
        "account_name",
        "account_name_confirmed",
        "confirmed_bank_code",
        "confirmed_account_number",
        "account_override_requested_by",
        "account_override_requested_at",
        "kyc_status",
        "kyc_reviewed_by",
        "kyc_reviewed_at",
        "created_at",
        "updated_at",
    )
    exclude = ("bvn_encrypted", "bvn_hash", "bvn_last4")
    list_select_related = ("user",)
    show_full_result_count = False
    ordering = ("-created_at", "-id")
    raw_id_fields = ()

    @admin.display(description="BVN")
    def bvn_masked(self, obj):
        return obj.bvn_masked

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit.record(
            actor=request.user,
            action="member.changed_in_admin",
            obj=obj,
            changes={name: str(form.cleaned_data.get(name)) for name in form.changed_data},
        )


@admin.register(MemberDocument)
class MemberDocumentAdmin(admin.ModelAdmin):
    list_display = ("member", "kind", "content_type", "size", "uploaded_at")
    list_filter = ("kind", "content_type")
    search_fields = ("=member__id",)
    raw_id_fields = ("member", "uploaded_by")
    show_full_result_count = False
    readonly_fields = ("file", "sha256", "size", "content_type", "original_name")


@admin.register(ServiceBatch)
class ServiceBatchAdmin(admin.ModelAdmin):
    """The NYSC calendar. Every change is audited and moves the members of the batch whose
    dates were the old entry's; an entry in use cannot be deleted (members point at it)."""

    list_display = ("__str__", "orientation_start", "passing_out", "announced", "updated_at")
    list_filter = ("year", "batch", "announced")
    ordering = ("-year", "-batch", "-stream")

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        before = ServiceBatch.objects.select_for_update().get(pk=obj.pk) if change else None
        super().save_model(request, obj, form, change)
        audit.record(
            actor=request.user,
            action="service_batch.changed" if change else "service_batch.added",
            obj=obj,
            changes={name: str(form.cleaned_data.get(name)) for name in form.changed_data},
        )
        moved = apply_calendar_change(obj, before, request.user)
        if moved:
            self.message_user(request, f"{moved} member(s) now have this batch's dates.")

    def delete_model(self, request, obj):
        audit.record(actor=request.user, action="service_batch.deleted", obj=obj, changes={})
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)
