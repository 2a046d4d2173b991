"""An index that both finds a case-insensitive name prefix and returns the matches in result order.

A search orders its matches by `UPPER(family_name) COLLATE "C"`, `UPPER(given_name) COLLATE "C"`, id
(patients.selectors.patients_search). A b-tree over exactly those keys answers
`UPPER(family_name::text) LIKE 'ROBI%'` as a range (PostgreSQL turns a LIKE prefix into a range only
on a "C"-collated or pattern_ops index) in the order asked for, so one page of results reads one
page of index entries. It replaces `patient_family_upper_idx` (0002), whose leading key it repeats.

Built CONCURRENTLY (hence a non-atomic migration) so that registering and editing patients go on
while it builds. SQLite has no "C" collation and searches its smaller data sets without it.
"""

from django.db import migrations

NAME_INDEX = (
    "patient_search_name_idx",
    '(UPPER(family_name::text) COLLATE "C", UPPER(given_name::text) COLLATE "C", id)',
)
REPLACED_INDEX = ("patient_family_upper_idx", "(UPPER(family_name::text) text_pattern_ops)")


def _create(schema_editor, name, expr):
    schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON patients_patient {expr}")


def _drop(schema_editor, name):
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    _create(schema_editor, *NAME_INDEX)
    _drop(schema_editor, REPLACED_INDEX[0])


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    _create(schema_editor, *REPLACED_INDEX)
    _drop(schema_editor, NAME_INDEX[0])


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("patients", "0005_access_log_actor_protected")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
