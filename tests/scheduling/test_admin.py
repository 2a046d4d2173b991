"""The staff side of scheduling in the admin: the front desk books, moves and cancels through the
services; the calendar shows hours, free slots and visits in the practitioner's time zone; the
provider's queue shows a summary per patient and runs the visit. Everyone else gets 404."""

import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.chain import verify_all
from consent.models import ConsentMethod, Purpose
from consent.report import resource_label
from consent.services import consent_sign
from notifications.models import OutboxItem
from patients.models import AccessLog, ClinicalNote
from scheduling.models import Appointment, AppointmentStatus, BookingChannel, Practitioner, WeeklyHours
from scheduling.services import appointment_intake_submit, appointment_note_write
from scheduling.summary import visit_summaries
from tests.factories import (
    AllergyFactory,
    ConditionFactory,
    LocationFactory,
    MedicationRequestFactory,
    ObservationFactory,
    PatientFactory,
    PractitionerFactory,
    ServiceFactory,
    UserFactory,
)

from .conftest import PARIS, at, book

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/scheduling/appointment/"
ADD = "/admin/scheduling/appointment/add/"
CALENDAR = "/admin/scheduling/appointment/calendar/"
QUEUE = "/admin/scheduling/appointment/queue/"
UTC = dt.UTC


def change_url(appt):
    return f"/admin/scheduling/appointment/{appt.pk}/change/"


def action_url(appt, action):
    return f"/admin/scheduling/appointment/queue/{appt.pk}/{action}/"


def _form(start: dt.datetime, **overrides) -> dict:
    """The add form as a browser posts it: the start as a local date and time (Paris, Fay's zone)."""
    local = start.astimezone(PARIS)
    data = {"start_0": local.strftime("%Y-%m-%d"), "start_1": local.strftime("%H:%M"), "virtual": "video", "reason": "Check-up"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _next_dst_sunday(after: dt.date) -> dt.date:
    """The next Sunday on which Paris changes its clocks (last Sunday of March or October)."""
    day = after
    while True:
        day += dt.timedelta(days=1)
        if day.weekday() == 6:
            morning = dt.datetime.combine(day, dt.time(0), tzinfo=PARIS).utcoffset()
            noon = dt.datetime.combine(day, dt.time(12), tzinfo=PARIS).utcoffset()
            if morning != noon:
                return day


def _last_weekday_before(day: dt.date) -> dt.date:
    day -= dt.timedelta(days=1)
    while day.weekday() > 4:
        day -= dt.timedelta(days=1)
    return day


@pytest.fixture
def visit(front_desk_fay, paul, practitioner_paula, service, monday):
    """Paul's video visit with Paula on Monday 09:30, booked by the front desk."""
    return book(front_desk_fay, paul, practitioner_paula, service, at(monday, 9, 30))


@pytest.fixture
def petra_visit(front_desk_fay, petra, practitioner_paula, service, monday):
    """Petra's in-person visit with Paula on Monday 14:00."""
    return book(front_desk_fay, petra, practitioner_paula, service, at(monday, 14), virtual=False)


# --- booking from the add form ------------------------------------------------------------------


def test_front_desk_books_through_the_add_form(client, front_desk_fay, paul, practitioner_paula, service, monday):
    client.force_login(front_desk_fay)
    # Given the form prefilled from a calendar slot
    page = client.get(
        ADD,
        {
            "practitioner": practitioner_paula.pk,
            "service": service.pk,
            "start": at(monday, 9, 30).astimezone(UTC).isoformat(),
            "virtual": "video",
        },
    )
    assert page.status_code == 200
    form = page.context["form"]
    assert form.initial["start"] == at(monday, 9, 30) and form.initial["practitioner"] == practitioner_paula.pk
    assert 'name="start_1" value="09:30' in page.content.decode()  # shown in Fay's time zone
    # when she picks Paul and books
    data = _form(at(monday, 9, 30), patient=paul.pk, practitioner=practitioner_paula.pk, service=service.pk)
    response = client.post(ADD, data)
    # then the visit is booked through the service, as the front desk
    appt = Appointment.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(change_url(appt))
    assert (appt.patient, appt.practitioner, appt.start, appt.virtual) == (paul, practitioner_paula, at(monday, 9, 30), True)
    assert (appt.booked_by, appt.booked_via, appt.reason) == (front_desk_fay, BookingChannel.ADMIN, "Check-up")
    assert appt.reminders.count() == 2  # the service's work, not a bare save


def test_start_is_read_in_the_users_time_zone(client, front_desk_fay, paul, practitioner_paula, service, monday):
    front_desk_fay.time_zone = "America/New_York"
    front_desk_fay.save()
    client.force_login(front_desk_fay)
    new_york = at(monday, 9, 30).astimezone(ZoneInfo("America/New_York"))
    data = {
        "patient": paul.pk,
        "practitioner": practitioner_paula.pk,
        "service": service.pk,
        "start_0": new_york.strftime("%Y-%m-%d"),
        "start_1": new_york.strftime("%H:%M"),
        "virtual": "video",
    }
    assert client.post(ADD, data).status_code == 302
    assert Appointment.objects.get().start == at(monday, 9, 30)


def test_in_person_booking_takes_the_practitioners_location(
    client, front_desk_fay, paul, practitioner_paula, service, clinic, monday
):
    client.force_login(front_desk_fay)
    data = _form(at(monday, 14), patient=paul.pk, practitioner=practitioner_paula.pk, service=service.pk, virtual="in_person")
    assert client.post(ADD, data).status_code == 302
    appt = Appointment.objects.get()
    assert (appt.virtual, appt.location) == (False, clinic)


def test_a_taken_time_is_a_form_error_beside_the_start(
    client, front_desk_fay, paul, petra_visit, practitioner_paula, service, monday
):
    client.force_login(front_desk_fay)
    data = _form(at(monday, 14), patient=paul.pk, practitioner=practitioner_paula.pk, service=service.pk, virtual="in_person")
    response = client.post(ADD, data)
    assert response.status_code == 400
    assert "start" in response.context["form"].errors
    assert 'id="id_start_error"' in response.content.decode() or "errorlist" in response.content.decode()
    assert Appointment.objects.count() == 1


def _bad_inputs(monday):
    gap_day = _next_dst_sunday(timezone.localdate())
    if gap_day.month != 3:  # the spring-forward night has the hour that does not exist
        gap_day = _next_dst_sunday(gap_day)
    return {
        "garbage date": ({"start_0": "31/02/20x6"}, "start"),
        "missing time": ({"start_1": ""}, "start"),
        "time that does not exist (spring forward)": (
            {"start_0": gap_day.isoformat(), "start_1": "02:30"},
            "start",
        ),
        "year 9999": ({"start_0": "9999-12-31"}, "start"),
        "past": ({"start_0": (timezone.localdate() - dt.timedelta(days=3)).isoformat(), "start_1": "09:30"}, "start"),
        "off the grid": ({"start_1": "09:10"}, "start"),
        "outside the hours": ({"start_1": "20:00"}, "start"),
        "in-person in a video-only block": ({"virtual": "in_person"}, "virtual"),
        "unknown mode": ({"virtual": "maybe"}, "virtual"),
        "unknown practitioner": ({"practitioner": "999999"}, "practitioner"),
        "practitioner not a number": ({"practitioner": "abc"}, "practitioner"),
        "unknown patient": ({"patient": "999999"}, "patient"),
        "patient not a number": ({"patient": "1 OR 1=1"}, "patient"),
        "unknown service": ({"service": "999999"}, "service"),
        "reason too long": ({"reason": "x" * 501}, "reason"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "garbage date",
        "missing time",
        "time that does not exist (spring forward)",
        "year 9999",
        "past",
        "off the grid",
        "outside the hours",
        "in-person in a video-only block",
        "unknown mode",
        "unknown practitioner",
        "practitioner not a number",
        "unknown patient",
        "patient not a number",
        "unknown service",
        "reason too long",
    ],
)
def test_bad_input_is_a_form_error_and_books_nothing(client, front_desk_fay, paul, practitioner_paula, service, monday, case):
    client.force_login(front_desk_fay)
    overrides, field = _bad_inputs(monday)[case]
    data = _form(at(monday, 9, 30), patient=paul.pk, practitioner=practitioner_paula.pk, service=service.pk)
    data.update(overrides)
    response = client.post(ADD, data)
    assert response.status_code == 400, case
    assert field in response.context["form"].errors, response.context["form"].errors
    assert not Appointment.objects.exists()


def test_care_manager_books_only_for_her_patients(client, care_manager_alice, paul, petra, practitioner_paula, service, monday):
    client.force_login(care_manager_alice)
    data = _form(at(monday, 9), practitioner=practitioner_paula.pk, service=service.pk)
    response = client.post(ADD, {**data, "patient": petra.pk})
    assert response.status_code == 400 and "patient" in response.context["form"].errors
    assert client.post(ADD, {**data, "patient": paul.pk}).status_code == 302
    assert Appointment.objects.get().patient == paul


def test_patient_autocomplete_offers_only_patients_the_user_sees(client, care_manager_alice, paul, petra):
    client.force_login(care_manager_alice)
    response = client.get(
        "/admin/autocomplete/", {"app_label": "scheduling", "model_name": "appointment", "field_name": "patient", "term": ""}
    )
    assert response.status_code == 200
    assert {int(r["id"]) for r in response.json()["results"]} == {paul.pk}


@pytest.mark.parametrize("who", ["provider_paula", "outreach_olga"])
def test_who_does_not_book_cannot_open_the_add_form(client, request, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(ADD).status_code == 403


# --- the list ------------------------------------------------------------------------------------


def _rows(response):
    return {a.pk for a in response.context["cl"].result_list}


def test_changelist_holds_what_each_role_may_see(
    client, front_desk_fay, care_manager_alice, care_manager_bob, provider_paula, provider_piet, visit, petra_visit
):
    expected = {
        front_desk_fay: {visit.pk, petra_visit.pk},
        care_manager_alice: {visit.pk},
        care_manager_bob: {petra_visit.pk},
        provider_paula: {visit.pk, petra_visit.pk},  # her own visits
        provider_piet: set(),
    }
    for user, rows in expected.items():
        client.force_login(user)
        response = client.get(CHANGELIST)
        assert response.status_code == 200
        assert _rows(response) == rows, user


def test_outreach_cannot_open_appointments(client, outreach_olga, visit):
    client.force_login(outreach_olga)
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(change_url(visit)).status_code == 404


def test_changelist_search_and_filters(client, front_desk_fay, visit, petra_visit, monday, practitioner_piet, service, paul):
    other = book(front_desk_fay, paul, practitioner_piet, service, at(monday + dt.timedelta(days=1), 9))
    client.force_login(front_desk_fay)
    assert _rows(client.get(CHANGELIST, {"q": "MRN-PETRA"})) == {petra_visit.pk}
    assert _rows(client.get(CHANGELIST, {"q": "lefèvre"})) == {visit.pk, other.pk}
    assert _rows(client.get(CHANGELIST, {"virtual__exact": "0"})) == {petra_visit.pk}
    assert _rows(client.get(CHANGELIST, {"practitioner__id__exact": practitioner_piet.pk})) == {other.pk}
    assert _rows(client.get(CHANGELIST, {"when": monday.isoformat()})) == {visit.pk, petra_visit.pk}
    assert _rows(client.get(CHANGELIST, {"when": "past"})) == set()
    assert _rows(client.get(CHANGELIST, {"status__exact": "cancelled"})) == set()
    assert client.get(CHANGELIST, {"when": "not-a-day"}).status_code == 200


def test_changelist_shows_times_in_the_users_time_zone(client, front_desk_fay, visit):
    front_desk_fay.time_zone = "Asia/Tokyo"
    front_desk_fay.save()
    client.force_login(front_desk_fay)
    page = client.get(CHANGELIST).content.decode()
    tokyo = visit.start.astimezone(ZoneInfo("Asia/Tokyo"))
    assert tokyo.strftime("%H:%M").lstrip("0") in page or tokyo.strftime("%-I:%M") in page


def test_changelist_queries_do_not_grow_with_rows(client, front_desk_fay, practitioner_paula, service, monday):
    client.force_login(front_desk_fay)
    client.get(CHANGELIST)  # warm the per-process caches (content types) before counting
    counts = []
    slots = iter([at(monday + dt.timedelta(days=d), h) for d in range(5) for h in (9, 10, 11, 14, 15, 16)])
    for batch in (2, 12):
        for _ in range(batch):
            book(front_desk_fay, PatientFactory(), practitioner_paula, service, next(slots))
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(CHANGELIST).status_code == 200
        counts.append(len(ctx.captured_queries))
    # session, user, the user's patient record (language middleware), the user's and groups'
    # permissions, the practitioner filter's choices, the count, roles, the page of rows
    # (patients, practitioners, services, locations joined): 9, whatever the number of rows.
    assert counts[0] == counts[1], counts
    assert counts[1] <= 9, counts


# --- the appointment page ------------------------------------------------------------------------


def test_change_page_is_read_only_and_access_logged(client, front_desk_fay, visit):
    client.force_login(front_desk_fay)
    response = client.get(change_url(visit), HTTP_USER_AGENT="Firefox")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"/admin/scheduling/appointment/{visit.pk}/move/" in page
    assert f"/admin/scheduling/appointment/{visit.pk}/cancel/" in page
    assert 'id="arrived-form"' in page
    assert 'name="_save"' not in page  # nothing is saved from this page
    log = AccessLog.objects.get()
    assert (log.actor, log.patient, log.resource, log.channel) == (front_desk_fay, visit.patient, "appointment", "admin")
    # a post to the page itself writes nothing
    assert client.post(change_url(visit), {"status": "cancelled"}).status_code == 403
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.BOOKED


@pytest.mark.parametrize("who", ["care_manager_bob", "provider_piet", "outreach_olga", "event_planner_evan"])
def test_others_get_404_on_the_appointment_page(client, request, who, visit):
    client.force_login(request.getfixturevalue(who))
    for suffix in ("change", "history", "move", "cancel"):
        assert client.get(f"/admin/scheduling/appointment/{visit.pk}/{suffix}/").status_code == 404, suffix
    assert client.post(f"/admin/scheduling/appointment/{visit.pk}/arrived/").status_code == 404
    assert client.get("/admin/scheduling/appointment/abc/change/").status_code == 404
    assert not AccessLog.objects.exists()


def test_patients_are_sent_to_sign_in(client, patient_paul, visit):
    client.force_login(patient_paul)
    for url in (change_url(visit), CALENDAR, QUEUE):
        response = client.get(url)
        # the page that says this is not a staff account, with a way to sign in as staff
        assert response.status_code == 403 and "/accounts/login/" in response.content.decode(), url


def test_front_desk_sees_no_intake_answers_or_note(client, front_desk_fay, provider_paula, care_manager_alice, visit, paul):
    appointment_intake_submit(
        actor=front_desk_fay,
        appointment=visit,
        contact_phone="+33 6 11 22 33 44",
        contact_email="paul@example.org",
        answers={"symptoms": "Chest pain at night"},
    )
    note = appointment_note_write(actor=provider_paula, appointment=visit, text="Seen; ECG normal.")
    client.force_login(front_desk_fay)
    page = client.get(change_url(visit)).content.decode()
    assert "+33 6 11 22 33 44" in page and "Chest pain" not in page and "visit-note-link" not in page
    client.force_login(care_manager_alice)
    page = client.get(change_url(visit)).content.decode()
    assert "Chest pain" in page and f"/admin/patients/clinicalnote/{note.pk}/change/" in page


@pytest.mark.parametrize("who", ["front_desk_fay", "care_manager_alice", "provider_paula", "admin_ada"])
def test_the_reason_for_the_visit_is_clinical(client, request, who, front_desk_fay, paul, practitioner_paula, service, monday):
    visit = book(front_desk_fay, paul, practitioner_paula, service, at(monday, 9, 30), reason="Persistent cough for two weeks")
    client.force_login(request.getfixturevalue(who))
    base = change_url(visit).removesuffix("change/")
    # The pages that show the reason to those who read clinical data (the history list shows none;
    # Paula's day is open to her, the front desk and administrators).
    pages = [change_url(visit), f"{base}history/{visit.history.latest().history_id}/"]
    if who != "care_manager_alice":
        pages.append(f"{QUEUE}?practitioner={practitioner_paula.pk}&day={monday.isoformat()}")
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert ("Persistent cough" in response.content.decode()) == (who != "front_desk_fay"), url
    assert "Persistent cough" not in client.get(f"{base}history/").content.decode()


def test_the_history_list_of_changes_holds_no_clinical_value_for_the_front_desk(
    client, front_desk_fay, care_manager_alice, paul, practitioner_paula, service, monday
):
    visit = book(front_desk_fay, paul, practitioner_paula, service, at(monday, 9, 30), reason="Persistent cough for two weeks")
    appointment_intake_submit(
        actor=front_desk_fay,
        appointment=visit,
        contact_phone="+33 6 11 22 33 44",
        contact_email="",
        answers={"symptoms": "Chest pain at night"},
    )
    Appointment.objects.filter(pk=visit.pk).update(reason="Cough and fever")  # as an import might
    visit.refresh_from_db()
    visit._history_user = front_desk_fay
    visit.save()
    url = f"/admin/scheduling/appointment/{visit.pk}/history/"
    client.force_login(front_desk_fay)
    page = client.get(url).content.decode()
    assert "+33 6 11 22 33 44" in page  # the list of changes is there
    assert "Chest pain" not in page and "cough" not in page.lower()
    client.force_login(care_manager_alice)
    page = client.get(url).content.decode()
    assert "Chest pain" in page and "Cough and fever" in page


# --- move, cancel, arrived -----------------------------------------------------------------------


def test_move_page_offers_free_times_and_moves_through_the_service(client, front_desk_fay, visit, monday, practitioner_paula):
    client.force_login(front_desk_fay)
    url = f"/admin/scheduling/appointment/{visit.pk}/move/"
    page = client.get(url)
    assert page.status_code == 200
    suggested = [s["slot"].start for s in page.context["suggestions"]]
    assert suggested and all(timezone.now() <= s < timezone.now() + dt.timedelta(days=7) for s in suggested)
    local = at(monday, 10, 30)
    response = client.post(url, {"start_0": local.strftime("%Y-%m-%d"), "start_1": "10:30"})
    assert response.status_code == 302
    visit.refresh_from_db()
    assert (visit.start, visit.sequence, visit.practitioner) == (local, 1, practitioner_paula)


def test_move_to_a_taken_time_is_a_form_error(client, front_desk_fay, visit, petra_visit, monday):
    client.force_login(front_desk_fay)
    url = f"/admin/scheduling/appointment/{visit.pk}/move/"
    response = client.post(url, {"start_0": monday.isoformat(), "start_1": "14:00", "virtual": "in_person"})
    assert response.status_code == 400 and "start" in response.context["form"].errors
    response = client.post(url, {"start_0": "garbage", "start_1": "10:00"})
    assert response.status_code == 400 and "start" in response.context["form"].errors
    response = client.post(url, {"start_0": monday.isoformat(), "start_1": "10:00", "practitioner": "999999"})
    assert response.status_code == 400 and "practitioner" in response.context["form"].errors
    visit.refresh_from_db()
    assert (visit.start, visit.sequence) == (at(monday, 9, 30), 0)


def test_move_to_another_practitioner(client, front_desk_fay, visit, monday, practitioner_piet):
    client.force_login(front_desk_fay)
    url = f"/admin/scheduling/appointment/{visit.pk}/move/"
    page = client.get(url, {"practitioner": practitioner_piet.pk})
    assert page.context["suggestions_for"] == practitioner_piet
    data = {"start_0": monday.isoformat(), "start_1": "09:30", "practitioner": practitioner_piet.pk}
    assert client.post(url, data).status_code == 302
    visit.refresh_from_db()
    assert visit.practitioner == practitioner_piet


def test_cancel_needs_a_reason_and_goes_through_the_service(client, front_desk_fay, visit):
    client.force_login(front_desk_fay)
    url = f"/admin/scheduling/appointment/{visit.pk}/cancel/"
    response = client.post(url, {"reason": "  "})
    assert response.status_code == 400 and "reason" in response.context["form"].errors
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.BOOKED
    assert client.post(url, {"reason": "Patient called, unwell"}).status_code == 302
    visit.refresh_from_db()
    assert (visit.status, visit.cancelled_by, visit.cancel_reason) == (
        AppointmentStatus.CANCELLED,
        front_desk_fay,
        "Patient called, unwell",
    )
    # a cancelled visit cannot be moved
    response = client.post(f"/admin/scheduling/appointment/{visit.pk}/move/", {"start_0": "2030-01-01", "start_1": "10:00"})
    assert response.status_code == 400


@pytest.mark.parametrize("who", ["provider_paula"])
def test_providers_do_not_move_or_cancel(client, request, who, visit):
    client.force_login(request.getfixturevalue(who))
    assert client.get(f"/admin/scheduling/appointment/{visit.pk}/move/").status_code == 404
    assert client.post(f"/admin/scheduling/appointment/{visit.pk}/cancel/", {"reason": "x"}).status_code == 404
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.BOOKED


def test_front_desk_marks_arrival(client, front_desk_fay, care_manager_alice, visit):
    client.force_login(care_manager_alice)
    assert client.post(f"/admin/scheduling/appointment/{visit.pk}/arrived/").status_code == 404
    client.force_login(front_desk_fay)
    assert client.get(f"/admin/scheduling/appointment/{visit.pk}/arrived/").status_code == 405
    response = client.post(f"/admin/scheduling/appointment/{visit.pk}/arrived/")
    assert response.status_code == 302 and response["Location"].endswith(change_url(visit))
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.ARRIVED and visit.arrived_at is not None


# --- the calendar --------------------------------------------------------------------------------


def _calendar(client, practitioner, day, view="week", **extra):
    return client.get(CALENDAR, {"practitioner": practitioner.pk, "day": day.isoformat(), "view": view, **extra})


def test_calendar_week_shows_hours_free_slots_and_visits(client, front_desk_fay, visit, petra_visit, practitioner_paula, monday):
    client.force_login(front_desk_fay)
    response = _calendar(client, practitioner_paula, monday + dt.timedelta(days=2))
    assert response.status_code == 200
    days = response.context["days"]
    assert [d.date for d in days] == [monday + dt.timedelta(days=i) for i in range(7)]
    first = days[0]
    assert any(h.startswith("09:00–12:00") for h in first.hours) and any(h.startswith("14:00–17:00") for h in first.hours)
    assert {a.pk for a in first.appointments} == {visit.pk, petra_visit.pk}
    starts = [s.start for s in first.slots]
    assert at(monday, 9) in starts and at(monday, 9, 30) not in starts and at(monday, 14) not in starts
    assert days[5].slots == [] and days[5].hours == []  # Saturday: no hours
    page = response.content.decode()
    assert f'href="{change_url(visit)}"' in page
    # a free slot opens the booking form prefilled
    link = re.search(r'<a class="slot" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert link.startswith(ADD) and f"practitioner={practitioner_paula.pk}" in link and "start=" in link
    assert client.get(link).context["form"].initial["start"] == first.slots[0].start


def test_calendar_day_view_and_navigation(client, front_desk_fay, practitioner_paula, monday):
    client.force_login(front_desk_fay)
    response = _calendar(client, practitioner_paula, monday, view="day")
    assert [d.date for d in response.context["days"]] == [monday]
    assert f"day={(monday - dt.timedelta(days=1)).isoformat()}" in response.context["prev_url"]
    assert f"day={(monday + dt.timedelta(days=1)).isoformat()}" in response.context["next_url"]
    week = _calendar(client, practitioner_paula, monday)
    assert f"day={(monday + dt.timedelta(days=7)).isoformat()}" in week.context["next_url"]


def test_calendar_across_a_daylight_saving_change(client, front_desk_fay, paul, practitioner_paula, service):
    # Given Paula also works weekend mornings, 09:00-12:00 Paris time
    for weekday in (5, 6):
        WeeklyHours.objects.create(practitioner=practitioner_paula, weekday=weekday, start_time=dt.time(9), end_time=dt.time(12))
    sunday = _next_dst_sunday(timezone.localdate() + dt.timedelta(days=1))
    saturday, next_monday = sunday - dt.timedelta(days=1), sunday + dt.timedelta(days=1)
    booked = book(front_desk_fay, paul, practitioner_paula, service, at(sunday, 10))
    client.force_login(front_desk_fay)
    # when the front desk opens the week that ends on the night the clocks change
    response = _calendar(client, practitioner_paula, sunday)
    assert response.status_code == 200
    by_day = {d.date: d for d in response.context["days"]}
    sat_first, sun_first = by_day[saturday].slots[0].start, by_day[sunday].slots[0].start
    # then both mornings start at 09:00 local, which in UTC is an hour apart
    assert sat_first.astimezone(PARIS).time() == dt.time(9) == sun_first.astimezone(PARIS).time()
    assert abs(sat_first.astimezone(UTC).hour - sun_first.astimezone(UTC).hour) == 1
    assert len(by_day[sunday].slots) == len(by_day[saturday].slots) - 1  # 10:00 is booked
    assert [a.pk for a in by_day[sunday].appointments] == [booked.pk]
    page = response.content.decode()
    sunday_html = page.split(f'id="day-{sunday.isoformat()}"')[1].split("</section>")[0]
    assert "09:00 · free" in sunday_html and "10:00–10:30" in sunday_html
    # and the Monday after is still 09:00 local in the day view
    monday_view = _calendar(client, practitioner_paula, next_monday, view="day")
    monday_first = monday_view.context["days"][0].slots[0].start
    assert monday_first.astimezone(PARIS).time() == dt.time(9)
    assert monday_first.astimezone(UTC).hour == sun_first.astimezone(UTC).hour


def test_calendar_is_shown_in_the_practitioners_time_zone(client, front_desk_fay, provider_piet, service, monday):
    tokyo = PractitionerFactory(user=provider_piet, time_zone="Asia/Tokyo")
    tokyo.services.add(service)
    WeeklyHours.objects.create(practitioner=tokyo, weekday=monday.weekday(), start_time=dt.time(9), end_time=dt.time(10))
    client.force_login(front_desk_fay)
    day = _calendar(client, tokyo, monday, view="day").context["days"][0]
    assert [s.start.astimezone(ZoneInfo("Asia/Tokyo")).time() for s in day.slots] == [dt.time(9), dt.time(9, 30)]


def test_provider_sees_her_own_calendar_only(client, provider_paula, practitioner_paula, practitioner_piet, visit, monday):
    client.force_login(provider_paula)
    response = client.get(CALENDAR, {"day": monday.isoformat()})
    assert response.status_code == 200 and response.context["practitioner"] == practitioner_paula
    assert not re.search(r'<a class="slot"', response.content.decode())  # providers do not book
    assert _calendar(client, practitioner_piet, monday).status_code == 404


def test_care_manager_calendar_shows_only_her_patients_visits(
    client, care_manager_alice, practitioner_paula, visit, petra_visit, monday
):
    client.force_login(care_manager_alice)
    response = _calendar(client, practitioner_paula, monday)
    assert response.status_code == 200
    assert {a.pk for a in response.context["days"][0].appointments} == {visit.pk}
    assert "MRN-PETRA" not in response.content.decode()


@pytest.mark.parametrize("who", ["outreach_olga", "event_planner_evan"])
def test_calendar_refused_to_roles_without_it(client, request, who, practitioner_paula, monday):
    client.force_login(request.getfixturevalue(who))
    assert _calendar(client, practitioner_paula, monday).status_code == 404


@pytest.mark.parametrize(
    "params",
    [{"day": "2026-02-31"}, {"day": "9999-01-01"}, {"view": "month"}, {"service": "999999"}, {"service": "abc"}],
)
def test_calendar_bad_query_is_a_400_naming_the_field(client, front_desk_fay, practitioner_paula, monday, params):
    client.force_login(front_desk_fay)
    query = {"practitioner": practitioner_paula.pk, "day": monday.isoformat(), **params}
    response = client.get(CALENDAR, query)
    assert response.status_code == 400
    assert set(params) & set(response.context["form"].errors)


def test_calendar_service_not_offered_is_a_400(client, front_desk_fay, practitioner_paula, monday):
    other = ServiceFactory(code="other", name_en="Other")
    client.force_login(front_desk_fay)
    response = _calendar(client, practitioner_paula, monday, service=other.pk)
    assert response.status_code == 400 and "service" in response.context["form"].errors


def test_calendar_unknown_practitioner_is_404(client, front_desk_fay, monday):
    client.force_login(front_desk_fay)
    assert client.get(CALENDAR, {"practitioner": "999999"}).status_code == 404
    assert client.get(CALENDAR, {"practitioner": "abc"}).status_code == 404
    assert client.get(CALENDAR).status_code == 200  # nobody chosen yet: the list


def test_calendar_queries_do_not_grow_with_visits(client, front_desk_fay, practitioner_paula, service, monday):
    client.force_login(front_desk_fay)
    _calendar(client, practitioner_paula, monday)  # warm the per-process caches
    counts = []
    slots = iter([at(monday + dt.timedelta(days=d), h) for d in range(5) for h in (9, 10, 11, 14, 15, 16)])
    for batch in (1, 8):
        for _ in range(batch):
            book(front_desk_fay, PatientFactory(), practitioner_paula, service, next(slots))
        with CaptureQueriesContext(connection) as ctx:
            assert _calendar(client, practitioner_paula, monday).status_code == 200
        counts.append(len(ctx.captured_queries))
    # session, user, the user's patient record, permissions (user, groups), the user's own
    # practitioner profile, roles, the practitioner chosen (form), again with weekly hours and
    # their locations (2), services offered, time off and extra hours, the slot search (service
    # offered, exceptions, booked times), the visits shown, the choices of the two selects:
    # 19, whatever the number of visits.
    assert counts[0] == counts[1], counts
    assert counts[1] <= 19, counts


# --- the provider's queue ------------------------------------------------------------------------


@pytest.fixture
def paul_record(paul):
    """Paul's chart: 61 years old on 1 June 2026, two active conditions and one resolved, vitals
    with history, a lab result that is no vital sign."""
    paul.birth_date = dt.date(1965, 6, 1)
    paul.save()
    ConditionFactory(patient=paul, display="Diabetes mellitus type 2")
    ConditionFactory(patient=paul, display="Hypertension", code="38341003")
    ConditionFactory(patient=paul, display="Sprained ankle", code="44465007", clinical_status="resolved")
    now = timezone.now()
    ObservationFactory(patient=paul, value_quantity=88, effective_at=now - dt.timedelta(days=30))
    ObservationFactory(patient=paul, value_quantity=72, effective_at=now - dt.timedelta(days=2))
    ObservationFactory(
        patient=paul,
        code="85354-9",
        display="Blood pressure panel",
        value_quantity=None,
        value_unit="",
        components=[
            {"code": "8480-6", "display": "Systolic", "value": 128, "unit": "mm[Hg]"},
            {"code": "8462-4", "display": "Diastolic", "value": 82, "unit": "mm[Hg]"},
        ],
    )
    ObservationFactory(patient=paul, code="4548-4", display="HbA1c", category="laboratory", value_quantity=7.1, value_unit="%")
    ObservationFactory(
        patient=paul,
        code="59408-5",
        display="Oxygen saturation in Arterial blood by Pulse oximetry",
        value_quantity=Decimal("97.0000"),
        value_unit="%",
    )
    AllergyFactory(patient=paul, criticality="high")
    AllergyFactory(patient=paul, code="300913006", display="Shellfish allergy", clinical_status="resolved")
    MedicationRequestFactory(patient=paul, display="Lisinopril 10 MG Oral Tablet", dosage_text="10 mg once daily")
    MedicationRequestFactory(patient=paul, display="Amoxicillin 500 MG", status="completed")
    return paul


def test_queue_shows_the_summary_of_each_patient(
    client, provider_paula, front_desk_fay, paul_record, visit, petra_visit, monday, care_manager_alice
):
    appointment_intake_submit(
        actor=front_desk_fay,
        appointment=visit,
        contact_phone="+33 6 11 22 33 44",
        contact_email="paul@example.org",
        answers={"symptoms": "Tired since March", "medications": "Metformin"},
    )
    client.force_login(provider_paula)
    response = client.get(QUEUE, {"day": monday.isoformat()})
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [r["appointment"].pk for r in rows] == [visit.pk, petra_visit.pk]
    summary = rows[0]["summary"]
    assert summary.age == (60 if (monday.month, monday.day) < (6, 1) else 61) + (monday.year - 2026)
    assert summary.conditions == ["Diabetes mellitus type 2", "Hypertension"] or set(summary.conditions) == {
        "Diabetes mellitus type 2",
        "Hypertension",
    }
    # vital signs named as at the bedside, values without the database's padding, units for people
    vitals = {v.label: v.value for v in summary.vitals}
    assert vitals == {"Heart rate": "72 /min", "Blood pressure": "128/82 mmHg", "Oxygen saturation": "97 %"}
    assert summary.allergies == ["Allergy to penicillin (high risk)"]
    assert summary.medications == ["Lisinopril 10 MG Oral Tablet — 10 mg once daily"]
    assert [a.text for a in summary.intake_answers] == ["Tired since March", "Metformin"]
    assert (summary.contact_phone, summary.care_plan) == ("+33 6 11 22 33 44", None)
    page = response.content.decode()
    assert "Hypertension" in page and "Tired since March" in page
    assert "Blood pressure <strong>128/82 mmHg</strong>" in page and "Pulse oximetry" not in page
    assert "Allergy to penicillin (high risk)" in page and "Shellfish" not in page
    assert "Lisinopril 10 MG Oral Tablet — 10 mg once daily" in page and "Amoxicillin" not in page
    assert "No care plan." in page and "HbA1c" not in page and "Sprained ankle" not in page
    # each summary shown is a read of the patient's record, logged, and the chain stays intact
    logs = AccessLog.objects.filter(resource="visit_summary")
    assert {(log.actor_id, log.patient_id, log.channel) for log in logs} == {
        (provider_paula.pk, visit.patient_id, "admin"),
        (provider_paula.pk, petra_visit.patient_id, "admin"),
    }
    assert verify_all() == []
    # and the patient's "who viewed my record" names what was read in words
    assert resource_label("visit_summary") != "visit_summary" and resource_label("appointment") != "appointment"


def test_queue_is_today_by_default(client, provider_paula, practitioner_paula):
    client.force_login(provider_paula)
    response = client.get(QUEUE)
    assert response.status_code == 200
    assert response.context["day"] == timezone.now().astimezone(PARIS).date()
    assert response.context["practitioner"] == practitioner_paula


def test_front_desk_sees_the_queue_without_clinical_summaries(
    client, front_desk_fay, paul_record, visit, practitioner_paula, monday
):
    client.force_login(front_desk_fay)
    response = client.get(QUEUE, {"practitioner": practitioner_paula.pk, "day": monday.isoformat()})
    assert response.status_code == 200
    row = response.context["rows"][0]
    assert row["summary"] is None and row["may_arrive"] and not row["may_start"] and not row["may_write_note"]
    page = response.content.decode()
    assert f'id="summary-{visit.pk}"' not in page and "Hypertension" not in page and "Heart rate" not in page
    assert not AccessLog.objects.exists()


@pytest.mark.parametrize("who", ["provider_piet", "care_manager_alice", "care_manager_bob", "outreach_olga"])
def test_nobody_else_opens_paulas_queue(client, request, who, practitioner_paula, practitioner_piet, visit, monday):
    client.force_login(request.getfixturevalue(who))
    response = client.get(QUEUE, {"practitioner": practitioner_paula.pk, "day": monday.isoformat()})
    assert response.status_code == 404
    assert not AccessLog.objects.exists()


def test_piet_sees_only_his_own_empty_day(client, provider_piet, practitioner_piet, visit, monday):
    client.force_login(provider_piet)
    response = client.get(QUEUE, {"day": monday.isoformat()})
    assert response.status_code == 200 and response.context["rows"] == []


def test_queue_bad_day_is_a_400(client, provider_paula, practitioner_paula):
    client.force_login(provider_paula)
    for bad in ("2026-13-01", "yesterday", "0001-01-01"):
        response = client.get(QUEUE, {"day": bad})
        assert response.status_code == 400 and "day" in response.context["form"].errors


def test_paula_runs_her_visit_from_the_queue(
    client, provider_paula, care_manager_alice, patient_paul, paul, visit, monday, virtual_visit_v1
):
    client.force_login(provider_paula)
    queue = f"{QUEUE}?day={monday.isoformat()}"
    # arrived (the appointment's own action, shared with the front desk), back to the queue
    response = client.post(f"/admin/scheduling/appointment/{visit.pk}/arrived/", {"return_to": "queue"})
    assert response.status_code == 302 and response["Location"] == queue
    # starting a video visit without consent or intake: started, but no room yet
    response = client.post(action_url(visit, "start"))
    assert response.status_code == 302 and response["Location"] == queue
    visit.refresh_from_db()
    assert visit.started_at is not None and visit.status == AppointmentStatus.ARRIVED
    # with both, the start opens the video room
    consent_sign(
        actor=patient_paul, patient=paul, purpose=Purpose.VIRTUAL_VISIT, method=ConsentMethod.PORTAL, signer_name="Paul Lefèvre"
    )
    Appointment.objects.filter(pk=visit.pk).update(intake_completed_at=timezone.now())
    response = client.post(action_url(visit, "start"))
    assert response.status_code == 302 and response["Location"].endswith(visit.video_room)
    # the note: an empty one is refused beside the field, then written
    response = client.post(action_url(visit, "note"), {f"note-{visit.pk}-text": "   "})
    assert response.status_code == 400 and not ClinicalNote.objects.exists()
    assert f'id="id_note-{visit.pk}-text_error"' in response.content.decode()
    response = client.post(action_url(visit, "note"), {f"note-{visit.pk}-text": "Seen by video. Adjust metformin."})
    assert response.status_code == 302
    visit.refresh_from_db()
    note = ClinicalNote.objects.get()
    assert visit.visit_note == note and note.author == provider_paula
    assert OutboxItem.objects.filter(recipient_user=care_manager_alice, channel="in_app").exists()
    # the queue now links the note, and fulfils the visit
    page = client.get(queue).content.decode()
    assert f"/admin/patients/clinicalnote/{note.pk}/change/" in page
    assert client.post(action_url(visit, "fulfilled")).status_code == 302
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.FULFILLED
    # and the care manager sees where the note came from on the appointment page
    client.force_login(care_manager_alice)
    assert f"/admin/patients/clinicalnote/{note.pk}/change/" in client.get(change_url(visit)).content.decode()


def test_paula_marks_a_missed_visit(client, provider_paula, front_desk_fay, petra, practitioner_paula, service):
    past_day = _last_weekday_before(timezone.localdate())
    missed = book(front_desk_fay, petra, practitioner_paula, service, at(past_day, 9), now=at(past_day, 8))
    client.force_login(provider_paula)
    page = client.get(QUEUE, {"day": past_day.isoformat()})
    assert page.context["rows"][0]["may_no_show"]
    assert client.post(action_url(missed, "noshow")).status_code == 302
    missed.refresh_from_db()
    assert missed.status == AppointmentStatus.NO_SHOW


def test_a_refused_status_change_is_a_message_not_an_error(client, provider_paula, visit):
    client.force_login(provider_paula)
    response = client.post(action_url(visit, "noshow"), follow=True)  # before it starts
    assert response.status_code == 200
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.BOOKED
    assert any("before it starts" in str(m) for m in response.context["messages"])


@pytest.mark.parametrize("who", ["provider_piet", "care_manager_alice", "care_manager_bob", "front_desk_fay", "outreach_olga"])
@pytest.mark.parametrize("action", ["fulfilled", "noshow", "start", "note"])
def test_others_are_refused_on_paulas_queue_actions(client, request, who, action, visit):
    client.force_login(request.getfixturevalue(who))
    response = client.post(action_url(visit, action), {f"note-{visit.pk}-text": "Not mine to write."})
    assert response.status_code == 404
    visit.refresh_from_db()
    assert (visit.status, visit.started_at, visit.visit_note_id) == (AppointmentStatus.BOOKED, None, None)
    assert not ClinicalNote.objects.exists()


def test_patients_are_refused_on_queue_actions(client, patient_paul, visit):
    client.force_login(patient_paul)
    response = client.post(action_url(visit, "start"))
    assert response.status_code == 403
    visit.refresh_from_db()
    assert visit.started_at is None


def test_queue_actions_are_posts(client, provider_paula, visit):
    client.force_login(provider_paula)
    assert client.get(action_url(visit, "fulfilled")).status_code == 405
    assert client.post(action_url(visit, "delete")).status_code == 404
    assert client.post("/admin/scheduling/appointment/queue/999999/start/").status_code == 404


def _csp(response) -> dict[str, list[str]]:
    directives = (d.split() for d in response["Content-Security-Policy"].split(";") if d.strip())
    return {name: values for name, *values in directives}


def test_queue_page_lets_the_start_button_open_the_video_room(client, provider_paula, visit, monday, settings):
    """Starting a video visit posts a form answered by a redirect to the video room, and browsers
    hold that redirect to the page's form-action: the queue page (also when shown again with a
    note error) allows the video provider's origin; other pages keep 'self' alone."""
    settings.SALUS_VIDEO_BASE_URL = "https://video.example.org/rooms/"
    client.force_login(provider_paula)
    page = client.get(QUEUE, {"day": monday.isoformat()})
    assert page.status_code == 200
    assert _csp(page)["form-action"] == ["'self'", "https://video.example.org"]
    assert _csp(page)["default-src"] == ["'self'"]
    with_error = client.post(action_url(visit, "note"), {f"note-{visit.pk}-text": " "})
    assert with_error.status_code == 400
    assert _csp(with_error)["form-action"] == ["'self'", "https://video.example.org"]
    assert _csp(client.get(CHANGELIST))["form-action"] == ["'self'"]
    # a base URL that is no web address adds nothing
    settings.SALUS_VIDEO_BASE_URL = "not a url"
    assert _csp(client.get(QUEUE, {"day": monday.isoformat()}))["form-action"] == ["'self'"]


def test_queue_queries_do_not_grow_with_visits(client, admin_ada, provider_paula, practitioner_paula, service, monday):
    book(admin_ada, PatientFactory(), practitioner_paula, service, at(monday, 16, 30))
    client.force_login(provider_paula)
    client.get(QUEUE, {"day": monday.isoformat()})  # warm the caches and start the access-log chain
    counts = []
    slots = iter([at(monday, h, m) for h in (9, 10, 11, 14, 15, 16) for m in (0, 30)])
    for batch in (1, 6):
        for _ in range(batch):
            patient = PatientFactory()
            ConditionFactory(patient=patient)
            ObservationFactory(patient=patient)
            book(admin_ada, patient, practitioner_paula, service, next(slots))
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(QUEUE, {"day": monday.isoformat()}).status_code == 200
        counts.append(len(ctx.captured_queries))
    # session, user, the user's patient record, permissions (user, groups), her practitioner
    # profile, roles, the day's visits with their patients, active conditions, allergies, current
    # medications, latest vital signs (one windowed query), the access log in a savepoint (chain
    # head, all rows in one insert, head update): 17, whatever the number of visits.
    assert counts[0] == counts[1], counts
    assert counts[1] <= 17, counts


def test_visit_summaries_take_a_fixed_number_of_queries(
    django_assert_num_queries, admin_ada, practitioner_paula, service, monday
):
    appointments = []
    for hour in (9, 10, 11, 14, 15):
        patient = PatientFactory()
        ConditionFactory(patient=patient)
        ObservationFactory(patient=patient)
        appointments.append(book(admin_ada, patient, practitioner_paula, service, at(monday, hour)))
    loaded = list(Appointment.objects.select_related("patient").filter(pk__in=[a.pk for a in appointments]))
    # active conditions of every patient, their allergies, their current medications, their latest
    # vital signs (one windowed query)
    for subset in (loaded[:1], loaded):
        with django_assert_num_queries(4):
            summaries = visit_summaries(appointments=subset)
        assert set(summaries) == {a.pk for a in subset}
    assert visit_summaries(appointments=[]) == {}


# --- configuration -------------------------------------------------------------------------------


def test_front_desk_keeps_calendars_but_not_profiles(client, front_desk_fay, service):
    practitioner = PractitionerFactory(display_name="Dr New")
    practitioner.services.add(service)
    client.force_login(front_desk_fay)
    url = f"/admin/scheduling/practitioner/{practitioner.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="display_name"' not in page.content.decode()  # the profile is read-only for her
    data = {
        "weekly_hours-TOTAL_FORMS": "1",
        "weekly_hours-INITIAL_FORMS": "0",
        "weekly_hours-0-weekday": "2",
        "weekly_hours-0-start_time": "08:00",
        "weekly_hours-0-end_time": "12:00",
        "weekly_hours-0-virtual": "on",
        "exceptions-TOTAL_FORMS": "0",
        "exceptions-INITIAL_FORMS": "0",
        "display_name": "Renamed by the desk",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    practitioner.refresh_from_db()
    assert practitioner.display_name == "Dr New"
    assert list(practitioner.weekly_hours.values_list("weekday", "start_time")) == [(2, dt.time(8))]
    # bad hours are a form error, nothing saved
    data["weekly_hours-0-start_time"], data["weekly_hours-0-end_time"] = "13:00", "12:00"
    data["weekly_hours-0-weekday"] = "3"
    assert client.post(url, data).status_code == 200
    assert practitioner.weekly_hours.count() == 1
    # she cannot add practitioners, services or locations
    for model in ("practitioner", "service", "location"):
        assert client.get(f"/admin/scheduling/{model}/add/").status_code == 403


def test_provider_reads_practitioners_and_cannot_change_them(client, provider_paula, practitioner_paula):
    client.force_login(provider_paula)
    url = f"/admin/scheduling/practitioner/{practitioner_paula.pk}/change/"
    assert client.get(url).status_code == 200
    assert client.post(url, {"display_name": "x"}).status_code == 403


def test_administrator_sets_up_a_practitioner(client, admin_ada, service):
    location = LocationFactory(name="Lyon")
    user = UserFactory(is_staff=True)
    client.force_login(admin_ada)
    assert client.get("/admin/scheduling/practitioner/add/").status_code == 200
    data = {
        "user": user.pk,
        "display_name": "Dr Lyon",
        "specialty": "Cardiology",
        "languages": ["en", "it"],
        "time_zone": "Europe/Paris",
        "offers_virtual": "on",
        "services": [service.pk],
        "locations": [location.pk],
        "active": "on",
        "weekly_hours-TOTAL_FORMS": "0",
        "weekly_hours-INITIAL_FORMS": "0",
        "exceptions-TOTAL_FORMS": "0",
        "exceptions-INITIAL_FORMS": "0",
    }
    response = client.post("/admin/scheduling/practitioner/add/", data)
    assert response.status_code == 302, response.context and response.context["errors"]
    created = Practitioner.objects.get(display_name="Dr Lyon")
    assert created.languages == ["en", "it"] and list(created.locations.all()) == [location]
    data["languages"] = ["de"]
    data["user"] = UserFactory(is_staff=True).pk
    assert client.post("/admin/scheduling/practitioner/add/", data).status_code == 200


# --- the admin front page ------------------------------------------------------------------------


def test_index_links_the_queue_and_calendar_to_who_has_them(
    client, provider_paula, practitioner_paula, front_desk_fay, care_manager_alice, outreach_olga
):
    expected = {
        provider_paula: (True, True),
        front_desk_fay: (True, True),
        care_manager_alice: (False, True),
        outreach_olga: (False, False),
    }
    for user, (queue, calendar) in expected.items():
        client.force_login(user)
        page = client.get("/admin/").content.decode()
        assert (QUEUE in page, CALENDAR in page) == (queue, calendar), user


def test_paula_cannot_run_piets_visit_with_her_own_patient(
    client, provider_paula, front_desk_fay, paul, practitioner_piet, service, monday
):
    # Paula sees Paul's visit with Piet (Paul is on her care team) but it is not hers to run
    piets = book(front_desk_fay, paul, practitioner_piet, service, at(monday, 10))
    client.force_login(provider_paula)
    assert client.get(change_url(piets)).status_code == 200
    for action in ("fulfilled", "noshow", "start", "note"):
        assert client.post(action_url(piets, action), {f"note-{piets.pk}-text": "x"}).status_code == 404
    assert client.get(QUEUE, {"practitioner": practitioner_piet.pk, "day": monday.isoformat()}).status_code == 404
    piets.refresh_from_db()
    assert (piets.status, piets.started_at, piets.visit_note_id) == (AppointmentStatus.BOOKED, None, None)


def test_front_desk_marks_arrival_from_paulas_queue(client, front_desk_fay, practitioner_paula, visit, monday):
    client.force_login(front_desk_fay)
    response = client.post(f"/admin/scheduling/appointment/{visit.pk}/arrived/", {"return_to": "queue"})
    assert response.status_code == 302
    assert response["Location"] == f"{QUEUE}?day={monday.isoformat()}&practitioner={practitioner_paula.pk}"
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.ARRIVED


def test_history_is_shown_and_access_logged(client, front_desk_fay, visit):
    client.force_login(front_desk_fay)
    assert client.get(f"/admin/scheduling/appointment/{visit.pk}/history/").status_code == 200
    assert AccessLog.objects.get().resource == "appointment_history"
    version = visit.history.first()
    url = f"/admin/scheduling/appointment/{visit.pk}/history/{version.history_id}/"
    assert client.get(url).status_code == 200
    assert client.post(url, {"status": "cancelled"}).status_code == 403
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.BOOKED
