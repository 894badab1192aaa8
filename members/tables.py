import django_tables2 as tables

from core.table_render import LocalDateTimeColumn
from members.models import Member


class MemberTable(tables.Table):
    full_name = tables.Column(linkify=True, verbose_name="Name", order_by=("full_name", "id"))
    email = tables.Column(accessor="user__email", verbose_name="E-mail", orderable=False)
    bvn = tables.Column(accessor="bvn_masked", verbose_name="BVN", orderable=False)
    created_at = LocalDateTimeColumn(
        format="d M Y", verbose_name="Joined", order_by=("created_at", "id")
    )

    class Meta:
        model = Member
        fields = (
            "full_name",
            "email",
            "phone",
            "state_code",
            "deployment_state",
            "bvn",
            "kyc_status",
            "created_at",
        )
        order_by = ("-created_at",)
        attrs = {"class": "table table-sm table-hover align-middle"}

    def render_full_name(self, value, record):
        return value or f"Member {record.pk} (profile not started)"
