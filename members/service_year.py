"""The NYSC calendar: when each batch and stream starts orientation camp and passes out.

A corps member's allowance stops at passing-out, so every loan must end before it. The dates
come from this table, looked up by the batch in the member's state code (``LA/25B/1234`` is
2025 Batch B); never from a date the member types. A typed start date that disagrees with the
batch is kept as the member's claim and flagged to the officer, who checks it against the
call-up letter. A batch with no entry here blocks applications instead of being guessed.

Administrators keep the table in the Django admin (every change audited); the migration
``members.0009_service_batches`` ships 2023–2027, marking which dates NYSC had announced and
which are our estimate (12 months after orientation, the Thursday on or before).
"""

from dataclasses import dataclass
from datetime import date

from django.db import models
from django.db.models import F, Q

from members.validators import StateCode, parse_state_code

# The calendar shipped with the product (see the module docstring for where the dates come
# from): (year, batch, stream, orientation start, passing-out).
SHIPPED_CALENDAR = [
    (2023, "A", 1, "2023-03-15", "2024-03-14"),
    (2023, "A", 2, "2023-04-26", "2024-04-25"),
    (2023, "B", 1, "2023-06-28", "2024-06-27"),
    (2023, "B", 2, "2023-08-30", "2024-08-29"),
    (2023, "C", 1, "2023-10-25", "2024-10-24"),
    (2023, "C", 2, "2023-12-13", "2024-12-12"),
    (2024, "A", 1, "2024-03-13", "2025-03-13"),
    (2024, "A", 2, "2024-04-17", "2025-04-17"),
    (2024, "B", 1, "2024-06-26", "2025-06-26"),
    (2024, "B", 2, "2024-08-28", "2025-08-28"),
    (2024, "C", 1, "2024-10-23", "2025-10-23"),
    (2024, "C", 2, "2024-12-11", "2025-12-11"),
    (2025, "A", 1, "2025-03-12", "2026-03-12"),
    (2025, "A", 2, "2025-04-23", "2026-04-23"),
    (2025, "B", 1, "2025-06-25", "2026-06-25"),
    (2025, "B", 2, "2025-08-27", "2026-08-27"),
    (2025, "C", 1, "2025-10-22", "2026-10-22"),
    (2025, "C", 2, "2025-12-10", "2026-12-10"),
    (2026, "A", 1, "2026-03-11", "2027-03-11"),
    (2026, "A", 2, "2026-04-22", "2027-04-22"),
    (2026, "B", 1, "2026-06-24", "2027-06-24"),
    (2026, "B", 2, "2026-08-26", "2027-08-26"),
    (2026, "C", 1, "2026-10-21", "2027-10-21"),
    (2026, "C", 2, "2026-12-09", "2027-12-09"),
    (2027, "A", 1, "2027-03-10", "2028-03-09"),
    (2027, "A", 2, "2027-04-21", "2028-04-20"),
    (2027, "B", 1, "2027-06-23", "2028-06-22"),
    (2027, "B", 2, "2027-08-25", "2028-08-24"),
    (2027, "C", 1, "2027-10-20", "2028-10-19"),
    (2027, "C", 2, "2027-12-08", "2028-12-07"),
]

# A typed service start this far from the batch's orientation start is flagged.
DISAGREE_AFTER_DAYS = 14
BATCH_CHOICES = [("A", "Batch A"), ("B", "Batch B"), ("C", "Batch C")]
STREAM_CHOICES = [(1, "Stream 1"), (2, "Stream 2")]


class ServiceBatch(models.Model):
    year = models.PositiveSmallIntegerField()
    batch = models.CharField(max_length=1, choices=BATCH_CHOICES)
    stream = models.PositiveSmallIntegerField(choices=STREAM_CHOICES)
    orientation_start = models.DateField("orientation camp starts")
    passing_out = models.DateField("passing-out day")
    announced = models.BooleanField(
        "dates announced by NYSC",
        default=False,
        help_text="Leave unticked while the dates are our estimate.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "members"
        ordering = ["-year", "-batch", "-stream"]
        verbose_name = "NYSC batch"
        verbose_name_plural = "NYSC batch calendar"
        constraints = [
            models.UniqueConstraint(
                fields=["year", "batch", "stream"], name="service_batch_unique"
            ),
            models.CheckConstraint(
                condition=Q(passing_out__gt=F("orientation_start")),
                name="service_batch_passes_out_after_start",
            ),
            models.CheckConstraint(
                condition=Q(batch__in=["A", "B", "C"]), name="service_batch_letter_valid"
            ),
            models.CheckConstraint(
                condition=Q(stream__in=[1, 2]), name="service_batch_stream_valid"
            ),
        ]

    def __str__(self):
        return f"{self.year} Batch {self.batch} Stream {self.stream}"


def batch_label(code: StateCode) -> str:
    stream = f" Stream {code.stream}" if code.stream else ""
    return f"{code.full_year} Batch {code.batch}{stream}"


def batch_for(code: StateCode, typed_start: date | None = None) -> ServiceBatch | None:
    """The calendar entry for a state code. A code without its stream (``LA/25B/1234``)
    matches both streams: the one whose orientation is nearest the typed start date, or with
    no date typed the one passing out first (a lender must not assume a later end)."""
    batches = list(
        ServiceBatch.objects.filter(year=code.full_year, batch=code.batch).order_by("passing_out")
    )
    if code.stream:
        batches = [b for b in batches if b.stream == code.stream]
    if not batches:
        return None
    if typed_start is None or len(batches) == 1:
        return batches[0]
    return min(batches, key=lambda b: abs((b.orientation_start - typed_start).days))


@dataclass(frozen=True)
class ServiceDates:
    batch: ServiceBatch | None
    start: date | None
    passing_out: date | None
    claimed_start: date | None  # what the member typed, kept when it disagrees

    @property
    def disagrees(self) -> bool:
        return self.claimed_start is not None


def service_dates(code: StateCode, typed_start: date | None) -> ServiceDates:
    batch = batch_for(code, typed_start)
    if batch is None:
        return ServiceDates(None, None, None, typed_start)
    disagrees = (
        typed_start is not None
        and abs((typed_start - batch.orientation_start).days) > DISAGREE_AFTER_DAYS
    )
    return ServiceDates(
        batch, batch.orientation_start, batch.passing_out, typed_start if disagrees else None
    )


def no_calendar_message(code: StateCode) -> str:
    return (
        f"We do not have the NYSC calendar for {batch_label(code)} yet, so we cannot tell when "
        "your allowance stops. You can apply once we have added it."
    )


def disagreement_message(claimed: date, batch: ServiceBatch, *, for_staff: bool = False) -> str:
    if for_staff:
        return (
            f"The member gave {claimed:%d %b %Y} as the service start, but {batch} started "
            f"orientation on {batch.orientation_start:%d %b %Y}. The batch's dates are used; "
            "check the call-up letter."
        )
    return (
        f"You gave {claimed:%d %b %Y} as your service start, but {batch} started orientation "
        f"on {batch.orientation_start:%d %b %Y}. We use the batch's dates; an officer will "
        "check your call-up letter."
    )


def service_notes(member, *, for_staff: bool = False) -> list[str]:
    """What the member and the officer are told about the service dates, in plain words."""
    notes = []
    if member.state_code and member.service_batch_id is None:
        notes.append(no_calendar_message(parse_state_code(member.state_code)))
    if member.claimed_service_start and member.service_batch is not None:
        notes.append(
            disagreement_message(
                member.claimed_service_start, member.service_batch, for_staff=for_staff
            )
        )
    return notes


def ensure_shipped_calendar() -> None:
    """Load the shipped calendar into an empty table (the data migration does it once; a
    test database flushed between transactional tests needs it again)."""
    if ServiceBatch.objects.exists():
        return
    ServiceBatch.objects.bulk_create(
        ServiceBatch(
            year=year,
            batch=batch,
            stream=stream,
            orientation_start=date.fromisoformat(start),
            passing_out=date.fromisoformat(end),
        )
        for year, batch, stream, start, end in SHIPPED_CALENDAR
    )
