from django.db import migrations, models


class Migration(migrations.Migration):
    """Takes over ``payments_simulatedproviderrecord`` (created by payments/0001_initial) without
    touching the table: state only."""

    initial = True

    dependencies = [
        ("payments", "0008_move_simulatedproviderrecord_to_simulator"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="SimulatedProviderRecord",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("kind", models.CharField(max_length=12)),
                        ("reference", models.CharField(max_length=80, unique=True)),
                        ("amount", models.BigIntegerField()),
                        ("status", models.CharField(max_length=12)),
                        ("data", models.JSONField(blank=True, default=dict)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        "db_table": "payments_simulatedproviderrecord",
                        "ordering": ["-created_at"],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
