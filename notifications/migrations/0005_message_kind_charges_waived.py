# The message kind of a waiver (notifications.tasks.notify_waiver_task).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0004_partition_messages'),
    ]

    operations = [
        migrations.AlterField(
            model_name='message',
            name='kind',
            field=models.CharField(choices=[('application_received', 'Application received'), ('application_approved', 'Application approved'), ('application_rejected', 'Application not approved'), ('application_info_requested', 'Information requested'), ('loan_disbursed', 'Loan paid out'), ('payment_received', 'Payment received'), ('charges_waived', 'Charges waived'), ('reminder_due_in_3', 'Reminder: due in 3 days'), ('reminder_due_today', 'Reminder: due today'), ('reminder_overdue_1', 'Reminder: 1 day overdue'), ('reminder_overdue_7', 'Reminder: 7 days overdue'), ('reminder_overdue_30', 'Reminder: 30 days overdue')], max_length=32),
        ),
    ]
