"""The loan lifecycle is the only owner of loan and installment status: payout, repayment,
closure, reversal, the overdue run, write-off and cancellation all pass through it, its
transition maps refuse what they do not list, and no other product module writes a status."""

import ast
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
import time_machine

from arrears import overdue
from arrears import services as arrears_services
from core.clock import LAGOS
from core.errors import InvalidTransition
from core.models import AuditEvent
from loans import lifecycle
from loans import services as loan_services
from loans.models import Installment, InstallmentStatus, Loan, LoanStatus
from payments import services
from tests.arrears.builders import loan_in_arrears
from tests.factories import active_loan, approved_loan, make_finance, make_officer

TODAY = date(2027, 6, 15)

CHANGERS = [
    "activate_on_payout",
    "cancel",
    "close_if_repaid",
    "reopen_on_reversal",
    "write_off",
    "apply_installment_amounts",
    "mark_overdue",
    "update_arrears_since",
]


@pytest.fixture
def calls(monkeypatch):
    """Every lifecycle function replaced by a spy that records its name and does the work."""
    seen: list[str] = []
    for name in CHANGERS:
        original = getattr(lifecycle, name)

        def spy(*args, _name=name, _original=original, **kwargs):
            seen.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(lifecycle, name, spy)
    return seen


# --- Every status change passes through the lifecycle ------------------------------------------


@pytest.mark.django_db
def test_payout_repayment_and_reversal_pass_through_the_lifecycle(calls):
    # A product whose early repayment saves nothing: paying in full on the payout day closes
    # the loan without a rebate (settlement has its own tests), and the payment can be reversed.
    loan = approved_loan(early_settlement_rule="none")
    finance = make_finance()
    services.record_manual_disbursement(loan=loan, actor=finance, bank_reference="FT-LC-0001")
    assert calls == ["activate_on_payout"]
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ACTIVE

    calls.clear()
    payment = services.record_manual_payment(
        # ₦75,000 covers ₦60,000 + ₦6,000 for months 2–3 + month 1's interest for its real
        # days, at most 58 (1st of a month → 28th of the next): 6,000,000 × 0.6 × 58 / 365.
        loan=loan,
        actor=finance,
        amount=75_000_00,
        reason="Paid in full",
        evidence="RCPT-LC",
    )
    assert calls == ["apply_installment_amounts", "close_if_repaid"]
    loan.refresh_from_db()
    assert loan.status == LoanStatus.CLOSED
    assert {i.status for i in loan.installments.all()} == {InstallmentStatus.PAID}

    calls.clear()
    services.reverse_payment(payment=payment, actor=finance, reason="Cheque bounced")
    assert calls == ["apply_installment_amounts", "reopen_on_reversal"]
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ACTIVE and loan.closed_at is None
    assert InstallmentStatus.PAID not in {i.status for i in loan.installments.all()}
    reopened = AuditEvent.objects.get(action="loan.reopened", object_id=str(loan.pk))
    assert reopened.changes == {
        "status": [LoanStatus.CLOSED, LoanStatus.ACTIVE],
        "payment": payment.reference,
    }


@pytest.mark.django_db
def test_a_repayment_changes_no_status_when_the_lifecycle_does_not(monkeypatch):
    """Stubbing the lifecycle stops the status changes: nobody else writes them."""
    loan = active_loan(early_settlement_rule="none")
    monkeypatch.setattr(
        lifecycle, "apply_installment_amounts", lambda installments, *, now, scheduled=False: None
    )
    monkeypatch.setattr(lifecycle, "close_if_repaid", lambda loan, installments, *, actor: False)
    services.record_manual_payment(
        loan=loan, actor=make_finance(), amount=70_000_00, reason="Paid in full", evidence="R-2"
    )
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ACTIVE
    assert {i.status for i in loan.installments.all()} == {InstallmentStatus.PENDING}


@pytest.mark.django_db
def test_cancellation_in_cooling_off_passes_through_the_lifecycle(calls):
    loan = approved_loan()
    loan_services.cancel_application(application=loan.application, actor=loan.member.user)
    assert calls == ["cancel"]
    loan.refresh_from_db()
    assert loan.status == LoanStatus.CANCELLED


@pytest.fixture
def lagos_midday():
    with time_machine.travel(datetime(2027, 6, 15, 11, tzinfo=LAGOS), tick=False):
        yield


@pytest.mark.django_db
def test_the_overdue_run_passes_through_the_set_based_twins(lagos_midday, calls):
    loan = loan_in_arrears(10, today=TODAY)
    calls.clear()
    overdue.run_overdue(run_date=TODAY)
    assert calls == ["mark_overdue", "update_arrears_since"]
    loan.refresh_from_db()
    first = loan.installments.get(number=1)
    assert first.status == InstallmentStatus.OVERDUE
    assert loan.arrears_since == first.due_date


@pytest.mark.django_db
def test_the_overdue_run_marks_nothing_when_the_lifecycle_does_not(lagos_midday, monkeypatch):
    loan = loan_in_arrears(10, today=TODAY)
    monkeypatch.setattr(lifecycle, "mark_overdue", lambda day: 0)
    overdue.run_overdue(run_date=TODAY)
    assert not loan.installments.filter(status=InstallmentStatus.OVERDUE).exists()


@pytest.mark.django_db
def test_write_off_passes_through_the_lifecycle(lagos_midday, calls):
    loan = loan_in_arrears(120, today=TODAY)
    overdue.run_overdue(run_date=TODAY)
    write_off = arrears_services.request_write_off(
        loan=loan, actor=make_officer(), reason="Member unreachable for 120 days, line dead."
    )
    calls.clear()
    arrears_services.approve_write_off(write_off=write_off, actor=make_finance())
    assert calls == ["write_off"]
    loan.refresh_from_db()
    assert loan.status == LoanStatus.WRITTEN_OFF and loan.arrears_since is None
    event = AuditEvent.objects.get(action="loan.written_off", object_id=str(loan.pk))
    assert event.changes["status"] == [LoanStatus.ACTIVE, LoanStatus.WRITTEN_OFF]


# --- The transition maps -----------------------------------------------------------------------


def test_every_status_has_a_row_in_its_map():
    assert set(lifecycle.LOAN_TRANSITIONS) == set(LoanStatus)
    assert set(lifecycle.INSTALLMENT_TRANSITIONS) == set(InstallmentStatus)
    for transitions in (lifecycle.LOAN_TRANSITIONS, lifecycle.INSTALLMENT_TRANSITIONS):
        for source, targets in transitions.items():
            assert source not in targets


def test_the_loan_map_holds_what_the_code_does():
    loans = lifecycle.LOAN_TRANSITIONS
    assert LoanStatus.ACTIVE in loans[LoanStatus.CLOSED]  # a reversal reopens a repaid loan
    assert loans[LoanStatus.WRITTEN_OFF] == set() and loans[LoanStatus.CANCELLED] == set()


@pytest.mark.parametrize(
    ("status", "change"),
    [
        (LoanStatus.ACTIVE, lambda loan: lifecycle.cancel(loan, actor=None)),
        (LoanStatus.CLOSED, lambda loan: lifecycle.write_off(loan, actor=None, changes={})),
        (
            LoanStatus.PENDING_DISBURSEMENT,
            lambda loan: lifecycle.write_off(loan, actor=None, changes={}),
        ),  # noqa: E501
        (
            LoanStatus.CANCELLED,
            lambda loan: lifecycle.activate_on_payout(
                loan, actor=None, now=datetime(2027, 1, 1, tzinfo=LAGOS), on=TODAY, changes={}
            ),
        ),
        (
            LoanStatus.WRITTEN_OFF,
            lambda loan: lifecycle.check_loan_transition(loan, LoanStatus.ACTIVE),
        ),  # noqa: E501
    ],
)
def test_illegal_loan_transitions_are_refused_before_anything_is_saved(status, change):
    loan = Loan(status=status)  # unsaved: a refusal must come before any write
    with pytest.raises(InvalidTransition):
        change(loan)
    assert loan.status == status


def test_an_illegal_installment_transition_is_refused():
    """An overdue installment never goes back to pending: its due date has passed."""
    inst = Installment(
        status=InstallmentStatus.OVERDUE,
        due_date=TODAY + timedelta(days=30),
        principal=100,
        interest=0,
    )
    assert lifecycle.installment_status(inst, TODAY) == InstallmentStatus.PENDING
    with pytest.raises(InvalidTransition, match="overdue"):
        lifecycle.apply_installment_amounts([inst], now=datetime(2027, 6, 15, tzinfo=LAGOS))


def test_installment_status_follows_the_amounts():
    def inst(status=InstallmentStatus.PENDING, paid=0, due=TODAY):
        return Installment(
            status=status, due_date=due, principal=100, interest=0, paid_principal=paid
        )

    assert lifecycle.installment_status(inst(paid=100), TODAY) == InstallmentStatus.PAID
    assert lifecycle.installment_status(inst(paid=40), TODAY) == InstallmentStatus.PARTIALLY_PAID
    assert lifecycle.installment_status(inst(), TODAY) == InstallmentStatus.PENDING
    yesterday = TODAY - timedelta(days=1)
    assert lifecycle.installment_status(inst(due=yesterday), TODAY) == InstallmentStatus.OVERDUE
    waived = inst(status=InstallmentStatus.WAIVED)
    assert lifecycle.installment_status(waived, TODAY) == InstallmentStatus.WAIVED


# --- Nobody else writes a status -----------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = [
    "api",
    "arrears",
    "config",
    "core",
    "loans",
    "members",
    "notifications",
    "payments",
    "servicing",
    "privacy",
    "reports",
]
# The documented exception: the development-data seeders (devdata/) insert loans and
# installments in bulk with the status they should have; they are not product code and the
# import-linter keeps the product from importing them.
EXCEPTIONS = {"loans/lifecycle.py"}
STATUS_NAMES = {"LoanStatus", "InstallmentStatus", "installment_status"}


def _mentions_status(node) -> bool:
    return any(
        isinstance(n, ast.Name)
        and n.id in STATUS_NAMES
        or isinstance(n, ast.Attribute)
        and n.attr in STATUS_NAMES
        for n in ast.walk(node)
    )


def _names_a_loan(node) -> bool:
    """``loan.status = ...``, ``inst.status = ...``, ``self.installment.status = ...``."""
    names = [n.id for n in ast.walk(node) if isinstance(n, ast.Name)]
    names += [n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)]
    return any("loan" in name.lower() or "inst" in name.lower() for name in names)


def _status_writes(tree) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(
                isinstance(t, ast.Attribute)
                and t.attr == "status"
                and (_mentions_status(node.value) or _names_a_loan(t.value))
                for t in targets
            ):
                lines.append(node.lineno)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in {"update", "bulk_update"} and any(
                (kw.arg == "status" and _mentions_status(kw.value)) for kw in node.keywords
            ):
                lines.append(node.lineno)
            if (
                node.func.attr == "bulk_update"
                and any(
                    isinstance(n, ast.Name) and n.id in {"Loan", "Installment"}
                    for n in ast.walk(node.func.value)
                )
                and any(
                    isinstance(c, ast.Constant) and c.value == "status"
                    for arg in node.args
                    for c in ast.walk(arg)
                )
            ):
                lines.append(node.lineno)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            sql = " ".join(node.value.split()).lower()
            if "set status" in sql or ", status =" in sql:
                lines.append(node.lineno)
    return lines


def _product_modules():
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" not in relative and relative not in EXCEPTIONS:
                yield relative, path


@pytest.mark.django_db
def test_an_installment_paid_earlier_keeps_its_paid_date_when_a_later_payment_arrives():
    """A second repayment used to stamp every paid installment with its own time."""
    first_day = datetime(2026, 3, 2, 12, tzinfo=LAGOS)
    with time_machine.travel(first_day, tick=False):
        loan = active_loan()
        first = loan.installments.order_by("number").first()
        services.record_manual_payment(
            loan=loan,
            actor=make_finance(),
            amount=first.total_due,
            reason="Month one",
            evidence="M1",
        )
    first.refresh_from_db()
    assert first.status == InstallmentStatus.PAID and first.paid_at == first_day

    # The day after installment 1 fell due, installment 2's period is running: it is paid next.
    later = datetime.combine(first.due_date + timedelta(days=1), time(12), tzinfo=LAGOS)
    with time_machine.travel(later, tick=False):
        services.record_manual_payment(
            loan=loan,
            actor=make_finance(),
            amount=5_000_00,
            reason="Part of month two",
            evidence="M2",
        )
    first.refresh_from_db()
    second = loan.installments.get(number=2)
    assert first.paid_at == first_day
    assert second.status == InstallmentStatus.PARTIALLY_PAID and second.paid_at is None


def test_no_product_module_outside_the_lifecycle_writes_a_loan_or_installment_status():
    offenders = [
        f"{relative}:{line}"
        for relative, path in _product_modules()
        for line in _status_writes(ast.parse(path.read_text()))
    ]
    assert offenders == [], "status writes outside loans/lifecycle.py"


def test_the_scan_finds_the_writes_it_looks_for():
    source = (ROOT / "loans/lifecycle.py").read_text()
    assert len(_status_writes(ast.parse(source))) >= 4
    samples = [
        "loan.status = LoanStatus.CLOSED",
        "loan.status = target",
        "row.status = InstallmentStatus.PAID",
        "inst.status = installment_status(inst, today)",
        "Installment.objects.filter(pk=1).update(status=InstallmentStatus.OVERDUE)",
        "Installment.objects.bulk_update(rows, ['paid_fee', 'status'])",
        "cursor.execute('UPDATE loans_loan SET status = %s')",
    ]
    for sample in samples:
        assert _status_writes(ast.parse(sample)), sample
