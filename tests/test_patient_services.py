"""The write path of the patient record: validation, history, events, care-team access."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from core.actors import SystemActor
from notifications.models import Notification, OutboxItem, OutboxKind
from notifications.services import outbox_deliver
from patients import events, services
from patients.models import AccessLog, Patient
from patients.selectors import notes_to_review_for_user, patient_get_for_user, patients_for_user

from .factories import PatientFactory

pytestmark = pytest.mark.django_db


def _data(**over):
    data = {
        "mrn": "MRN-NEW-1",
        "given_name": "Chiara",
        "family_name": "Bassi",
        "birth_date": dt.date(1980, 5, 17),
        "gender": "female",
    }
    return {**data, **over}


def test_patient_create_writes_history_and_an_event(front_desk_fay):
    patient = services.patient_create(actor=front_desk_fay, data=_data())

    history = patient.history.all()
    assert history.count() == 1
    assert history[0].history_type == "+" and history[0].history_user == front_desk_fay
    event = OutboxItem.objects.get(kind=OutboxKind.EVENT, topic=events.PATIENT_CREATED)
    assert event.patient_id == patient.pk and event.payload == {"patient_id": patient.pk}


def test_duplicate_mrn_is_a_field_error_and_changes_nothing(front_desk_fay):
    services.patient_create(actor=front_desk_fay, data=_data())
    with pytest.raises(ValidationError) as err:
        services.patient_create(actor=front_desk_fay, data=_data(given_name="Other"))
    assert "mrn" in err.value.message_dict
    assert Patient.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("birth_date", "not-a-date"),
        ("gender", "martian"),
        ("preferred_language", "de"),
        ("time_zone", "Mars/Olympus_Mons"),
        ("given_name", "x" * 101),
        ("email", "not-an-email"),
    ],
)
def test_bad_values_are_refused_per_field(front_desk_fay, field, value):
    with pytest.raises(ValidationError) as err:
        services.patient_create(actor=front_desk_fay, data=_data(**{field: value}))
    assert field in err.value.message_dict
    assert not Patient.objects.exists()
    assert not OutboxItem.objects.exists()


def test_patient_update_records_who_changed_what_without_values_in_the_event(paul, care_manager_alice):
    services.patient_update(actor=care_manager_alice, patient=paul, changes={"phone": "+33 1 23 45 67 89", "city": "Lyon"})

    paul.refresh_from_db()
    assert paul.city == "Lyon"
    latest = paul.history.latest()
    assert latest.history_type == "~" and latest.history_user == care_manager_alice
    event = OutboxItem.objects.filter(topic=events.PATIENT_UPDATED).get()
    assert event.payload == {"patient_id": paul.pk, "fields": ["city", "phone"]}
    assert "Lyon" not in str(event.payload)


def test_patient_may_change_only_contact_fields_of_their_own_record(paul, patient_paul, petra):
    services.patient_update(actor=patient_paul, patient=paul, changes={"phone": "+33 6 00 00 00 01"})
    with pytest.raises(ValidationError) as err:
        services.patient_update(actor=patient_paul, patient=paul, changes={"birth_date": dt.date(1990, 1, 1)})
    assert "birth_date" in err.value.message_dict
    with pytest.raises(PermissionDenied):
        services.patient_update(actor=patient_paul, patient=petra, changes={"phone": "+39 000"})


def test_outreach_and_event_planner_cannot_change_patients(paul, outreach_olga, event_planner_evan):
    for user in (outreach_olga, event_planner_evan):
        with pytest.raises(PermissionDenied):
            services.patient_update(actor=user, patient=paul, changes={"city": "Nice"})


def test_care_team_membership_grants_and_ending_revokes_access(admin_ada, care_manager_bob, paul):
    assert not patients_for_user(user=care_manager_bob).filter(pk=paul.pk).exists()

    member = services.care_team_member_add(actor=admin_ada, patient=paul, user=care_manager_bob, role="care_manager")
    assert patient_get_for_user(user=care_manager_bob, pk=paul.pk) == paul

    services.care_team_member_end(actor=admin_ada, member=member)
    assert not patients_for_user(user=care_manager_bob).filter(pk=paul.pk).exists()
    member.refresh_from_db()
    assert member.period_end == timezone.localdate()
    assert member.history.count() == 2


def test_grant_is_part_of_the_transaction(admin_ada, care_manager_bob, paul):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.care_team_member_add(actor=admin_ada, patient=paul, user=care_manager_bob, role="care_manager")
        raise RuntimeError("rolled back")
    assert not patients_for_user(user=care_manager_bob).filter(pk=paul.pk).exists()


def test_ending_one_of_two_roles_keeps_access_backed_by_the_other(admin_ada, care_manager_bob, paul):
    as_provider = services.care_team_member_add(actor=admin_ada, patient=paul, user=care_manager_bob, role="provider")
    services.care_team_member_add(actor=admin_ada, patient=paul, user=care_manager_bob, role="care_manager")
    services.care_team_member_end(actor=admin_ada, member=as_provider)
    assert patients_for_user(user=care_manager_bob).filter(pk=paul.pk).exists()
    assert care_manager_bob.has_perm("patients.change_patient", paul)


def test_second_open_membership_in_the_same_role_is_refused(admin_ada, care_manager_alice, paul):
    with pytest.raises(ValidationError):
        services.care_team_member_add(actor=admin_ada, patient=paul, user=care_manager_alice, role="care_manager")


def test_care_team_cannot_be_managed_by_someone_without_the_patient(care_manager_bob, care_manager_alice, paul):
    with pytest.raises(PermissionDenied):
        services.care_team_member_add(actor=care_manager_bob, patient=paul, user=care_manager_bob, role="care_manager")


def test_only_staff_join_care_teams(admin_ada, paul, patient_petra):
    with pytest.raises(ValidationError) as err:
        services.care_team_member_add(actor=admin_ada, patient=paul, user=patient_petra, role="provider")
    assert "user" in err.value.message_dict


def test_future_end_date_is_refused(admin_ada, paul):
    member = paul.care_team.get(role="provider")
    with pytest.raises(ValidationError) as err:
        services.care_team_member_end(actor=admin_ada, member=member, period_end=timezone.localdate() + dt.timedelta(days=3))
    assert "period_end" in err.value.message_dict


def test_new_note_notifies_the_care_manager_in_app_and_by_email_without_clinical_text(
    provider_paula, care_manager_alice, paul, mailoutbox
):
    note = services.clinical_note_create(actor=provider_paula, patient=paul, text="Chest pain resolved, ECG normal.")

    messages = OutboxItem.objects.filter(kind=OutboxKind.MESSAGE, recipient_user=care_manager_alice)
    assert {m.channel for m in messages} == {"in_app", "email"}
    for m in messages:
        assert outbox_deliver(actor=SystemActor("outbox delivery"), item_id=m.pk) == "done"
    notification = Notification.objects.get(user=care_manager_alice)
    assert str(note.pk) in notification.link
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [care_manager_alice.email]
    assert "ECG" not in mailoutbox[0].body and "ECG" not in notification.body
    assert list(notes_to_review_for_user(user=care_manager_alice)) == [note]

    services.clinical_note_review(actor=care_manager_alice, note=note)
    note.refresh_from_db()
    assert note.reviewed_by == care_manager_alice and note.reviewed_at is not None
    assert not notes_to_review_for_user(user=care_manager_alice).exists()


def test_front_desk_cannot_write_notes_and_only_care_managers_review(front_desk_fay, provider_paula, care_manager_bob, paul):
    with pytest.raises(PermissionDenied):
        services.clinical_note_create(actor=front_desk_fay, patient=paul, text="x")
    note = services.clinical_note_create(actor=provider_paula, patient=paul, text="Seen today.")
    with pytest.raises(PermissionDenied):
        services.clinical_note_review(actor=care_manager_bob, note=note)


def test_empty_note_is_refused(provider_paula, paul):
    with pytest.raises(ValidationError) as err:
        services.clinical_note_create(actor=provider_paula, patient=paul, text="   ")
    assert "text" in err.value.message_dict


def test_access_log_keeps_the_path_but_not_the_query_string(rf, care_manager_alice, paul):
    request = rf.get("/api/v1/patients/1/?q=Lefevre", HTTP_USER_AGENT="pytest", REMOTE_ADDR="10.1.2.3")
    services.access_log_record(actor=care_manager_alice, patient=paul, resource="record", channel="api", request=request)
    row = AccessLog.objects.get()
    assert (row.actor, row.patient, row.channel, row.ip_address, row.user_agent) == (
        care_manager_alice,
        paul,
        "api",
        "10.1.2.3",
        "pytest",
    )
    assert row.path == "/api/v1/patients/1/"


def test_search_by_name_mrn_and_birth_date(front_desk_fay):
    a = PatientFactory(given_name="Giulia", family_name="Ferrari", mrn="AB-77", birth_date=dt.date(1966, 2, 3))
    b = PatientFactory(given_name="Jean", family_name="Ferrand", mrn="AB-78", birth_date=dt.date(1970, 1, 1))
    PatientFactory(given_name="Tom", family_name="Smith", mrn="ZZ-1", birth_date=dt.date(1990, 6, 6))
    search = lambda q: set(patients_for_user(user=front_desk_fay, search=q))  # noqa: E731
    assert search("ferr") == {a, b}
    assert search("Ferrari Giulia") == {a}
    assert search("giulia ferrari") == {a}
    assert search("ab-78") == {b}
    assert search("1966-02-03") == {a}
    assert search("03/02/1966") == {a}
    assert search("nobody") == set()
