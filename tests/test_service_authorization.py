"""Every service checks its actor itself: one table of service × actor, written out by hand.

Given the standard cast (tests/conftest.py: Alice is Paul's care manager, Bob is Petra's, Paula is
Paul's provider and practitioner, Fay the front desk, Olga outreach, Evan an event planner, Ada an
administrator), a system actor (background work) and no actor at all, each service is called with
arguments valid for that actor, always about patient Paul. Exactly the actors named in ALLOWED
pass; every other person or system actor is refused with PermissionDenied; None is a TypeError
(a forgotten actor is a bug in the caller, see core/actors.py).

The table is explicit on purpose: it is not computed from the permission functions it tests.
"""

import datetime as dt
import importlib
import inspect
import itertools
import pkgutil

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.roles import Role
from accounts.services import user_create
from consent import services as consent_services
from consent.models import Purpose
from core.actors import SystemActor
from notifications import services as notification_services
from notifications.models import Notification
from patients import services as patient_services
from patients.models import CareTeamMember, PatientIdentifier
from privacy.models import ErasureMention, PrivacyRequest, RetentionRule
from privacy.services import erasure as privacy_erasure
from privacy.services import export as privacy_export
from privacy.services import mentions as privacy_mentions
from privacy.services import requests as privacy_requests
from privacy.services import retention as privacy_retention
from scheduling import services as scheduling_services
from tests.consent.conftest import virtual_visit_v1  # noqa: F401 - a fixture, re-exported
from tests.scheduling.conftest import at, clinic, monday, practitioner_paula, service  # noqa: F401 - fixtures

from .conftest import SETUP
from .factories import PatientFactory

pytestmark = pytest.mark.django_db

ADA, ALICE, BOB, PAULA = "admin_ada", "care_manager_alice", "care_manager_bob", "provider_paula"
FAY, OLGA, EVAN = "front_desk_fay", "outreach_olga", "event_planner_evan"
PAUL, PETRA = "patient_paul", "patient_petra"
SYSTEM, NONE = "system", "none"
PEOPLE = [ADA, ALICE, BOB, PAULA, FAY, OLGA, EVAN, PAUL, PETRA]
ACTORS = [*PEOPLE, SYSTEM, NONE]

# service -> who may run it (about patient Paul). A service may appear under several cases
# ("name[case]") when its rule depends on its arguments.
ALLOWED: dict[str, set[str]] = {
    # accounts
    "accounts.services.user_create": {ADA, SYSTEM},
    # patients
    "patients.services.patient_create": {ADA, FAY},
    "patients.services.patient_update": {ADA, ALICE, FAY, PAUL},
    "patients.services.patient_identifier_add": {ADA, ALICE, FAY},
    "patients.services.patient_link_user": {ADA},
    "patients.services.care_team_member_add": {ADA, ALICE},
    "patients.services.care_team_member_end": {ADA, ALICE},
    # Clinicians by role: a practitioner writes the note of a visit with a patient whose care team
    # they are not on; the pages offering the note form show only patients one may open.
    "patients.services.clinical_note_create": {ADA, ALICE, BOB, PAULA},
    "patients.services.clinical_note_review": {ADA, ALICE},
    "patients.services.clinical_note_mentions_redact": {ADA},
    # A read already authorized by its selector is logged whoever made it.
    "patients.services.access_log_record": {*PEOPLE, SYSTEM},
    "patients.services.access_log_record_many": {*PEOPLE, SYSTEM},
    "patients.services.patient_detail_row_save": {ADA, ALICE, FAY},
    "patients.services.patient_detail_row_delete": {ADA, ALICE, FAY},
    # consent
    "consent.services.consent_template_version_create": {ADA},
    "consent.services.consent_sign": {ADA, ALICE, PAULA, FAY, PAUL},
    "consent.services.consent_withdraw": {ADA, ALICE, PAULA, FAY, PAUL},
    "consent.services.consents_expire_due": {SYSTEM},
    "consent.services.consent_files_sweep": {SYSTEM},
    # scheduling
    "scheduling.services.booking.appointment_book": {ADA, ALICE, FAY, PAUL},
    "scheduling.services.booking.appointment_reschedule": {ADA, ALICE, FAY, PAUL},
    "scheduling.services.booking.appointment_cancel": {ADA, ALICE, FAY, PAUL},
    "scheduling.services.intake.appointment_intake_submit": {ADA, ALICE, FAY, PAUL},
    "scheduling.services.visits.appointment_status_set[arrived]": {ADA, PAULA, FAY},
    "scheduling.services.visits.appointment_status_set[fulfilled]": {ADA, PAULA},
    "scheduling.services.visits.appointment_start": {ADA, PAULA},
    "scheduling.services.visits.appointment_note_write": {ADA, PAULA},
    "scheduling.services.reminders.reminders_send_due": {SYSTEM},
    # privacy: a request for oneself, or by staff who may open the patient, or imported by the system
    "privacy.services.requests.privacy_request_create": {ADA, ALICE, PAULA, FAY, PAUL, SYSTEM},
    "privacy.services.requests.privacy_export_request": {ADA, ALICE, PAULA, FAY, PAUL, SYSTEM},
    "privacy.services.requests.privacy_erasure_request": {ADA, ALICE, PAULA, FAY, PAUL, SYSTEM},
    "privacy.services.requests.privacy_request_decide": {ADA},
    "privacy.services.requests.privacy_request_retry": {ADA},
    "privacy.services.export.privacy_export_build": {SYSTEM},
    "privacy.services.erasure.privacy_erase": {ADA},
    "privacy.services.erasure.privacy_erase_run": {SYSTEM},
    "privacy.services.mentions.erasure_mentions_record": {ADA},
    "privacy.services.mentions.erasure_mention_decide": {ADA},
    "privacy.services.retention.retention_rule_update": {ADA},
    "privacy.services.retention.retention_apply": {ADA, SYSTEM},
    # notifications
    "notifications.services.outbox_deliver": {SYSTEM},
    "notifications.services.outbox_deliver_batch": {SYSTEM},
    "notifications.services.outbox_history_settle": {SYSTEM},
    "notifications.services.notification_mark_read[Alice's notification]": {ALICE},
}

# Public functions of the services modules that take no actor: each is a part of its caller's write
# (the caller checked its actor) or a pure helper, never an entry point.
NO_ACTOR = {
    "consent.services.consent_template_version_is_locked": "a read",
    "notifications.services.outbox_event_emit": "written in the caller's transaction",
    "notifications.services.outbox_message_enqueue": "written in the caller's transaction",
    "notifications.services.staff_notify": "written in the caller's transaction",
    "notifications.services.outbox_claim": "the first step of outbox_deliver",
    "notifications.services.outbox_claim_batch": "the first step of outbox_deliver_batch",
    "notifications.services.outbox_nudges_held": "a context for a caller's own writes; publishes nothing",
    "notifications.services.outbox_cancel_for_patient": "part of the erasure (privacy), which checks its actor",
    "scheduling.services.common.appointment_lock": "part of each appointment write",
    "scheduling.services.common.event_emit": "part of each appointment write",
    "scheduling.services.intake.looks_like_card_number": "a pure check",
    "scheduling.services.reminders.reminders_schedule": "part of booking and moving",
    "privacy.services.requests.privacy_open_request_ids": "a read, for the dispatcher",
    "privacy.services.export.export_collect": "a read, part of privacy_export_build",
    "privacy.services.export.export_json": "a pure builder, part of privacy_export_build",
    "privacy.services.export.export_pdf": "a pure builder, part of privacy_export_build",
    "privacy.services.export.export_link_hours": "a setting",
    "privacy.services.export.export_sections": "a read of the registry",
    "privacy.services.export.privacy_export_files_purge": "part of retention_apply, which checks its actor",
    "privacy.services.erasure.erasure_identity": "a read, part of privacy_erase",
    "privacy.services.mentions.erasure_mentions_find": "a read, part of privacy_erase",
    "privacy.services.retention.retention_plan": "a read, part of retention_apply",
}


# --- the calls: valid arguments for each case -------------------------------------------------


class Given:
    """What the calls need, built on demand inside the test's transaction."""

    def __init__(self, request):
        self.request = request
        self.paul = request.getfixturevalue("paul")
        self.counter = itertools.count(1)

    def __getattr__(self, name):
        return self.request.getfixturevalue(name)

    def person(self, key):
        return self.request.getfixturevalue(key)

    def booked(self, start_hour=9):
        """A visit of Paul's with Paula, booked by the front desk."""
        return scheduling_services.appointment_book(
            actor=self.front_desk_fay,
            patient=self.paul,
            practitioner=self.practitioner_paula,
            service=self.service,
            start=at(self.monday, start_hour, 30),
            virtual=True,
            channel="admin",
        )

    def pauls_consent(self):
        self.request.getfixturevalue("virtual_visit_v1")
        return consent_services.consent_sign(
            actor=self.admin_ada,
            patient=self.paul,
            purpose=Purpose.VIRTUAL_VISIT,
            method="in_person",
            witness=self.admin_ada,
            signer_name="Paul Lefèvre",
        )


def _is_patient(key):
    return key in (PAUL, PETRA)


def _sign(g, actor, key):
    g.request.getfixturevalue("virtual_visit_v1")
    method, witness = ("portal", None) if _is_patient(key) else ("in_person", actor)
    return consent_services.consent_sign(
        actor=actor,
        patient=g.paul,
        purpose=Purpose.VIRTUAL_VISIT,
        method=method,
        witness=witness,
        signer_name="Paul Lefèvre",
    )


def _book(g, actor, key):
    return scheduling_services.appointment_book(
        actor=actor,
        patient=g.paul,
        practitioner=g.practitioner_paula,
        service=g.service,
        start=at(g.monday, 9, 30),
        virtual=True,
        channel="portal" if _is_patient(key) else "admin",
    )


def _status(status):
    def call(g, actor, key):
        appointment = g.booked()
        return scheduling_services.appointment_status_set(actor=actor, appointment=appointment, status=status)

    return call


def _identifier(g):
    return PatientIdentifier.objects.create(patient=g.paul, system="urn:test", value=f"ID-{next(g.counter)}")


def _note(g):
    return patient_services.clinical_note_create(actor=g.provider_paula, patient=g.paul, text="Seen today.")


def _privacy_channel(key):
    return "portal" if _is_patient(key) else "admin"


def _pauls_export_request(g):
    return privacy_requests.privacy_export_request(actor=g.patient_paul, patient=g.paul, channel="portal")


def _pauls_erasure_request(g):
    return privacy_requests.privacy_erasure_request(actor=g.patient_paul, patient=g.paul, channel="portal")


def _failed_export(g):
    request = _pauls_export_request(g)
    PrivacyRequest.objects.filter(pk=request.pk).update(status="failed", error="OSError")
    return PrivacyRequest.objects.get(pk=request.pk)


def _mention(g):
    """A note of Paul's quoting someone erased, found by an erasure and waiting for review."""
    note = _note(g)
    return ErasureMention.objects.create(
        request=_pauls_erasure_request(g), model="patients.clinicalnote", object_id=note.pk, owner_patient=g.paul, texts=["Seen"]
    )


def _approved_erasure(g):
    return privacy_requests.privacy_request_decide(actor=g.admin_ada, request=_pauls_erasure_request(g), approve=True)


CALLS = {
    "accounts.services.user_create": lambda g, actor, key: user_create(
        actor=actor, email="new.colleague@salus.test", password=None, role=Role.FRONT_DESK
    ),
    "patients.services.patient_create": lambda g, actor, key: patient_services.patient_create(
        actor=actor,
        data={"mrn": "MRN-NEW", "given_name": "Nora", "family_name": "New", "birth_date": dt.date(1990, 1, 2)},
    ),
    "patients.services.patient_update": lambda g, actor, key: patient_services.patient_update(
        actor=actor, patient=g.paul, changes={"city": "Lyon"}
    ),
    "patients.services.patient_identifier_add": lambda g, actor, key: patient_services.patient_identifier_add(
        actor=actor, patient=g.paul, system="urn:test", value="ID-NEW"
    ),
    "patients.services.patient_link_user": lambda g, actor, key: patient_services.patient_link_user(
        actor=actor,
        patient=PatientFactory(),
        user=user_create(actor=SETUP, email="newcomer@example.org", password=None, role=Role.PATIENT),
    ),
    "patients.services.care_team_member_add": lambda g, actor, key: patient_services.care_team_member_add(
        actor=actor, patient=g.paul, user=g.care_manager_bob, role="nurse"
    ),
    "patients.services.care_team_member_end": lambda g, actor, key: patient_services.care_team_member_end(
        actor=actor, member=CareTeamMember.objects.get(patient=g.paul, user=g.provider_paula)
    ),
    "patients.services.clinical_note_create": lambda g, actor, key: patient_services.clinical_note_create(
        actor=actor, patient=g.paul, text="Seen today."
    ),
    "patients.services.clinical_note_review": lambda g, actor, key: patient_services.clinical_note_review(
        actor=actor, note=_note(g)
    ),
    "patients.services.access_log_record": lambda g, actor, key: patient_services.access_log_record(
        actor=actor, patient=g.paul, resource="record", channel="api"
    ),
    "patients.services.access_log_record_many": lambda g, actor, key: patient_services.access_log_record_many(
        actor=actor, patients=[g.paul], resource="record", channel="api"
    ),
    "patients.services.patient_detail_row_save": lambda g, actor, key: patient_services.patient_detail_row_save(
        actor=actor, row=PatientIdentifier(patient=g.paul, system="urn:test", value="ID-ROW")
    ),
    "patients.services.patient_detail_row_delete": lambda g, actor, key: patient_services.patient_detail_row_delete(
        actor=actor, row=_identifier(g)
    ),
    "consent.services.consent_template_version_create": lambda g, actor, key: consent_services.consent_template_version_create(
        actor=actor,
        purpose=Purpose.RESEARCH,
        effective_from=dt.date(2026, 1, 1),
        titles={"en": "Research", "fr": "Recherche", "it": "Ricerca"},
        texts={"en": "I agree.", "fr": "J’accepte.", "it": "Acconsento."},
    ),
    "consent.services.consent_sign": _sign,
    "consent.services.consent_withdraw": lambda g, actor, key: consent_services.consent_withdraw(
        actor=actor, consent=g.pauls_consent(), reason="Changed my mind"
    ),
    "consent.services.consents_expire_due": lambda g, actor, key: consent_services.consents_expire_due(actor=actor),
    "consent.services.consent_files_sweep": lambda g, actor, key: consent_services.consent_files_sweep(actor=actor),
    "scheduling.services.booking.appointment_book": _book,
    "scheduling.services.booking.appointment_reschedule": lambda g, actor, key: scheduling_services.appointment_reschedule(
        actor=actor, appointment=g.booked(), start=at(g.monday, 11, 0)
    ),
    "scheduling.services.booking.appointment_cancel": lambda g, actor, key: scheduling_services.appointment_cancel(
        actor=actor, appointment=g.booked(), reason="Cannot come"
    ),
    "scheduling.services.intake.appointment_intake_submit": lambda g, actor, key: scheduling_services.appointment_intake_submit(
        actor=actor, appointment=g.booked(), contact_phone="+33 6 12 34 56 78", contact_email="paul@example.org"
    ),
    "scheduling.services.visits.appointment_status_set[arrived]": _status("arrived"),
    "scheduling.services.visits.appointment_status_set[fulfilled]": _status("fulfilled"),
    "scheduling.services.visits.appointment_start": lambda g, actor, key: scheduling_services.appointment_start(
        actor=actor, appointment=g.booked()
    ),
    "scheduling.services.visits.appointment_note_write": lambda g, actor, key: scheduling_services.appointment_note_write(
        actor=actor, appointment=g.booked(), text="Seen by video."
    ),
    "scheduling.services.reminders.reminders_send_due": lambda g, actor, key: scheduling_services.reminders_send_due(
        actor=actor, now=timezone.now()
    ),
    "privacy.services.requests.privacy_request_create": lambda g, actor, key: privacy_requests.privacy_request_create(
        actor=actor, patient=g.paul, kind="export", channel=_privacy_channel(key)
    ),
    "privacy.services.requests.privacy_export_request": lambda g, actor, key: privacy_requests.privacy_export_request(
        actor=actor, patient=g.paul, channel=_privacy_channel(key)
    ),
    "privacy.services.requests.privacy_erasure_request": lambda g, actor, key: privacy_requests.privacy_erasure_request(
        actor=actor, patient=g.paul, channel=_privacy_channel(key)
    ),
    "privacy.services.requests.privacy_request_decide": lambda g, actor, key: privacy_requests.privacy_request_decide(
        actor=actor, request=_pauls_erasure_request(g), approve=False, note="The record must be kept."
    ),
    "privacy.services.requests.privacy_request_retry": lambda g, actor, key: privacy_requests.privacy_request_retry(
        actor=actor, request=_failed_export(g)
    ),
    "privacy.services.export.privacy_export_build": lambda g, actor, key: privacy_export.privacy_export_build(
        actor=actor, request_id=_pauls_export_request(g).pk
    ),
    "privacy.services.erasure.privacy_erase": lambda g, actor, key: privacy_erasure.privacy_erase(
        actor=actor, request=_approved_erasure(g)
    ),
    "privacy.services.erasure.privacy_erase_run": lambda g, actor, key: privacy_erasure.privacy_erase_run(
        actor=actor, request_id=_approved_erasure(g).pk
    ),
    "privacy.services.mentions.erasure_mentions_record": lambda g, actor, key: privacy_mentions.erasure_mentions_record(
        actor=actor, request=_pauls_erasure_request(g), found=[]
    ),
    "privacy.services.mentions.erasure_mention_decide": lambda g, actor, key: privacy_mentions.erasure_mention_decide(
        actor=actor, mention=_mention(g), redact=False, reason="The name is the driver's, not the erased patient's data."
    ),
    "patients.services.clinical_note_mentions_redact": lambda g, actor, key: patient_services.clinical_note_mentions_redact(
        actor=actor, note=_note(g), texts=["Seen"]
    ),
    "privacy.services.retention.retention_rule_update": lambda g, actor, key: privacy_retention.retention_rule_update(
        actor=actor,
        rule=RetentionRule.objects.get_or_create(category="access_log", defaults={"keep_days": 400})[0],
        keep_days=500,
        active=True,
    ),
    "privacy.services.retention.retention_apply": lambda g, actor, key: privacy_retention.retention_apply(
        actor=actor, dry_run=True
    ),
    "notifications.services.outbox_deliver": lambda g, actor, key: notification_services.outbox_deliver(
        actor=actor, item_id=notification_services.outbox_event_emit(topic="test.event", payload={}).pk
    ),
    "notifications.services.outbox_deliver_batch": lambda g, actor, key: notification_services.outbox_deliver_batch(actor=actor),
    "notifications.services.outbox_history_settle": lambda g, actor, key: notification_services.outbox_history_settle(
        actor=actor, created_before=timezone.now()
    ),
    "notifications.services.notification_mark_read[Alice's notification]": lambda g, actor, key: (
        notification_services.notification_mark_read(
            actor=actor, notification=Notification.objects.create(user=g.care_manager_alice, title="A note to review")
        )
    ),
}


@pytest.fixture(autouse=True)
def _private_root(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"


def _actor(request, key):
    if key == SYSTEM:
        return SystemActor("authorization table")
    if key == NONE:
        return None
    return request.getfixturevalue(key)


@pytest.mark.parametrize("key", ACTORS)
@pytest.mark.parametrize("service_case", sorted(ALLOWED))
def test_each_service_allows_exactly_its_actors(request, service_case, key):
    # Given Paul's record and everything the call needs, built before the actor acts
    g = Given(request)
    actor = _actor(request, key)
    call = CALLS[service_case]
    # When the actor calls the service, then only the allowed ones get through
    if key == NONE:
        with pytest.raises(TypeError):
            call(g, actor, key)
    elif key in ALLOWED[service_case]:
        call(g, actor, key)
    else:
        with pytest.raises(PermissionDenied):
            call(g, actor, key)


# --- the table covers every service -----------------------------------------------------------


def _services_modules():
    """`<app>.services` of every Salus app, with the submodules of a services package."""
    for config in apps.get_app_configs():
        if "site-packages" in config.path or config.name.startswith("django."):
            continue  # not a Salus app
        try:
            module = importlib.import_module(f"{config.name}.services")
        except ModuleNotFoundError:
            continue
        yield module
        for info in pkgutil.iter_modules(getattr(module, "__path__", [])):
            yield importlib.import_module(f"{module.__name__}.{info.name}")


def _public_functions():
    for module in _services_modules():
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__ and not name.startswith("_"):
                yield f"{module.__name__}.{name}", "actor" in inspect.signature(fn).parameters


def test_every_public_service_taking_an_actor_is_in_the_table():
    in_table = {case.split("[")[0] for case in ALLOWED}
    with_actor = {name for name, takes_actor in _public_functions() if takes_actor}
    assert with_actor - in_table == set(), "add these services to ALLOWED and CALLS"
    assert in_table - with_actor == set(), "these table rows name no service taking an actor"
    assert set(ALLOWED) == set(CALLS)


def test_every_public_function_without_an_actor_is_named_as_such():
    without_actor = {name for name, takes_actor in _public_functions() if not takes_actor}
    assert without_actor == set(NO_ACTOR), "a writer a caller reaches directly must take and check an actor"
