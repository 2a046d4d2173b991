"""The REST API fuzzed from its own OpenAPI schema: whatever is sent, never a server error.

Runs as three roles — a care manager (object permissions), the front desk (every patient,
no clinical data) and a patient (/me/) — against a small real data set (clinical facts, a
practitioner's week and one booked visit).
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import schemathesis
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from config.wsgi import application
from scheduling.services import appointment_book

from .factories import FACT_FACTORIES, practitioner_with_week

# Loaded at collection (pytest-django has configured Django by then); serving the schema reads no rows.
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)


@pytest.fixture
def tokens(db, care_manager_alice, front_desk_fay, patient_paul, paul, petra, provider_paula):
    from rest_framework.authtoken.models import Token

    for factory in FACT_FACTORIES.values():
        factory(patient=paul)
    # Scheduling: Paula's week and a video visit of Paul's next week, so slots and appointments have data.
    practitioner = practitioner_with_week(user=provider_paula)
    monday = timezone.localdate() + dt.timedelta(days=7 + (7 - timezone.localdate().weekday()) % 7)
    appointment_book(
        actor=front_desk_fay,
        patient=paul,
        practitioner=practitioner,
        service=practitioner.services.get(),
        start=dt.datetime.combine(monday, dt.time(9), tzinfo=ZoneInfo("Europe/Paris")),
        virtual=True,
        channel="admin",
    )
    return {u.email: Token.objects.get_or_create(user=u)[0].key for u in (care_manager_alice, front_desk_fay, patient_paul)}


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.django_db
def test_no_server_errors(case, tokens):
    for token in tokens.values():
        case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=[not_a_server_error])
