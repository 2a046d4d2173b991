from django.db import migrations


def sync_roles(apps, schema_editor):
    from accounts.roles import roles_sync

    roles_sync(apps, using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0002_overlap_guards"), ("accounts", "0002_roles")]
    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
