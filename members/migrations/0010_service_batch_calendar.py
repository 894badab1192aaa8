"""The NYSC calendar for 2023–2027, and existing members linked to their batch.

Orientation starts are those NYSC announced where we had them (2023 A2, 2024 A2, B1, B2) and
otherwise the usual week (the Wednesday nearest 12 Mar, 23 Apr, 25 Jun, 27 Aug, 22 Oct and
10 Dec); passing-out is estimated as the Thursday on or before 12 months later. None is marked
announced: administrators confirm each entry in the admin when NYSC publishes it.
"""

import re
from datetime import date

from django.db import migrations

from members.service_year import SHIPPED_CALENDAR

_CODE = re.compile(r"^[A-Z]{2}/(?P<year>\d{2})(?P<batch>[ABC])(?P<stream>[12])?/")


def load(apps, schema_editor):
    ServiceBatch = apps.get_model("members", "ServiceBatch")
    Member = apps.get_model("members", "Member")
    batches = {}
    for year, batch, stream, start, end in SHIPPED_CALENDAR:
        row, _ = ServiceBatch.objects.get_or_create(
            year=year,
            batch=batch,
            stream=stream,
            defaults={
                "orientation_start": date.fromisoformat(start),
                "passing_out": date.fromisoformat(end),
            },
        )
        batches.setdefault((year, batch), []).append(row)
    # Existing members keep their dates (staff may have checked them); they only learn their
    # batch, so the officer sees where a start date disagrees.
    members = Member.objects.filter(state_code__isnull=False, service_batch__isnull=True)
    for member in members.only("pk", "state_code", "service_start").iterator(chunk_size=2000):
        match = _CODE.match(member.state_code or "")
        if match is None:
            continue
        rows = batches.get((2000 + int(match["year"]), match["batch"]), [])
        if match["stream"]:
            rows = [r for r in rows if r.stream == int(match["stream"])]
        if not rows:
            continue
        start = member.service_start
        row = (
            min(rows, key=lambda r: abs((r.orientation_start - start).days))
            if start
            else min(rows, key=lambda r: r.passing_out)
        )
        Member.objects.filter(pk=member.pk).update(service_batch=row)


class Migration(migrations.Migration):
    dependencies = [("members", "0009_service_batches")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
