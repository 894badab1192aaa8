import django_filters

from core.forms import QuickSelect
from notifications.models import Channel, Message


class MemberMessageFilter(django_filters.FilterSet):
    channel = django_filters.ChoiceFilter(
        widget=QuickSelect, choices=Channel.choices, empty_label="E-mail and SMS"
    )

    class Meta:
        model = Message
        fields = ["channel"]
