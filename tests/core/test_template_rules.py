"""Templates ask the model or a template tag ("can this member pay?", "needs a second
approval?") instead of restating a rule: no status comparison in any template, and the
rules they ask answer as the services decide."""

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import Context, Template

from loans import rules
from loans.models import Application, ApplicationStatus, Loan, LoanProduct, LoanStatus
from members.models import KycStatus, Member, User
from payments import rules as payment_rules
from payments.models import LineStatus, Payment, PaymentStatus, StatementLine

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# `{% if loan.status == "closed" %}`, `{% if member.kyc_status != ... %}`, `status in (...)`.
STATUS_COMPARISON = re.compile(r"\.\w*status\s*(==|!=|\bin\b|\bnot in\b)")
TAG = re.compile(r"{%.*?%}", re.DOTALL)


def _tags(path: Path) -> list[str]:
    return TAG.findall(path.read_text())


def test_templates_contain_no_status_comparisons():
    found = {
        f"{path.relative_to(TEMPLATES)}: {tag}"
        for path in sorted(TEMPLATES.rglob("*"))
        if path.is_file() and path.suffix in {".html", ".txt"}
        for tag in _tags(path)
        if STATUS_COMPARISON.search(tag)
    }
    assert found == set(), "ask a model property or a rules filter instead: " + str(found)


def test_templates_do_not_restate_the_two_officer_rule():
    for path in TEMPLATES.rglob("*.html"):
        for tag in _tags(path):
            assert "dual_approval_above" not in tag or ">" not in tag, path


def _application(amount, *, threshold=100_000_00, status=ApplicationStatus.IN_REVIEW):
    product = LoanProduct(dual_approval_above=threshold)
    return Application(product=product, amount=amount, status=status)


def test_a_second_approval_is_needed_only_above_the_threshold():
    assert rules.approvals_needed(_application(100_000_00)) == 1
    assert rules.approvals_needed(_application(100_000_01)) == 2
    assert rules.needs_second_approval(_application(150_000_00))
    # An officer who lowers the amount to the threshold needs no second approval.
    assert rules.approvals_needed(_application(150_000_00), 100_000_00) == 1


def test_only_the_borrower_is_offered_pay_and_only_on_a_loan_that_is_owed():
    """Active loans, and written-off ones: the debt remains and recoveries are accepted."""
    owner, other = User(pk=1), User(pk=2)
    for status in (LoanStatus.ACTIVE, LoanStatus.WRITTEN_OFF):
        loan = Loan(member=Member(user=owner), status=status)
        assert rules.can_pay(loan, owner)
        assert not rules.can_pay(loan, other)
        assert not rules.can_pay(loan, AnonymousUser())
    for status in set(LoanStatus) - {LoanStatus.ACTIVE, LoanStatus.WRITTEN_OFF}:
        assert not rules.can_pay(Loan(member=Member(user=owner), status=status), owner)


def test_only_a_successful_payment_is_offered_reversal():
    assert [s for s in PaymentStatus if payment_rules.is_reversible(Payment(status=s))] == [
        PaymentStatus.SUCCESSFUL
    ]


def test_member_kyc_questions():
    assert Member(kyc_status=KycStatus.VERIFIED).is_kyc_verified
    assert Member(kyc_status=KycStatus.SUBMITTED).is_kyc_in_review
    assert Member(kyc_status=KycStatus.REJECTED).is_kyc_rejected
    assert not Member(kyc_status=KycStatus.INCOMPLETE).is_kyc_verified


@pytest.mark.parametrize(
    ("status", "css"),
    [
        (LineStatus.MATCHED, "bg-success"),
        (LineStatus.SUGGESTED, "bg-warning text-dark"),
        (LineStatus.IGNORED, "bg-light text-dark border"),
        (LineStatus.UNMATCHED, "bg-secondary"),
    ],
)
def test_status_badge_takes_label_and_colour_from_the_model(status, css):
    html = Template("{% load status_badges %}{% status_badge line %}").render(
        Context({"line": StatementLine(status=status)})
    )
    assert html == f'<span class="badge {css}">{status.label}</span>'


def test_status_badge_with_a_field_and_a_test_id():
    html = Template(
        '{% load status_badges %}{% status_badge member field="kyc_status" testid="kyc" %}'
    ).render(Context({"member": Member(kyc_status=KycStatus.VERIFIED)}))
    assert html == '<span class="badge bg-secondary" data-testid="kyc">Verified</span>'
