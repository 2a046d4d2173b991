"""The staff admin: which patients each role sees, what they see of them, and that saves go
through the services (history, access log, care-team grants)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.actors import SystemActor
from patients.models import AccessLog, CareTeamMember, ClinicalNote, Patient, PatientIdentifier

from .factories import FACT_FACTORIES, PatientFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/patients/patient/"


def change_url(patient):
    return f"/admin/patients/patient/{patient.pk}/change/"


def _rows(response):
    return {p.pk for p in response.context["cl"].result_list}


def test_care_manager_changelist_holds_only_her_care_team(client, care_manager_alice, paul, petra):
    client.force_login(care_manager_alice)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert _rows(response) == {paul.pk}


def test_front_desk_changelist_holds_every_patient(client, front_desk_fay, paul, petra):
    client.force_login(front_desk_fay)
    assert _rows(client.get(CHANGELIST)) == {paul.pk, petra.pk}


@pytest.mark.parametrize("who", ["outreach_olga", "event_planner_evan"])
def test_outreach_and_event_planner_cannot_open_patients(client, request, who, paul):
    client.force_login(request.getfixturevalue(who))
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(change_url(paul)).status_code == 404


def test_patient_users_are_not_staff(client, patient_paul, paul):
    client.force_login(patient_paul)
    response = client.get(change_url(paul))
    # the page that says this is not a staff account (and offers to sign out), no record shown
    assert response.status_code == 403 and "MRN-PAUL" not in response.content.decode()


@pytest.mark.parametrize("view", ["change", "history"])
def test_other_care_manager_gets_404_not_a_redirect(client, care_manager_bob, paul, view):
    client.force_login(care_manager_bob)
    assert client.get(f"/admin/patients/patient/{paul.pk}/{view}/").status_code == 404
    assert client.get("/admin/patients/patient/not-a-number/change/").status_code == 404
    assert not AccessLog.objects.exists()


def test_search_uses_the_selector_and_stays_within_the_care_team(client, care_manager_alice, paul, petra):
    client.force_login(care_manager_alice)
    assert _rows(client.get(CHANGELIST, {"q": "Colombo"})) == set()
    assert _rows(client.get(CHANGELIST, {"q": "lefèvre"})) == {paul.pk}
    assert _rows(client.get(CHANGELIST, {"q": "MRN-PAUL"})) == {paul.pk}


def test_change_view_is_access_logged(client, care_manager_alice, paul):
    client.force_login(care_manager_alice)
    assert client.get(change_url(paul), HTTP_USER_AGENT="Firefox").status_code == 200
    log = AccessLog.objects.get()
    assert (log.actor, log.patient, log.channel, log.resource, log.user_agent) == (
        care_manager_alice,
        paul,
        "admin",
        "record",
        "Firefox",
    )


def test_front_desk_sees_no_clinical_inlines(client, front_desk_fay, care_manager_alice, paul):
    FACT_FACTORIES["conditions"](patient=paul, display="Diabetes mellitus type 2")
    client.force_login(front_desk_fay)
    page = client.get(change_url(paul)).content.decode()
    assert "Diabetes mellitus type 2" not in page
    client.force_login(care_manager_alice)
    assert "Diabetes mellitus type 2" in client.get(change_url(paul)).content.decode()


@pytest.mark.parametrize("n", [3, 30])
def test_changelist_query_budget_is_constant(client, front_desk_fay, django_assert_max_num_queries, n):
    PatientFactory.create_batch(n)
    client.force_login(front_desk_fay)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(CHANGELIST).status_code == 200
    # session, user, global perms (user + groups), roles, the list filters' counts are off,
    # page of rows, total count: the same set of queries whatever the number of rows.
    with django_assert_max_num_queries(len(ctx.captured_queries)):
        client.get(CHANGELIST)
    assert len(ctx.captured_queries) <= 12, [q["sql"] for q in ctx.captured_queries]


def test_changelist_queries_do_not_grow_with_rows(client, care_manager_alice, admin_ada):
    from patients.services import care_team_member_add

    client.force_login(care_manager_alice)
    client.get(CHANGELIST)  # warm the per-process caches (content types) before counting
    counts = []
    for batch in (2, 25):
        for patient in PatientFactory.create_batch(batch):
            care_team_member_add(actor=admin_ada, patient=patient, user=care_manager_alice, role="care_manager")
        with CaptureQueriesContext(connection) as ctx:
            client.get(CHANGELIST)
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_change_view_queries_do_not_grow_with_clinical_facts(client, care_manager_alice, paul):
    client.force_login(care_manager_alice)
    client.get(change_url(paul))  # the first read also starts the access log's hash chain
    counts = []
    for _ in range(2):
        for factory in FACT_FACTORIES.values():
            factory.create_batch(3, patient=paul)
        with CaptureQueriesContext(connection) as ctx:
            client.get(change_url(paul))
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def _form_data(patient, **changes):
    data = {
        "mrn": patient.mrn,
        "given_name": patient.given_name,
        "family_name": patient.family_name,
        "birth_date": patient.birth_date.isoformat(),
        "gender": patient.gender,
        "email": patient.email,
        "phone": patient.phone,
        "address_line": "",
        "postal_code": "",
        "city": "",
        "country": "",
        "preferred_language": patient.preferred_language,
        "preferred_channel": patient.preferred_channel,
        "time_zone": patient.time_zone,
        "active": "on",
        "deceased_at": "",
    }
    facts = (
        "encounters",
        "conditions",
        "observations",
        "medicationrequests",
        "allergyintolerances",
        "procedures",
        "immunizations",
    )
    for prefix, count in (
        ("identifiers", 0),
        ("contacts", 0),
        ("care_team", patient.care_team.count()),
        ("notes", 0),
        *((k, 0) for k in facts),
    ):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": count,
                f"{prefix}-INITIAL_FORMS": count,
                f"{prefix}-MIN_NUM_FORMS": 0,
                f"{prefix}-MAX_NUM_FORMS": 1000,
            }
        )
    for i, m in enumerate(patient.care_team.order_by("pk")):
        data.update(
            {
                f"care_team-{i}-id": m.pk,
                f"care_team-{i}-patient": patient.pk,
                f"care_team-{i}-user": m.user_id,
                f"care_team-{i}-role": m.role,
                f"care_team-{i}-period_start": m.period_start.isoformat(),
                f"care_team-{i}-period_end": "",
            }
        )
    data.update(changes)
    return data


def test_front_desk_save_goes_through_the_service(client, front_desk_fay, paul):
    client.force_login(front_desk_fay)
    response = client.post(
        change_url(paul),
        _form_data(
            paul,
            city="Grenoble",
            **{
                "identifiers-TOTAL_FORMS": 1,
                "identifiers-0-system": "urn:oid:1.2.250.1.213.1.4.8",
                "identifiers-0-value": "1 58 03 75 123 456 78",
                "identifiers-0-use": "official",
            },
        ),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    paul.refresh_from_db()
    assert paul.city == "Grenoble"
    assert paul.history.latest().history_user == front_desk_fay
    identifier = PatientIdentifier.objects.get(patient=paul)
    assert identifier.history.get().history_user == front_desk_fay


def test_admin_bad_input_is_a_form_error_and_changes_nothing(client, front_desk_fay, paul):
    client.force_login(front_desk_fay)
    response = client.post(change_url(paul), _form_data(paul, birth_date="31/31/1999", time_zone="Mars/Base"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "birth_date" in errors and "time_zone" in errors
    assert Patient.objects.get(pk=paul.pk).time_zone == paul.time_zone


def test_care_manager_adds_and_ends_care_team_members_in_the_admin(client, care_manager_alice, care_manager_bob, paul):
    client.force_login(care_manager_alice)
    count = paul.care_team.count()
    data = _form_data(
        paul,
        **{
            "care_team-TOTAL_FORMS": count + 1,
            f"care_team-{count}-user": care_manager_bob.pk,
            f"care_team-{count}-role": "nurse",
            f"care_team-{count}-period_start": "2026-01-05",
            f"care_team-{count}-period_end": "",
        },
    )
    response = client.post(change_url(paul), data)
    assert response.status_code == 302, response.context and [
        f.errors for f in response.context["inline_admin_formsets"][2].formset
    ]
    assert care_manager_bob.has_perm("patients.view_patient", paul)

    member = CareTeamMember.objects.get(user=care_manager_bob, patient=paul)
    idx = list(paul.care_team.order_by("pk").values_list("pk", flat=True)).index(member.pk)
    data = _form_data(paul, **{f"care_team-{idx}-period_end": "2026-02-01"})
    assert client.post(change_url(paul), data).status_code == 302
    from accounts.models import User  # a fresh instance: permissions are cached per user object

    assert not User.objects.get(pk=care_manager_bob.pk).has_perm("patients.view_patient", paul)


def _note_form_data(patient, text):
    data = _form_data(patient)
    data.update({"notes-TOTAL_FORMS": 1, "notes-0-text": text})
    return data


def test_care_manager_writes_a_note_from_the_patient_page(client, care_manager_alice, paul):
    client.force_login(care_manager_alice)
    response = client.post(change_url(paul), _note_form_data(paul, "Reviewed labs with the patient."))
    assert response.status_code == 302
    note = ClinicalNote.objects.get(patient=paul)
    assert (note.author, note.text) == (care_manager_alice, "Reviewed labs with the patient.")


def test_provider_sees_the_record_read_only(client, provider_paula, paul):
    client.force_login(provider_paula)
    assert client.get(change_url(paul)).status_code == 200
    assert client.post(change_url(paul), _note_form_data(paul, "x")).status_code == 403
    assert not ClinicalNote.objects.exists()


def test_access_log_admin_is_for_administrators_only(client, admin_ada, care_manager_alice, paul):
    client.force_login(care_manager_alice)
    client.get(change_url(paul))
    assert client.get("/admin/patients/accesslog/").status_code == 403
    client.force_login(admin_ada)
    response = client.get("/admin/patients/accesslog/")
    assert response.status_code == 200 and "Alice Test (care manager)" in response.content.decode()
    assert client.get("/admin/patients/accesslog/add/").status_code == 403


def test_access_log_admin_names_people_and_resources_in_words(client, admin_ada, care_manager_alice, paul, patient_paul):
    from patients.services import access_log_record

    access_log_record(actor=patient_paul, patient=paul, resource="medication-requests", channel="api")
    access_log_record(actor=care_manager_alice, patient=paul, resource="record", channel="admin")
    client.force_login(admin_ada)
    page = client.get("/admin/patients/accesslog/").content.decode()
    assert "Paul Lefèvre (patient)" in page and "Alice Test (care manager)" in page
    assert "LEFÈVRE, Paul (MRN-PAUL)" in page and "Medications" in page
    assert "user #" not in page
    log = AccessLog.objects.get(resource="medication-requests")
    page = client.get(f"/admin/patients/accesslog/{log.pk}/change/").content.decode()
    assert "Paul Lefèvre (patient)" in page and "Medications" in page and "LEFÈVRE, Paul (MRN-PAUL)" in page
    assert f"of patient {paul.pk}" not in page and "medication-requests of" not in page


@pytest.mark.parametrize("n", [1, 12])
def test_access_log_admin_names_readers_in_queries_that_do_not_grow(client, admin_ada, paul, n, django_assert_num_queries):
    from patients.services import access_log_record
    from tests.factories import UserFactory

    for _ in range(n):
        access_log_record(actor=UserFactory(is_staff=True), patient=paul, resource="record", channel="admin")
    client.force_login(admin_ada)
    # 1 session, 2 user, 3 the patient record of the signed-in user (admin context), 4 count, 5 page,
    # the readers: 6 users, 7 their groups, 8 their patient records; 9 the signed-in user's groups
    # (role check), 10-11 the date hierarchy (range, days)
    with django_assert_num_queries(11):
        assert client.get("/admin/patients/accesslog/").status_code == 200


def test_notes_admin_lists_only_notes_of_visible_patients(
    client, care_manager_alice, provider_paula, paul, petra, care_manager_bob
):
    from patients.services import clinical_note_create

    mine = clinical_note_create(actor=provider_paula, patient=paul, text="a")
    theirs = clinical_note_create(actor=care_manager_bob, patient=petra, text="b")
    client.force_login(care_manager_alice)
    response = client.get("/admin/patients/clinicalnote/")
    assert {n.pk for n in response.context["cl"].result_list} == {mine.pk}
    assert client.get(f"/admin/patients/clinicalnote/{theirs.pk}/change/").status_code == 404
    response = client.post("/admin/patients/clinicalnote/", {"action": "mark_reviewed", "_selected_action": [mine.pk]})
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.reviewed_by == care_manager_alice


def test_admin_front_page_shows_unread_notifications(client, care_manager_alice, provider_paula, paul):
    from notifications.models import OutboxItem
    from notifications.services import outbox_deliver
    from patients.services import clinical_note_create

    clinical_note_create(actor=provider_paula, patient=paul, text="Seen.")
    for item in OutboxItem.objects.filter(channel="in_app"):
        outbox_deliver(actor=SystemActor("outbox delivery"), item_id=item.pk)
    client.force_login(care_manager_alice)
    assert "1 unread notification" in client.get("/admin/").content.decode()
    notification = care_manager_alice.notifications.get()
    page = client.get(f"/admin/notifications/notification/{notification.pk}/change/")
    assert page.status_code == 200
    # the notification opens the note it is about
    assert f'href="/admin/patients/clinicalnote/{paul.notes.get().pk}/change/"' in page.content.decode()
    assert "0 unread notifications" in client.get("/admin/").content.decode()


def test_notification_links_off_site_are_not_clickable(client, care_manager_alice):
    from notifications.models import Notification

    n = Notification.objects.create(user=care_manager_alice, title="x", link="https://evil.example/x")
    client.force_login(care_manager_alice)
    page = client.get(f"/admin/notifications/notification/{n.pk}/change/").content.decode()
    assert "https://evil.example/x" in page and 'href="https://evil.example/x"' not in page


def test_notifications_of_others_are_404(client, care_manager_alice, care_manager_bob):
    from notifications.models import Notification

    theirs = Notification.objects.create(user=care_manager_bob, title="x")
    client.force_login(care_manager_alice)
    assert client.get(f"/admin/notifications/notification/{theirs.pk}/change/").status_code == 404
