"""The privacy app takes over privacy requests and retention rules from consent: the tables
keep their rows and are renamed to this app's names."""

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
import simple_history.models
from django.conf import settings
from django.db import migrations, models

MOVED = ['privacyrequest', 'retentionrule', 'historicalretentionrule']


def content_types_move(apps, schema_editor):
    """Permissions (and the admin's log) follow their models: their content types change app."""
    ContentType = apps.get_model('contenttypes', 'ContentType')
    ContentType.objects.filter(app_label='consent', model__in=MOVED).update(app_label='privacy')


def content_types_back(apps, schema_editor):
    ContentType = apps.get_model('contenttypes', 'ContentType')
    ContentType.objects.filter(app_label='privacy', model__in=MOVED).update(app_label='consent')



class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('consent', '0003_privacy_models_move_to_privacy_app'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('patients', '0005_access_log_actor_protected'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
        migrations.CreateModel(
            name='HistoricalRetentionRule',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('category', models.CharField(choices=[('access_log', 'Access log entries'), ('outbox_done_messages', 'Outgoing messages delivered, cancelled or failed'), ('outbox_done_events', 'Domain events already handled'), ('notifications_read', 'Staff notifications already read'), ('privacy_exports', 'Data export files, after their link expired'), ('withdrawn_consent_receipts', 'Receipts and scans of withdrawn consents')], db_index=True, max_length=32, verbose_name='category')),
                ('keep_days', models.PositiveIntegerField(validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(36500)], verbose_name='keep for (days)')),
                ('active', models.BooleanField(default=True, verbose_name='applied')),
                ('updated_at', models.DateTimeField(blank=True, editable=False, verbose_name='changed at')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('updated_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='changed by')),
            ],
            options={
                'db_table': 'consent_historicalretentionrule',
                'verbose_name': 'historical retention rule',
                'verbose_name_plural': 'historical retention rules',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='PrivacyRequest',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('export', 'Copy of my data'), ('erasure', 'Erasure')], max_length=16, verbose_name='kind')),
                ('status', models.CharField(choices=[('requested', 'Requested'), ('approved', 'Approved'), ('rejected', 'Rejected'), ('processing', 'Being processed'), ('done', 'Done'), ('failed', 'Failed')], default='requested', max_length=16, verbose_name='status')),
                ('channel', models.CharField(choices=[('portal', 'Portal'), ('admin', "Staff, on the patient's behalf"), ('api', 'REST API')], max_length=16, verbose_name='asked through')),
                ('requested_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='asked at')),
                ('reason', models.TextField(blank=True, max_length=2000, verbose_name='reason')),
                ('decided_at', models.DateTimeField(blank=True, null=True, verbose_name='decided at')),
                ('decision_note', models.TextField(blank=True, max_length=2000, verbose_name='decision note')),
                ('started_at', models.DateTimeField(blank=True, null=True, verbose_name='processing started at')),
                ('completed_at', models.DateTimeField(blank=True, null=True, verbose_name='completed at')),
                ('json_path', models.CharField(blank=True, max_length=300, verbose_name='JSON file (private)')),
                ('pdf_path', models.CharField(blank=True, max_length=300, verbose_name='PDF file (private)')),
                ('ready_at', models.DateTimeField(blank=True, null=True, verbose_name='ready at')),
                ('expires_at', models.DateTimeField(blank=True, null=True, verbose_name='download link expires at')),
                ('download_token', models.CharField(blank=True, editable=False, max_length=64, null=True, unique=True)),
                ('error', models.CharField(blank=True, max_length=500, verbose_name='error')),
                ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='decided by')),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='privacy_requests', to='patients.patient')),
                ('requested_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='asked by')),
            ],
            options={
                'db_table': 'consent_privacyrequest',
                'verbose_name': 'privacy request',
                'verbose_name_plural': 'privacy requests',
                'ordering': ['-requested_at', '-id'],
                'indexes': [models.Index(fields=['patient', '-requested_at'], name='privacy_patient_idx'), models.Index(fields=['kind', 'status'], name='privacy_kind_status_idx')],
                'constraints': [models.UniqueConstraint(condition=models.Q(('status__in', ['requested', 'approved', 'processing'])), fields=('patient', 'kind'), name='privacy_one_open_request_per_kind', violation_error_message='There is already an open request of this kind for this patient.'), models.CheckConstraint(condition=models.Q(('kind__in', ['export', 'erasure'])), name='privacy_request_kind_known'), models.CheckConstraint(condition=models.Q(('status__in', ['requested', 'approved', 'rejected', 'processing', 'done', 'failed'])), name='privacy_request_status_known'), models.CheckConstraint(condition=models.Q(models.Q(('status', 'rejected'), _negated=True), models.Q(('decision_note', ''), _negated=True), _connector='OR'), name='privacy_rejection_has_a_note')],
            },
        ),
        migrations.CreateModel(
            name='RetentionRule',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('category', models.CharField(choices=[('access_log', 'Access log entries'), ('outbox_done_messages', 'Outgoing messages delivered, cancelled or failed'), ('outbox_done_events', 'Domain events already handled'), ('notifications_read', 'Staff notifications already read'), ('privacy_exports', 'Data export files, after their link expired'), ('withdrawn_consent_receipts', 'Receipts and scans of withdrawn consents')], max_length=32, unique=True, verbose_name='category')),
                ('keep_days', models.PositiveIntegerField(validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(36500)], verbose_name='keep for (days)')),
                ('active', models.BooleanField(default=True, verbose_name='applied')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='changed at')),
                ('updated_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='changed by')),
            ],
            options={
                'db_table': 'consent_retentionrule',
                'verbose_name': 'retention rule',
                'verbose_name_plural': 'retention rules',
                'ordering': ['category'],
                'constraints': [models.CheckConstraint(condition=models.Q(('keep_days__gte', 1)), name='retention_keep_at_least_a_day')],
            },
        ),
                ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_move, content_types_back),
        migrations.AlterModelTable(name='historicalretentionrule', table=None),
        migrations.AlterModelTable(name='privacyrequest', table=None),
        migrations.AlterModelTable(name='retentionrule', table=None),
    ]
