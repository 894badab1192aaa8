from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import get_object_or_404, render

from core.tables import HtmxTableView
from members.views import member_for_request
from notifications.filters import MemberMessageFilter
from notifications.selectors import messages_of
from notifications.tables import MemberMessageTable


class MemberMessagesView(LoginRequiredMixin, HtmxTableView):
    """Every message we sent (or will send) the signed-in member, and only theirs."""

    table_class = MemberMessageTable
    filterset_class = MemberMessageFilter
    page_title = "My messages"

    def get_queryset(self):
        return messages_of(member_for_request(self.request))


@login_required
def message_detail(request, pk):
    # Scoped by member: another member's message id is a 404, not a 403 that confirms it.
    message = get_object_or_404(messages_of(member_for_request(request)), pk=pk)
    return render(request, "notifications/message_detail.html", {"message": message})
