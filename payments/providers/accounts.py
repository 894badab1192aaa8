"""Account names the offline providers (simulated, manual) can answer without a bank."""

from members.models import Member  # lazily: providers load before the app registry


def member_name_for_account(*, account_number: str, bank_code: str) -> str:
    """The name of the member who gave us this bank account, or "" if nobody did."""

    member = (
        Member.objects.filter(account_number=account_number, bank_code=bank_code)
        .only("full_name", "account_name")
        .first()
    )
    if member is None:
        return ""
    return (member.full_name or member.account_name or "").strip()
