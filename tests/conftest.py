"""Named users per role (healthchecks-style), factories as fixtures, and API clients.

Given the standard cast:
- care_manager_alice is on patient_paul's care team; care_manager_bob is on patient_petra's.
- provider_paula is on paul's team as provider.
- front_desk_fay, outreach_olga, event_planner_evan and admin_ada have their roles.
- patient_paul and patient_petra have portal accounts.
- Accounts are opened by SETUP (a system actor, as the demo seed does); admin_ada builds the
  care teams and links the portal accounts, since only people may.
"""

import pytest
from django.utils import translation
from rest_framework.test import APIClient

from accounts.roles import Role
from accounts.services import user_create
from core.actors import SystemActor
from notifications.sms import LocmemSmsBackend
from patients.services import care_team_member_add, patient_link_user

from .factories import PatientFactory

SETUP = SystemActor("test fixtures")


def _user(email, role, first):
    from django.contrib.auth.models import Group

    from accounts.roles import roles_sync

    # A transactional test flushes every table, the role groups of the data migration included.
    if not Group.objects.filter(name=role).exists():
        roles_sync()
    return user_create(
        actor=SETUP, email=email, password="pw-for-tests-1", role=role, first_name=first, last_name="Test", email_verified=True
    )


@pytest.fixture
def admin_ada(db):
    return _user("ada@salus.test", Role.ADMINISTRATOR, "Ada")


@pytest.fixture
def care_manager_alice(db):
    return _user("alice@salus.test", Role.CARE_MANAGER, "Alice")


@pytest.fixture
def care_manager_bob(db):
    return _user("bob@salus.test", Role.CARE_MANAGER, "Bob")


@pytest.fixture
def provider_paula(db):
    return _user("paula@salus.test", Role.PROVIDER, "Paula")


@pytest.fixture
def front_desk_fay(db):
    return _user("fay@salus.test", Role.FRONT_DESK, "Fay")


@pytest.fixture
def outreach_olga(db):
    return _user("olga@salus.test", Role.OUTREACH, "Olga")


@pytest.fixture
def event_planner_evan(db):
    return _user("evan@salus.test", Role.EVENT_PLANNER, "Evan")


@pytest.fixture
def paul(db, admin_ada, care_manager_alice, provider_paula):
    """Patient Paul: Alice is his care manager, Paula his provider; he has a portal account."""
    patient = PatientFactory(
        given_name="Paul", family_name="Lefèvre", mrn="MRN-PAUL", email="paul@example.org", preferred_language="fr"
    )
    care_team_member_add(actor=admin_ada, patient=patient, user=care_manager_alice, role="care_manager")
    care_team_member_add(actor=admin_ada, patient=patient, user=provider_paula, role="provider")
    return patient


@pytest.fixture
def petra(db, admin_ada, care_manager_bob):
    """Patient Petra: Bob is her care manager; she has a portal account."""
    patient = PatientFactory(
        given_name="Petra", family_name="Colombo", mrn="MRN-PETRA", email="petra@example.org", preferred_language="it"
    )
    care_team_member_add(actor=admin_ada, patient=patient, user=care_manager_bob, role="care_manager")
    return patient


@pytest.fixture
def patient_paul(paul, admin_ada):
    user = _user("paul@example.org", Role.PATIENT, "Paul")
    patient_link_user(actor=admin_ada, patient=paul, user=user)
    return user


@pytest.fixture
def patient_petra(petra, admin_ada):
    user = _user("petra@example.org", Role.PATIENT, "Petra")
    patient_link_user(actor=admin_ada, patient=petra, user=user)
    return user


@pytest.fixture
def api():
    """An API client; `api.as_user(user)` signs in with a DRF token, as an API client would."""
    from rest_framework.authtoken.models import Token

    client = APIClient()

    def as_user(user):
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    client.as_user = as_user
    return client


@pytest.fixture(autouse=True)
def _language_restored():
    """A request through the test client activates the signed-in person's language on this thread,
    and nothing deactivates it afterwards: every test starts in the site's language again, whichever
    test ran before it."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _sms_outbox():
    LocmemSmsBackend.outbox.clear()
    yield
    LocmemSmsBackend.outbox.clear()
