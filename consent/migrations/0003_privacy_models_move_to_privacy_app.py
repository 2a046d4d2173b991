"""Privacy requests and retention rules move to the privacy app: only Django's record of the
models changes here; their tables are renamed by privacy's first migration."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('consent', '0002_privacy_requests_retention_rules'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
        migrations.RemoveField(
            model_name='privacyrequest',
            name='decided_by',
        ),
        migrations.RemoveField(
            model_name='privacyrequest',
            name='patient',
        ),
        migrations.RemoveField(
            model_name='privacyrequest',
            name='requested_by',
        ),
        migrations.RemoveField(
            model_name='retentionrule',
            name='updated_by',
        ),
        migrations.DeleteModel(
            name='HistoricalRetentionRule',
        ),
        migrations.DeleteModel(
            name='PrivacyRequest',
        ),
        migrations.DeleteModel(
            name='RetentionRule',
        ),
                ],
            database_operations=[],
        ),
    ]
