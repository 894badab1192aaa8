import django_filters
from django import forms

from core.filters import LocalDayFilter
from core.forms import QuickSelect
from members.models import KycStatus, Member
from members.selectors import search_members
from members.validators import STATE_CHOICES


class MemberFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search",
        label="Search",
        widget=forms.TextInput(
            attrs={"placeholder": "Name, e-mail, phone, state code, BVN last 4", "type": "search"}
        ),
    )
    kyc_status = django_filters.ChoiceFilter(
        widget=QuickSelect, choices=KycStatus.choices, label="KYC status"
    )
    deployment_state = django_filters.ChoiceFilter(
        widget=QuickSelect, choices=STATE_CHOICES, label="State"
    )
    created_after = LocalDayFilter(field_name="created_at", label="Joined from")

    class Meta:
        model = Member
        fields = ["q", "kyc_status", "deployment_state", "created_after"]

    def search(self, queryset, name, value):
        return search_members(queryset, value)
