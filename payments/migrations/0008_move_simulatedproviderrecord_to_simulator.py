from django.db import migrations


class Migration(migrations.Migration):
    """The simulated provider's model moved to the ``simulator`` app (installed only where the
    simulated provider is allowed). State only: the table ``payments_simulatedproviderrecord``
    stays, and ``simulator/0001_initial`` takes it over where the app is installed."""

    dependencies = [
        ("payments", "0007_merge_account_snapshot_and_manual_evidence"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="SimulatedProviderRecord")],
            database_operations=[],
        ),
    ]
