"""Indexes for case-insensitive prefix search by name and MRN on PostgreSQL.

Django's `istartswith` compiles to `UPPER(col::text) LIKE UPPER('x%')`; these expression indexes
with text_pattern_ops let PostgreSQL answer it from an index at a million patients. SQLite has
no such operator class and searches its smaller data sets with the plain indexes.
"""

from django.db import migrations

INDEXES = {
    "patient_family_upper_idx": "(UPPER(family_name::text) text_pattern_ops)",
    "patient_given_upper_idx": "(UPPER(given_name::text) text_pattern_ops)",
    "patient_mrn_upper_idx": "(UPPER(mrn::text))",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, expr in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON patients_patient {expr}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
