"""Scheduling REST API: reference data, free slots, appointments and their actions, /me/appointments/.

Given Paula (Paul's provider) and Piet (nobody's) seeing patients Monday to Friday — 09:00-12:00 by
video only, 14:00-17:00 at the clinic (video allowed too) — in Europe/Paris, with 30-minute visits.
"""

import datetime as dt

import pytest
import schemathesis
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from config.wsgi import application
from consent.models import ConsentMethod, Purpose
from consent.services import consent_sign
from notifications.models import OutboxItem
from patients.models import AccessLog
from scheduling.availability import MAX_RANGE_DAYS
from scheduling.models import Appointment, AppointmentReminder
from scheduling.services import appointment_intake_submit
from tests.factories import PatientFactory, ServiceFactory, practitioner_with_week

from .conftest import at, book

pytestmark = pytest.mark.django_db

# Everyone who may not see an appointment of Paul's with Paula.
OTHERS = ["care_manager_bob", "provider_piet", "outreach_olga", "event_planner_evan", "patient_petra"]
# Everyone who may.
SEERS = ["care_manager_alice", "provider_paula", "front_desk_fay", "admin_ada", "patient_paul"]


def _rows(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


def _written():
    """What a booking leaves behind: appointments, their events and messages, their reminders."""
    return (
        Appointment.objects.count(),
        OutboxItem.objects.filter(topic__startswith="appointment").count(),
        AppointmentReminder.objects.count(),
    )


@pytest.fixture
def pauls_visit(paul, practitioner_paula, service, monday, front_desk_fay):
    """Paul's video visit with Paula, Monday 09:00."""
    return book(front_desk_fay, paul, practitioner_paula, service, at(monday, 9))


# --- services, practitioners, locations ------------------------------------------------------


@pytest.mark.parametrize("who", [*SEERS, "outreach_olga", "event_planner_evan", "patient_petra"])
def test_reference_data_is_readable_by_any_signed_in_user(api, request, who, practitioner_paula, service, clinic):
    client = api.as_user(request.getfixturevalue(who))
    [svc] = _rows(client.get("/api/v1/services/"))
    assert (svc["id"], svc["code"], svc["duration_minutes"], svc["virtual_allowed"]) == (service.pk, "consult", 30, True)
    [loc] = _rows(client.get("/api/v1/locations/"))
    assert (loc["id"], loc["name"]) == (clinic.pk, clinic.name)
    [doc] = _rows(client.get("/api/v1/practitioners/"))
    assert doc == {
        "id": practitioner_paula.pk,
        "display_name": "Dr Paula Test",
        "specialty": "General practice",
        "languages": ["en", "fr"],
        "offers_virtual": True,
        "offers_in_person": True,
        "time_zone": "Europe/Paris",
        "bio": "",
        "services": [service.pk],
        "locations": [clinic.pk],
    }


def test_reference_data_needs_a_signed_in_user(api, service):
    for path in ["services", "practitioners", "locations", "slots", "appointments", "me/appointments"]:
        assert api.get(f"/api/v1/{path}/").status_code == 401, path


def test_practitioners_filter_by_service_and_mode(api, front_desk_fay, practitioner_paula, practitioner_piet, service):
    practitioner_piet.offers_virtual = False
    practitioner_piet.save()
    physio = ServiceFactory(code="physio", name_en="Physiotherapy")
    practitioner_piet.services.add(physio)
    client = api.as_user(front_desk_fay)

    def names(query):
        return [p["display_name"] for p in _rows(client.get("/api/v1/practitioners/", query))]

    assert names({}) == ["Dr Paula Test", "Dr Piet Test"]
    assert names({"service": physio.pk}) == ["Dr Piet Test"]
    assert names({"virtual": "true"}) == ["Dr Paula Test"]
    assert names({"virtual": "false", "service": service.pk}) == ["Dr Paula Test", "Dr Piet Test"]
    [piet] = _rows(client.get("/api/v1/practitioners/", {"service": physio.pk}))
    assert sorted(piet["services"]) == sorted([service.pk, physio.pk]) and piet["offers_virtual"] is False


@pytest.mark.parametrize("query", ["virtual=perhaps", "service=abc", "service=99999999", "service=1.5"])
def test_bad_practitioner_filters_are_400_naming_the_filter(api, front_desk_fay, practitioner_paula, query):
    response = api.as_user(front_desk_fay).get(f"/api/v1/practitioners/?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()


def test_practitioner_list_queries_do_not_grow(api, front_desk_fay, service, clinic, django_assert_num_queries):
    from tests.factories import practitioner_with_week

    client = api.as_user(front_desk_fay)
    counts = []
    for _ in range(2):
        for _ in range(3):
            practitioner_with_week(service=service, location=clinic)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/api/v1/practitioners/").status_code == 200
        counts.append(len(ctx.captured_queries))
    # token + user, count, page, services of the page, locations of the page
    assert counts == [5, 5]


# --- free slots --------------------------------------------------------------------------------


def _slots(client, **query):
    return client.get("/api/v1/slots/", {"page_size": 200, **query})


def test_free_slots_of_one_practitioner_on_a_day(api, patient_paul, practitioner_paula, service, clinic, monday):
    response = _slots(
        api.as_user(patient_paul),
        service=service.pk,
        practitioner=practitioner_paula.pk,
        start=at(monday, 0).isoformat(),
        end=at(monday, 23, 59).isoformat(),
    )
    rows = _rows(response)
    assert response.json()["count"] == 12  # 6 by video in the morning, 6 in the afternoon
    first, afternoon = rows[0], rows[6]
    assert dt.datetime.fromisoformat(first["start"]) == at(monday, 9)
    assert dt.datetime.fromisoformat(first["end"]) == at(monday, 9, 30)
    assert (first["practitioner"], first["location"], first["virtual"], first["in_person"]) == (
        practitioner_paula.pk,
        None,
        True,
        False,
    )
    assert dt.datetime.fromisoformat(afternoon["start"]) == at(monday, 14)
    assert (afternoon["location"], afternoon["virtual"], afternoon["in_person"]) == (clinic.pk, True, True)


def test_free_slots_filter_by_mode_and_leave_out_booked_times(
    api, patient_paul, pauls_visit, practitioner_paula, service, monday
):
    client = api.as_user(patient_paul)
    day = {"service": service.pk, "practitioner": practitioner_paula.pk, "start": at(monday, 0), "end": at(monday, 23)}
    day = {k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in day.items()}
    starts = [dt.datetime.fromisoformat(r["start"]) for r in _rows(_slots(client, **day))]
    assert at(monday, 9) not in starts and at(monday, 9, 30) in starts and len(starts) == 11
    in_person = _rows(_slots(client, **day, virtual="false"))
    assert len(in_person) == 6 and all(r["in_person"] for r in in_person)
    assert len(_rows(_slots(client, **day, virtual="true"))) == 11


def test_free_slots_of_every_practitioner_offering_the_service(
    api, patient_paul, practitioner_paula, practitioner_piet, service, monday
):
    rows = _rows(
        _slots(api.as_user(patient_paul), service=service.pk, start=at(monday, 9).isoformat(), end=at(monday, 10).isoformat())
    )
    assert [(dt.datetime.fromisoformat(r["start"]), r["practitioner"]) for r in rows] == sorted(
        (at(monday, h, m), p.pk) for h, m in [(9, 0), (9, 30)] for p in (practitioner_paula, practitioner_piet)
    )


def test_patients_get_the_booking_window_and_bookers_do_not(
    api, patient_paul, front_desk_fay, provider_paula, practitioner_paula, service, monday
):
    service.max_days_ahead = 3  # Monday is at least a week ahead: out of a patient's reach
    service.save()
    query = {"service": service.pk, "start": at(monday, 0).isoformat(), "end": at(monday, 23).isoformat()}
    assert _slots(api.as_user(patient_paul), **query).json()["count"] == 0
    assert _slots(api.as_user(provider_paula), **query).json()["count"] == 0  # she does not book for patients
    assert _slots(api.as_user(front_desk_fay), **query).json()["count"] == 12


def test_an_unencoded_plus_in_the_offset_is_still_read_as_an_offset(api, patient_paul, practitioner_paula, service, monday):
    start, end = at(monday, 9).isoformat(), at(monday, 10).isoformat()
    assert "+" in start
    # A client that forgot to encode "+" sends a space; the offset is still the one meant.
    response = api.as_user(patient_paul).get(f"/api/v1/slots/?service={service.pk}&start={start}&end={end}")
    assert response.status_code == 200 and response.json()["count"] == 2


def _bad_slot_queries(monday, service, practitioner, other_service):
    ok = {
        "service": service.pk,
        "practitioner": practitioner.pk,
        "start": at(monday, 0).isoformat(),
        "end": at(monday, 23).isoformat(),
    }
    return [
        ({**ok, "start": "2031-03-03T09:00:00"}, "start"),  # naive
        ({**ok, "end": "2031-03-03"}, "end"),  # a date, no time or offset
        ({**ok, "start": "yesterday"}, "start"),
        ({**ok, "start": "2031-02-30T09:00:00+01:00"}, "start"),
        ({**ok, "start": "9999-12-31T23:00:00+00:00", "end": "9999-12-31T23:30:00+00:00"}, "start"),
        ({**ok, "end": at(monday, 0).isoformat(), "start": at(monday, 8).isoformat()}, "end"),  # end before start
        ({**ok, "end": (at(monday, 0) + dt.timedelta(days=MAX_RANGE_DAYS, minutes=1)).isoformat()}, "end"),
        ({k: v for k, v in ok.items() if k != "service"}, "service"),
        ({k: v for k, v in ok.items() if k != "start"}, "start"),
        ({**ok, "service": 99999999}, "service"),
        ({**ok, "service": "consult"}, "service"),
        ({**ok, "service": 2**70}, "service"),
        ({**ok, "practitioner": "abc"}, "practitioner"),
        ({**ok, "practitioner": 99999999}, "practitioner"),
        ({**ok, "service": other_service.pk}, "practitioner"),  # Paula does not offer it
        ({**ok, "virtual": "perhaps"}, "virtual"),
    ]


@pytest.mark.parametrize("case", range(16))
def test_bad_slot_queries_are_400_naming_the_field(api, patient_paul, practitioner_paula, service, monday, case):
    other = ServiceFactory(code="physio")
    query, field = _bad_slot_queries(monday, service, practitioner_paula, other)[case]
    response = api.as_user(patient_paul).get("/api/v1/slots/", query)
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()


@pytest.mark.parametrize("with_practitioner", [True, False])
def test_slot_queries_do_not_grow_with_bookings_slots_or_practitioners(
    api, front_desk_fay, practitioner_paula, practitioner_piet, service, clinic, monday, with_practitioner
):
    client = api.as_user(front_desk_fay)
    query = {"service": service.pk, "start": at(monday, 0).isoformat(), "end": at(monday + dt.timedelta(days=4), 23).isoformat()}
    if with_practitioner:
        query["practitioner"] = practitioner_paula.pk
    counts, found = [], []

    def measure():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/api/v1/slots/", query)
        assert response.status_code == 200
        counts.append(len(ctx.captured_queries))
        found.append(response.json()["count"])

    for day in range(2):
        for hour in (9, 10, 11, 14):
            for practitioner in (practitioner_paula, practitioner_piet):
                book(front_desk_fay, PatientFactory(), practitioner, service, at(monday + dt.timedelta(days=day), hour))
        measure()
    # Eight more practitioners offering the service, one with a booking
    more = [practitioner_with_week(service=service, location=clinic) for _ in range(8)]
    book(front_desk_fay, PatientFactory(), more[0], service, at(monday, 9))
    measure()
    # Named practitioner (10): token + user, the service, the practitioner, does it offer the service,
    # the user's permissions (user, groups); then the slot search's four — who offers the service,
    # weekly hours, exceptions of the days, bookings of those days.
    # Every practitioner (9): token + user, the service, permissions (user, groups), the practitioners;
    # then the same four for all of them at once — never more with practitioners, bookings or slots.
    assert counts == ([10, 10, 10] if with_practitioner else [9, 9, 9]), counts
    assert found[0] > found[1] and (found[2] == found[1] if with_practitioner else found[2] > found[1]), found


# --- appointments: booking -------------------------------------------------------------------


def _payload(practitioner, service, start, **extra):
    return {"practitioner": practitioner.pk, "service": service.pk, "start": start.isoformat(), "virtual": True, **extra}


@pytest.mark.parametrize("who", ["front_desk_fay", "care_manager_alice", "admin_ada"])
def test_staff_book_for_a_patient_they_can_see(api, request, who, paul, practitioner_paula, service, monday):
    response = api.as_user(request.getfixturevalue(who)).post(
        "/api/v1/appointments/", _payload(practitioner_paula, service, at(monday, 9), patient=paul.pk, reason="  Cough  ")
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    appt = Appointment.objects.get()
    assert body == {
        "id": appt.pk,
        "patient": paul.pk,
        "patient_label": "LEFÈVRE, Paul (MRN-PAUL)",
        "practitioner": practitioner_paula.pk,
        "service": service.pk,
        "location": None,
        "start": body["start"],
        "end": body["end"],
        "status": "booked",
        "virtual": True,
        "reason": None if who == "front_desk_fay" else "Cough",
        "intake_completed": False,
        "booked_via": "api",
        "sequence": 0,
    }
    assert dt.datetime.fromisoformat(body["start"]) == at(monday, 9)
    assert appt.booked_via == "api" and appt.video_room and appt.reason == "Cough"


def test_in_person_booking_takes_the_slots_location(api, front_desk_fay, paul, practitioner_paula, service, clinic, monday):
    response = api.as_user(front_desk_fay).post(
        "/api/v1/appointments/", _payload(practitioner_paula, service, at(monday, 14), patient=paul.pk, virtual=False)
    )
    assert response.status_code == 201, response.json()
    assert (response.json()["location"], response.json()["virtual"]) == (clinic.pk, False)


def test_a_patient_books_for_themself_and_for_nobody_else(api, patient_paul, paul, petra, practitioner_paula, service, monday):
    client = api.as_user(patient_paul)
    response = client.post("/api/v1/appointments/", _payload(practitioner_paula, service, at(monday, 9), patient=paul.pk))
    assert response.status_code == 201 and response.json()["patient_label"] is None
    refused = client.post("/api/v1/appointments/", _payload(practitioner_paula, service, at(monday, 10), patient=petra.pk))
    assert refused.status_code == 400 and "patient" in refused.json()
    assert list(Appointment.objects.values_list("patient", flat=True)) == [paul.pk]


@pytest.mark.parametrize("who", ["care_manager_alice", "care_manager_bob", "outreach_olga", "event_planner_evan"])
def test_booking_for_a_patient_one_cannot_see_is_a_400_on_patient(
    api, request, who, petra, paul, practitioner_paula, service, monday
):
    # Alice is not on Petra's team; Bob is not on Paul's; outreach and events see no patient at all.
    patient = paul if who == "care_manager_bob" else petra
    response = api.as_user(request.getfixturevalue(who)).post(
        "/api/v1/appointments/", _payload(practitioner_paula, service, at(monday, 9), patient=patient.pk)
    )
    assert response.status_code == 400 and "patient" in response.json()
    assert _written() == (0, 0, 0)


def test_a_provider_who_sees_the_patient_but_does_not_book_gets_403(
    api, provider_paula, paul, practitioner_paula, service, monday
):
    response = api.as_user(provider_paula).post(
        "/api/v1/appointments/", _payload(practitioner_paula, service, at(monday, 9), patient=paul.pk)
    )
    assert response.status_code == 403
    assert _written() == (0, 0, 0)


def test_a_taken_slot_is_a_409_on_start(api, front_desk_fay, pauls_visit, petra, practitioner_paula, service, monday):
    before = _written()
    response = api.as_user(front_desk_fay).post(
        "/api/v1/appointments/", _payload(practitioner_paula, service, at(monday, 9), patient=petra.pk)
    )
    assert response.status_code == 409
    assert list(response.json()) == ["start"] and response.json()["start"][0]
    assert _written() == before


def test_a_patient_cannot_be_booked_twice_at_once(api, front_desk_fay, pauls_visit, paul, practitioner_piet, service, monday):
    before = _written()
    response = api.as_user(front_desk_fay).post(
        "/api/v1/appointments/", _payload(practitioner_piet, service, at(monday, 9), patient=paul.pk)
    )
    assert response.status_code == 409 and "start" in response.json()
    assert _written() == before


def _bad_bookings(paul, practitioner, service, clinic, monday):
    ok = _payload(practitioner, service, at(monday, 9), patient=paul.pk)
    return [
        ({**ok, "start": "2031-03-03T09:00:00"}, "start"),  # naive
        ({**ok, "start": "next monday"}, "start"),
        ({**ok, "start": 1767225600}, "start"),
        ({**ok, "start": at(monday, 9, 10).isoformat()}, "start"),  # not a slot
        ({**ok, "start": at(monday, 13).isoformat()}, "start"),  # nobody's hours
        ({**ok, "start": "9999-12-31T23:59:00+00:00"}, "start"),
        ({**ok, "virtual": "perhaps"}, "virtual"),
        ({k: v for k, v in ok.items() if k != "virtual"}, "virtual"),
        ({**ok, "virtual": False}, "virtual"),  # the morning is for video visits only
        ({**ok, "practitioner": 99999999}, "practitioner"),
        ({**ok, "practitioner": "Dr Paula"}, "practitioner"),
        ({**ok, "practitioner": [practitioner.pk]}, "practitioner"),
        ({**ok, "service": 99999999}, "service"),
        ({**ok, "service": None}, "service"),
        ({**ok, "patient": "paul"}, "patient"),
        ({**ok, "patient": 2**70}, "patient"),
        ({**ok, "patient": 99999999}, "patient"),
        ({k: v for k, v in ok.items() if k != "patient"}, "patient"),
        ({**ok, "location": 99999999}, "location"),
        ({**ok, "start": at(monday, 14).isoformat(), "virtual": False, "location": "clinic"}, "location"),
        ({**ok, "reason": "x" * 501}, "reason"),
        ({**ok, "reason": {"text": "x"}}, "reason"),
    ]


@pytest.mark.parametrize("case", range(22))
def test_bad_bookings_are_400_naming_the_field_and_write_nothing(
    api, front_desk_fay, paul, practitioner_paula, service, clinic, monday, case
):
    payload, field = _bad_bookings(paul, practitioner_paula, service, clinic, monday)[case]
    response = api.as_user(front_desk_fay).post("/api/v1/appointments/", payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert _written() == (0, 0, 0)


def test_a_form_encoded_body_is_refused(api, front_desk_fay, paul, practitioner_paula, service, monday):
    response = api.as_user(front_desk_fay).post(
        "/api/v1/appointments/", _payload(practitioner_paula, service, at(monday, 9), patient=paul.pk), format="multipart"
    )
    assert response.status_code == 415
    assert _written() == (0, 0, 0)


def test_not_json_is_400(api, front_desk_fay):
    response = api.as_user(front_desk_fay).generic("POST", "/api/v1/appointments/", "{not json", content_type="application/json")
    assert response.status_code == 400


# --- appointments: who sees what -------------------------------------------------------------


# The reason for the visit is clinical: the front desk, who sees every visit, does not read it.
REASON_SEERS = {"care_manager_alice", "provider_paula", "admin_ada", "patient_paul"}


@pytest.mark.parametrize("who", SEERS)
def test_those_who_may_see_the_visit_read_it_and_the_read_is_logged(api, request, who, pauls_visit, paul):
    Appointment.objects.filter(pk=pauls_visit.pk).update(reason="Persistent cough for two weeks")
    user = request.getfixturevalue(who)
    client = api.as_user(user)
    response = client.get(f"/api/v1/appointments/{pauls_visit.pk}/", HTTP_USER_AGENT="client/2")
    assert response.status_code == 200 and response.json()["id"] == pauls_visit.pk
    assert response.json()["patient_label"] == (None if who == "patient_paul" else str(paul))
    reason = "Persistent cough for two weeks" if who in REASON_SEERS else None
    assert response.json()["reason"] == reason
    log = AccessLog.objects.get()
    assert (log.actor, log.patient, log.resource, log.channel, log.user_agent) == (user, paul, "appointment", "api", "client/2")
    assert [(r["id"], r["reason"]) for r in _rows(client.get("/api/v1/appointments/"))] == [(pauls_visit.pk, reason)]
    if who == "patient_paul":
        assert [r["reason"] for r in _rows(client.get("/api/v1/me/appointments/"))] == [reason]


@pytest.mark.parametrize("who", OTHERS)
def test_everyone_else_gets_404_on_the_visit_and_changes_nothing(
    api, request, who, pauls_visit, practitioner_piet, monday, virtual_visit_v1
):
    client = api.as_user(request.getfixturevalue(who))
    base = f"/api/v1/appointments/{pauls_visit.pk}"
    assert client.get(f"{base}/").status_code == 404
    assert client.get(f"{base}/video-link/").status_code == 404
    assert client.get(f"{base}/ics/").status_code == 404
    assert client.post(f"{base}/reschedule/", {"start": at(monday, 10).isoformat()}).status_code == 404
    assert client.post(f"{base}/cancel/", {"reason": "no"}).status_code == 404
    assert client.post(f"{base}/intake/", {"contact_phone": "+33 6 11 11 11 11"}).status_code == 404
    assert client.post(f"{base}/status/", {"status": "arrived"}).status_code == 404
    assert pauls_visit.pk not in {r["id"] for r in _rows(client.get("/api/v1/appointments/"))}
    assert _rows(client.get("/api/v1/appointments/", {"patient": pauls_visit.patient_id})) == []
    fresh = Appointment.objects.get()
    assert (fresh.start, fresh.status, fresh.intake_completed_at, fresh.sequence) == (pauls_visit.start, "booked", None, 0)
    assert not AccessLog.objects.exists()


@pytest.mark.parametrize("who", ["outreach_olga", "event_planner_evan"])
def test_outreach_and_event_planning_see_no_appointments(
    api, request, who, pauls_visit, petra, practitioner_paula, service, monday, front_desk_fay
):
    book(front_desk_fay, petra, practitioner_paula, service, at(monday, 10))
    response = api.as_user(request.getfixturevalue(who)).get("/api/v1/appointments/")
    assert response.json()["count"] == 0


def test_a_nonexistent_or_silly_id_is_404(api, front_desk_fay):
    client = api.as_user(front_desk_fay)
    assert client.get("/api/v1/appointments/99999999/").status_code == 404
    assert client.get("/api/v1/appointments/99999999999999999999999/").status_code == 404


def test_list_filters(api, front_desk_fay, pauls_visit, petra, practitioner_piet, service, monday):
    other = book(front_desk_fay, petra, practitioner_piet, service, at(monday + dt.timedelta(days=1), 14), virtual=False)
    client = api.as_user(front_desk_fay)

    def ids(**query):
        return [r["id"] for r in _rows(client.get("/api/v1/appointments/", query))]

    assert ids() == [pauls_visit.pk, other.pk]
    assert ids(patient=petra.pk) == [other.pk]
    assert ids(practitioner=practitioner_piet.pk) == [other.pk]
    assert ids(virtual="true") == [pauls_visit.pk]
    assert ids(status="booked") == [pauls_visit.pk, other.pk] and ids(status="cancelled") == []
    assert ids(since=at(monday, 12).isoformat()) == [other.pk]
    assert ids(until=at(monday, 12).isoformat()) == [pauls_visit.pk]


def test_a_list_filtered_to_one_patient_is_logged_as_a_read_of_them(api, care_manager_alice, pauls_visit, paul):
    api.as_user(care_manager_alice).get("/api/v1/appointments/", {"patient": paul.pk})
    log = AccessLog.objects.get()
    assert (log.actor, log.patient, log.resource) == (care_manager_alice, paul, "appointments")


@pytest.mark.parametrize(
    "query",
    [
        "status=maybe",
        "since=2031-01-01T00:00:00",
        "since=yesterday",
        "until=2031-13-01T00:00:00%2B01:00",
        "patient=abc",
        "patient=1.5",
        "patient=-3",
        "practitioner=99999999999999999999999",
        "virtual=perhaps",
    ],
)
def test_bad_list_filters_are_400_naming_the_filter(api, front_desk_fay, query):
    response = api.as_user(front_desk_fay).get(f"/api/v1/appointments/?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()


def test_the_video_room_is_in_no_payload(api, front_desk_fay, patient_paul, pauls_visit):
    for client, url in [
        (api.as_user(front_desk_fay), "/api/v1/appointments/"),
        (api.as_user(front_desk_fay), f"/api/v1/appointments/{pauls_visit.pk}/"),
        (api.as_user(patient_paul), "/api/v1/me/appointments/"),
    ]:
        response = client.get(url)
        assert pauls_visit.video_room not in response.content.decode()
        assert "video" not in response.content.decode()


# --- query budgets -----------------------------------------------------------------------------


def _grow(n, *, patient, practitioner, service, monday, actor):
    booked = Appointment.objects.count()
    for i in range(n):
        slot = booked + i
        day, hour = divmod(slot, 6)
        book(actor, patient, practitioner, service, at(monday + dt.timedelta(days=day), 9, 0) + dt.timedelta(minutes=30 * hour))


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        # token + user, the user's permissions (user, groups), count, page (patient, practitioner,
        # service and location joined)
        ("front_desk_fay", 5),
        # token + user, permissions (user, groups), role names, is she a practitioner, is she a
        # patient, count, page (her care-team patients as a subquery)
        ("care_manager_alice", 8),
    ],
)
def test_appointment_list_queries_do_not_grow_with_rows(
    api, request, who, expected, paul, practitioner_paula, service, monday, front_desk_fay
):
    client = api.as_user(request.getfixturevalue(who))
    counts = []
    for n in (1, 5):
        _grow(n, patient=paul, practitioner=practitioner_paula, service=service, monday=monday, actor=front_desk_fay)
        with CaptureQueriesContext(connection) as ctx:
            rows = _rows(client.get("/api/v1/appointments/"))
        counts.append((len(ctx.captured_queries), len(rows)))
    assert counts == [(expected, 1), (expected, 6)], counts


def test_my_appointments_queries_do_not_grow_with_rows(
    api, patient_paul, paul, practitioner_paula, service, monday, front_desk_fay
):
    client = api.as_user(patient_paul)
    client.get("/api/v1/me/appointments/")  # the first read also starts the access log's hash chain
    counts = []
    for n in (1, 5):
        _grow(n, patient=paul, practitioner=practitioner_paula, service=service, monday=monday, actor=front_desk_fay)
        with CaptureQueriesContext(connection) as ctx:
            rows = _rows(client.get("/api/v1/me/appointments/"))
        counts.append((len(ctx.captured_queries), len(rows)))
    assert counts[0][0] == counts[1][0], counts
    assert [c[1] for c in counts] == [1, 6]


# --- appointments: actions ---------------------------------------------------------------------


def test_front_desk_moves_a_visit(api, front_desk_fay, pauls_visit, practitioner_piet, monday):
    response = api.as_user(front_desk_fay).post(
        f"/api/v1/appointments/{pauls_visit.pk}/reschedule/",
        {"start": at(monday, 14).isoformat(), "practitioner": practitioner_piet.pk, "virtual": False},
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert dt.datetime.fromisoformat(body["start"]) == at(monday, 14)
    assert (body["practitioner"], body["virtual"], body["sequence"]) == (practitioner_piet.pk, False, 1)
    assert body["location"] is not None


def test_a_patient_moves_their_own_visit_keeping_its_mode(api, patient_paul, pauls_visit, monday):
    response = api.as_user(patient_paul).post(
        f"/api/v1/appointments/{pauls_visit.pk}/reschedule/", {"start": at(monday, 14, 30).isoformat()}
    )
    assert response.status_code == 200, response.json()
    assert response.json()["virtual"] is True


def test_moving_onto_a_taken_time_is_a_409_and_changes_nothing(
    api, front_desk_fay, pauls_visit, petra, practitioner_paula, service, monday
):
    book(front_desk_fay, petra, practitioner_paula, service, at(monday, 10))
    before = _written()
    response = api.as_user(front_desk_fay).post(
        f"/api/v1/appointments/{pauls_visit.pk}/reschedule/", {"start": at(monday, 10).isoformat()}
    )
    assert response.status_code == 409 and "start" in response.json()
    pauls_visit.refresh_from_db()
    assert (pauls_visit.start, pauls_visit.sequence) == (at(monday, 9), 0)
    assert _written() == before


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "start"),
        ({"start": "2031-03-03T10:00:00"}, "start"),
        ({"start": "soon"}, "start"),
        ({"start": "MONDAY+10:00", "virtual": "x"}, "start"),
        ({"start": "{later}", "virtual": "x"}, "virtual"),
        ({"start": "{later}", "practitioner": 99999999}, "practitioner"),
        ({"start": "{later}", "location": "x"}, "location"),
    ],
)
def test_bad_moves_are_400_naming_the_field(api, front_desk_fay, pauls_visit, monday, payload, field):
    payload = {k: at(monday, 10).isoformat() if v == "{later}" else v for k, v in payload.items()}
    response = api.as_user(front_desk_fay).post(f"/api/v1/appointments/{pauls_visit.pk}/reschedule/", payload)
    assert response.status_code == 400 and field in response.json(), response.json()
    pauls_visit.refresh_from_db()
    assert (pauls_visit.start, pauls_visit.sequence) == (at(monday, 9), 0)


def test_a_patient_cancels_with_a_reason(api, patient_paul, pauls_visit):
    client = api.as_user(patient_paul)
    too_long = client.post(f"/api/v1/appointments/{pauls_visit.pk}/cancel/", {"reason": "x" * 301})
    assert too_long.status_code == 400 and "reason" in too_long.json()
    response = client.post(f"/api/v1/appointments/{pauls_visit.pk}/cancel/", {"reason": "Feeling better"})
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    pauls_visit.refresh_from_db()
    assert (pauls_visit.cancel_reason, pauls_visit.cancelled_by, pauls_visit.sequence) == ("Feeling better", patient_paul, 1)
    again = client.post(f"/api/v1/appointments/{pauls_visit.pk}/cancel/", {})
    assert again.status_code == 200 and again.json()["sequence"] == 1


def test_a_provider_who_sees_the_visit_may_not_cancel_it(api, provider_paula, pauls_visit):
    response = api.as_user(provider_paula).post(f"/api/v1/appointments/{pauls_visit.pk}/cancel/", {})
    assert response.status_code == 403
    pauls_visit.refresh_from_db()
    assert pauls_visit.status == "booked"


def test_the_patient_completes_the_intake(api, patient_paul, paul, pauls_visit):
    response = api.as_user(patient_paul).post(
        f"/api/v1/appointments/{pauls_visit.pk}/intake/",
        {
            "contact_phone": "+33 6 12 34 56 78",
            "contact_email": "paul@example.org",
            "insurance_provider": "Mutuelle",
            "payment_reference": "PAY-2031-0001",
            "answers": {"symptoms": "Cough", "since": "Three days"},
        },
    )
    assert response.status_code == 200, response.json()
    assert response.json()["intake_completed"] is True
    pauls_visit.refresh_from_db()
    assert pauls_visit.intake_answers == {"symptoms": "Cough", "since": "Three days"}
    assert pauls_visit.payment_reference == "PAY-2031-0001"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "contact_phone"),  # neither a phone nor an email
        ({"contact_phone": "1" * 33}, "contact_phone"),
        ({"contact_email": "not-an-email"}, "contact_email"),
        ({"contact_phone": "+33 6", "payment_reference": "4111 1111 1111 1111"}, "payment_reference"),
        ({"contact_phone": "+33 6", "insurance_member_id": "x" * 65}, "insurance_member_id"),
        ({"contact_phone": "+33 6", "answers": {"mood": "fine"}}, "answers"),
        ({"contact_phone": "+33 6", "answers": ["Cough"]}, "answers"),
        ({"contact_phone": "+33 6", "answers": {"symptoms": ["Cough"]}}, "answers"),
        ({"contact_phone": "+33 6", "answers": {"symptoms": "x" * 2001}}, "answers"),
        ({"contact_phone": "+33 6", "update_patient_record": "perhaps"}, "update_patient_record"),
        ({"contact_phone": ["+33 6"]}, "contact_phone"),
    ],
)
def test_bad_intake_is_400_naming_the_field_and_changes_nothing(api, patient_paul, pauls_visit, payload, field):
    response = api.as_user(patient_paul).post(f"/api/v1/appointments/{pauls_visit.pk}/intake/", payload)
    assert response.status_code == 400 and field in response.json(), response.json()
    pauls_visit.refresh_from_db()
    assert pauls_visit.intake_completed_at is None and pauls_visit.payment_reference == ""


def test_the_practitioner_runs_the_visit_and_the_front_desk_marks_arrivals(api, provider_paula, front_desk_fay, pauls_visit):
    # (one client: each as_user() switches whose token it sends)
    url = f"/api/v1/appointments/{pauls_visit.pk}/status/"
    assert api.as_user(front_desk_fay).post(url, {"status": "fulfilled"}).status_code == 403
    assert api.as_user(front_desk_fay).post(url, {"status": "arrived"}).json()["status"] == "arrived"
    assert api.as_user(provider_paula).post(url, {"status": "fulfilled"}).json()["status"] == "fulfilled"
    again = api.as_user(provider_paula).post(url, {"status": "arrived"})
    assert again.status_code == 400 and "status" in again.json()


@pytest.mark.parametrize("value", ["cancelled", "booked", "done", "", None, ["arrived"]])
def test_bad_status_values_are_400(api, provider_paula, pauls_visit, value):
    response = api.as_user(provider_paula).post(f"/api/v1/appointments/{pauls_visit.pk}/status/", {"status": value})
    assert response.status_code == 400 and "status" in response.json()
    pauls_visit.refresh_from_db()
    assert pauls_visit.status == "booked"


def test_a_visit_cannot_be_missed_before_it_starts(api, provider_paula, pauls_visit):
    response = api.as_user(provider_paula).post(f"/api/v1/appointments/{pauls_visit.pk}/status/", {"status": "noshow"})
    assert response.status_code == 400 and "status" in response.json()


# --- the video link and the invitation ---------------------------------------------------------


def test_the_video_link_waits_for_consent_and_intake(
    api, patient_paul, provider_paula, care_manager_alice, paul, pauls_visit, virtual_visit_v1
):
    url = f"/api/v1/appointments/{pauls_visit.pk}/video-link/"
    withheld = api.as_user(patient_paul).get(url)
    assert withheld.status_code == 409
    body = withheld.json()
    assert body["url"] is None and body["needs_consent"] and body["needs_intake"] and len(body["missing"]) == 2
    appointment_intake_submit(actor=patient_paul, appointment=pauls_visit, contact_phone="+33 6", contact_email="")
    consent_sign(
        actor=patient_paul, patient=paul, purpose=Purpose.VIRTUAL_VISIT, method=ConsentMethod.PORTAL, signer_name="Paul Lefèvre"
    )
    granted = api.as_user(patient_paul).get(url)
    assert granted.status_code == 200 and granted.json()["url"].endswith(pauls_visit.video_room)
    assert granted.json()["missing"] == []
    assert api.as_user(provider_paula).get(url).json()["url"] == granted.json()["url"]
    # the care manager sees the visit but is not one of its two parties
    refused = api.as_user(care_manager_alice).get(url)
    assert refused.status_code == 403 and refused.json()["url"] is None
    assert AccessLog.objects.filter(resource="video_link").count() == 2


def test_an_in_person_visit_has_no_video_link(api, patient_paul, paul, practitioner_paula, service, monday, front_desk_fay):
    visit = book(front_desk_fay, paul, practitioner_paula, service, at(monday, 14), virtual=False)
    response = api.as_user(patient_paul).get(f"/api/v1/appointments/{visit.pk}/video-link/")
    assert response.status_code == 409 and response.json()["url"] is None and response.json()["missing"]


def test_the_invitation_is_an_icalendar_file(api, patient_paul, front_desk_fay, paul, practitioner_paula, service, monday):
    visit = book(front_desk_fay, paul, practitioner_paula, service, at(monday, 14), virtual=False)
    response = api.as_user(patient_paul).get(f"/api/v1/appointments/{visit.pk}/ics/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert f'filename="appointment-{visit.pk}.ics"' in response["Content-Disposition"]
    text = response.content.decode()
    assert "BEGIN:VCALENDAR" in text and f"UID:appointment-{visit.pk}@" in text and "Dr Paula Test" in text
    # staff get the practitioner's copy, naming the patient by MRN only
    staff_copy = api.as_user(front_desk_fay).get(f"/api/v1/appointments/{visit.pk}/ics/", HTTP_ACCEPT="text/calendar")
    assert staff_copy.status_code == 200 and "MRN-PAUL" in staff_copy.content.decode()
    assert "Lefèvre" not in staff_copy.content.decode()
    assert AccessLog.objects.filter(resource="appointment", patient=paul).count() == 2


def test_a_cancelled_visits_invitation_cancels_the_event(api, patient_paul, pauls_visit):
    client = api.as_user(patient_paul)
    client.post(f"/api/v1/appointments/{pauls_visit.pk}/cancel/", {})
    response = client.get(f"/api/v1/appointments/{pauls_visit.pk}/ics/")
    assert "METHOD:CANCEL" in response.content.decode() and "SEQUENCE:1" in response.content.decode()


# --- the signed-in patient ---------------------------------------------------------------------


def test_a_patient_lists_only_their_own_appointments(
    api, patient_paul, patient_petra, pauls_visit, paul, petra, practitioner_piet, service, monday, front_desk_fay
):
    book(front_desk_fay, petra, practitioner_piet, service, at(monday, 9))
    response = api.as_user(patient_paul).get("/api/v1/me/appointments/")
    [row] = _rows(response)
    assert (row["id"], row["patient"], row["patient_label"]) == (pauls_visit.pk, paul.pk, None)
    log = AccessLog.objects.get()
    assert (log.actor, log.patient, log.resource, log.channel) == (patient_paul, paul, "appointments", "api")
    assert [r["id"] for r in _rows(api.as_user(patient_paul).get("/api/v1/appointments/"))] == [pauls_visit.pk]


def test_a_patient_books_through_me(api, patient_paul, paul, practitioner_paula, service, monday):
    client = api.as_user(patient_paul)
    payload = {"practitioner": practitioner_paula.pk, "service": service.pk, "start": at(monday, 9).isoformat(), "virtual": True}
    response = client.post("/api/v1/me/appointments/", {**payload, "patient": 12345})  # a patient field is ignored
    assert response.status_code == 201, response.json()
    appt = Appointment.objects.get()
    assert (appt.patient, appt.booked_by, appt.booked_via) == (paul, patient_paul, "api")
    taken = client.post("/api/v1/me/appointments/", payload)
    assert taken.status_code == 409 and "start" in taken.json()
    assert [r["status"] for r in _rows(client.get("/api/v1/me/appointments/", {"status": "booked"}))] == ["booked"]


def test_patients_are_held_to_the_booking_window(api, patient_paul, front_desk_fay, paul, practitioner_paula, service, monday):
    service.max_days_ahead = 3
    service.save()
    payload = {"practitioner": practitioner_paula.pk, "service": service.pk, "start": at(monday, 9).isoformat(), "virtual": True}
    response = api.as_user(patient_paul).post("/api/v1/me/appointments/", payload)
    assert response.status_code == 400 and "start" in response.json()
    assert _written() == (0, 0, 0)
    assert api.as_user(front_desk_fay).post("/api/v1/appointments/", {**payload, "patient": paul.pk}).status_code == 201


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"start": "2031-03-03T09:00:00"}, "start"),
        ({"virtual": "perhaps"}, "virtual"),
        ({"service": "x"}, "service"),
        ({"reason": "x" * 501}, "reason"),
    ],
)
def test_bad_bookings_through_me(api, patient_paul, practitioner_paula, service, monday, payload, field):
    ok = {"practitioner": practitioner_paula.pk, "service": service.pk, "start": at(monday, 9).isoformat(), "virtual": True}
    response = api.as_user(patient_paul).post("/api/v1/me/appointments/", {**ok, **payload})
    assert response.status_code == 400 and field in response.json()
    assert _written() == (0, 0, 0)


@pytest.mark.parametrize("who", ["care_manager_alice", "provider_paula", "front_desk_fay", "outreach_olga", "admin_ada"])
def test_staff_have_no_me_appointments(api, request, who, pauls_visit, practitioner_paula, service, monday):
    client = api.as_user(request.getfixturevalue(who))
    assert client.get("/api/v1/me/appointments/").status_code == 404
    payload = {"practitioner": practitioner_paula.pk, "service": service.pk, "start": at(monday, 10).isoformat(), "virtual": True}
    assert client.post("/api/v1/me/appointments/", payload).status_code == 404
    assert Appointment.objects.count() == 1


def test_the_schema_lists_the_scheduling_endpoints(client):
    schema = client.get("/api/v1/schema/").content.decode()
    for path in ["slots/", "appointments/{id}/video-link/", "me/appointments/", "practitioners/"]:
        assert f"/api/v1/{path}" in schema, path


# --- fuzzed from the schema, against a real visit and a real service -------------------------

scheduling_schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application).include(
    path_regex="slots|appointments|practitioners"
)


@pytest.fixture
def fuzz_world(front_desk_fay, provider_paula, patient_paul, paul, practitioner_paula, service, monday, virtual_visit_v1):
    from rest_framework.authtoken.models import Token

    visit = book(front_desk_fay, paul, practitioner_paula, service, at(monday, 9))
    tokens = [Token.objects.get_or_create(user=u)[0].key for u in (front_desk_fay, provider_paula, patient_paul)]
    return visit, service, (at(monday, 0).isoformat(), at(monday, 23).isoformat()), tokens


@scheduling_schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.django_db
def test_scheduling_endpoints_never_answer_a_server_error(case, fuzz_world):
    visit, service, (start, end), tokens = fuzz_world
    # Random ids and ranges would almost never name the visit, the service or a day with free
    # slots: aim the fuzz at real ones and let it vary the rest.
    if case.path_parameters and "id" in case.path_parameters:
        case.path_parameters["id"] = visit.pk
    if isinstance(case.query, dict) and "service" in case.query:
        case.query["service"] = service.pk
    if isinstance(case.query, dict) and case.path.endswith("/slots/") and "start" in case.query and "end" in case.query:
        case.query.update(start=start, end=end)
    if isinstance(case.body, dict) and "service" in case.body:
        case.body["service"] = service.pk
    for token in tokens:
        case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=[not_a_server_error])
