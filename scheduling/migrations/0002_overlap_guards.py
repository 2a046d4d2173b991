"""No double booking, guaranteed by the database.

PostgreSQL: two exclusion constraints (btree_gist) over the half-open time range [start, end) of
the appointments that hold their time, one per practitioner and one per patient. Two transactions
booking the same slot at once cannot both commit; the second gets an IntegrityError naming the
constraint.

SQLite has no exclusion constraints; triggers run the same overlap test inside the writing
transaction, and SQLite's single writer (transactions are BEGIN IMMEDIATE, see settings) makes
that test and the insert one serialized step. They raise an IntegrityError with the same names.
"""

from django.db import migrations

HOLDING = "('booked', 'arrived', 'fulfilled')"
GUARDS = {"appointment_no_overlap": "practitioner_id", "appointment_patient_no_overlap": "patient_id"}


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        for name, column in GUARDS.items():
            schema_editor.execute(
                f"ALTER TABLE scheduling_appointment ADD CONSTRAINT {name} EXCLUDE USING gist "
                f"({column} WITH =, tstzrange(start, \"end\", '[)') WITH &&) WHERE (status IN {HOLDING})"
            )
    elif vendor == "sqlite":
        for name, column in GUARDS.items():
            for event, same_row in (("INSERT", ""), ("UPDATE", "AND a.id <> NEW.id")):
                schema_editor.execute(
                    f"CREATE TRIGGER {name}_{event.lower()} BEFORE {event} ON scheduling_appointment "
                    f"WHEN NEW.status IN {HOLDING} AND EXISTS (SELECT 1 FROM scheduling_appointment a "
                    f"WHERE a.{column} = NEW.{column} AND a.status IN {HOLDING} "
                    f'AND a.start < NEW."end" AND a."end" > NEW.start {same_row}) '
                    f"BEGIN SELECT RAISE(ABORT, '{name}: overlapping appointment'); END"
                )


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for name in GUARDS:
        if vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE scheduling_appointment DROP CONSTRAINT IF EXISTS {name}")
        elif vendor == "sqlite":
            for event in ("insert", "update"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}_{event}")


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
