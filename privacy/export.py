"""Everything we hold about a member, for their own download (NDPA 2023 right of access).

The BVN is exported masked: the member knows it, and a full BVN in a downloaded file is a
lasting risk if the file leaks; staff reveal it on request (audited). Money is in naira as
decimal strings, dates in ISO 8601.
"""

from django.apps import apps

from arrears.models import CollectionContact
from core.models import AuditEvent
from core.money import api_amount
from loans.models import Application, Loan
from members.models import Member
from payments.models import Payment


def _iso(value):
    return value.isoformat() if value else None


def member_data(member: Member) -> dict:
    user = member.user
    data = {
        "account": {
            "email": user.email,
            "joined": _iso(user.date_joined),
            "last_login": _iso(user.last_login),
        },
        "profile": {
            "full_name": member.full_name,
            "date_of_birth": _iso(member.date_of_birth),
            "phone": member.phone,
            "bvn": member.bvn_masked,
            "nysc_state_code": member.state_code,
            "batch": member.batch,
            "stream": member.stream,
            "deployment_state": member.deployment_state,
            "place_of_primary_assignment": member.ppa_name,
            "service_start": _iso(member.service_start),
            "passing_out": _iso(member.passing_out),
            "monthly_allowance": api_amount(member.monthly_allowance),
            "other_income": api_amount(member.other_income),
            "bank": member.bank_name,
            "account_number": member.account_number,
            "account_name": member.account_name,
            "kyc_status": member.kyc_status,
        },
        "documents": [
            {"kind": d.get_kind_display(), "uploaded": _iso(d.uploaded_at)}
            for d in member.documents.all()
        ],
        "applications": [
            {
                "reference": a.reference,
                "product": a.product.name,
                "amount": api_amount(a.amount),
                "tenure_months": a.tenure_months,
                "status": a.status,
                "submitted": _iso(a.submitted_at),
                "consent": {
                    "at": _iso(a.consent_at),
                    "ip": a.consent_ip,
                    "user_agent": a.consent_user_agent,
                    "key_facts_hash": a.key_facts_hash,
                },
                "decision_reason": a.decision_reason,
                "history": [
                    {"at": _iso(h.created_at), "status": h.to_status, "reason": h.reason}
                    for h in a.history.all()
                ],
            }
            for a in Application.objects.filter(member=member)
            .select_related("product")
            .prefetch_related("history")
        ],
        "loans": [
            {
                "reference": loan.reference,
                "status": loan.status,
                "principal": api_amount(loan.principal),
                "total_repayable": api_amount(loan.total_repayable),
                "disbursed_on": _iso(loan.disbursed_on),
                "closed": _iso(loan.closed_at),
                "installments": [
                    {
                        "number": i.number,
                        "due_date": _iso(i.due_date),
                        "due": api_amount(i.total_due),
                        "paid": api_amount(i.total_paid),
                        "late_fee": api_amount(i.late_fee),
                        "status": i.status,
                    }
                    for i in loan.installments.all()
                ],
            }
            for loan in Loan.objects.filter(member=member).prefetch_related("installments")
        ],
        "payments": [
            {
                "reference": p.reference,
                "amount": api_amount(p.amount),
                "channel": p.channel,
                "status": p.status,
                "received": _iso(p.received_at),
            }
            for p in Payment.objects.filter(member=member).order_by("created_at")
        ],
        "collection_contacts": [
            {
                "at": _iso(c.created_at),
                "channel": c.channel,
                "outcome": c.outcome,
                "promise_date": _iso(c.promise_date),
            }
            for c in CollectionContact.objects.filter(loan__member=member)
        ],
        "your_actions": [
            {"at": _iso(e.created_at), "action": e.action, "object": e.object_type}
            for e in AuditEvent.objects.filter(actor=user).order_by("created_at")[:5000]
        ],
    }
    if apps.is_installed("notifications"):
        message_model = apps.get_model("notifications", "Message")
        data["messages"] = [
            {"at": _iso(m.created_at), "channel": m.channel, "kind": m.kind, "status": m.status}
            for m in message_model.objects.filter(member=member).order_by("created_at")
        ]
    return data


def flatten(data, prefix="") -> list[tuple[str, str]]:
    """(path, value) pairs of a nested export, for the CSV download."""
    rows: list[tuple[str, str]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            rows += flatten(value, f"{prefix}.{key}" if prefix else key)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            rows += flatten(value, f"{prefix}[{index}]")
    else:
        rows.append((prefix, "" if data is None else str(data)))
    return rows
