"""Scheduling fixtures: Paula (Paul's provider) and Piet (nobody's) see patients Monday to Friday
in Europe/Paris; `monday` is a Monday at least a week ahead, so every slot of that week is bookable."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from accounts.roles import Role
from scheduling.services import appointment_book
from tests.conftest import _user
from tests.consent.conftest import virtual_visit_v1  # noqa: F401 - a fixture, re-exported
from tests.factories import LocationFactory, ServiceFactory, practitioner_with_week

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def service(db):
    return ServiceFactory()


@pytest.fixture
def clinic(db):
    return LocationFactory()


@pytest.fixture
def practitioner_paula(provider_paula, service, clinic):
    return practitioner_with_week(user=provider_paula, service=service, location=clinic, display_name="Dr Paula Test")


@pytest.fixture
def provider_piet(db):
    return _user("piet@salus.test", Role.PROVIDER, "Piet")


@pytest.fixture
def practitioner_piet(provider_piet, service, clinic):
    return practitioner_with_week(user=provider_piet, service=service, location=clinic, display_name="Dr Piet Test")


@pytest.fixture
def monday(db) -> dt.date:
    today = timezone.localdate()
    return today + dt.timedelta(days=7 + (7 - today.weekday()) % 7)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """An aware datetime at a Paris wall-clock time."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=PARIS)


def book(actor, patient, practitioner, service, start, virtual=True, *, channel="admin", **kw):
    """A visit booked through the service (by the front desk unless a channel is named)."""
    return appointment_book(
        actor=actor,
        patient=patient,
        practitioner=practitioner,
        service=service,
        start=start,
        virtual=virtual,
        channel=channel,
        **kw,
    )
