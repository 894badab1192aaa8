# Waivers of late fees, fees or interest (servicing.Waiver).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('ledger', '0003_waiver_account'),
        ('loans', '0010_loan_restructured_at'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Waiver',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('component', models.CharField(choices=[('late_fee', 'Late fees'), ('fee', 'Fees'), ('interest', 'Interest')], max_length=10)),
                ('amount', models.BigIntegerField(help_text='Kobo forgiven; always positive.')),
                ('reason', models.TextField()),
                ('status', models.CharField(choices=[('pending_approval', 'Waiting for a second person'), ('applied', 'Applied'), ('rejected', 'Refused')], default='pending_approval', max_length=16)),
                ('second_approval_required', models.BooleanField(default=False)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('decided_at', models.DateTimeField(blank=True, null=True)),
                ('decision_note', models.TextField(blank=True)),
                ('breakdown', models.JSONField(blank=True, default=list)),
                ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('journal_entry', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='waiver', to='ledger.journalentry')),
                ('loan', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='waivers', to='loans.loan')),
                ('requested_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'permissions': [('waive_charges', 'Can waive late fees, fees or interest on a loan')],
                'indexes': [models.Index(fields=['loan', '-created_at'], name='waiver_loan')],
                'constraints': [models.CheckConstraint(condition=models.Q(('amount__gt', 0)), name='waiver_amount_positive'), models.CheckConstraint(condition=models.Q(('component__in', ['late_fee', 'fee', 'interest'])), name='waiver_component_known'), models.CheckConstraint(condition=models.Q(('status__in', ['pending_approval', 'applied', 'rejected'])), name='waiver_status_known'), models.CheckConstraint(condition=models.Q(models.Q(('decided_at__isnull', True), ('decided_by__isnull', True), ('journal_entry__isnull', True), ('status', 'pending_approval')), models.Q(('decided_at__isnull', False), ('decided_by__isnull', False), ('journal_entry__isnull', False), ('status', 'applied')), models.Q(('decided_at__isnull', False), ('decided_by__isnull', False), ('journal_entry__isnull', True), ('status', 'rejected')), _connector='OR'), name='waiver_decision_matches_status'), models.CheckConstraint(condition=models.Q(('second_approval_required', False), models.Q(('decided_by', models.F('requested_by')), _negated=True), _connector='OR'), name='waiver_second_person_differs')],
            },
        ),
    ]
