"""The staff side of a video visit in a real browser: the front desk books it from the calendar,
the provider runs it from her day (summary, video room, note, fulfilled), the care manager reviews
the note, and another provider is refused the visit's actions.

Nothing leaves the machine: every request that is not for the live server is refused, and the
video room's address is answered by a stand-in page, so opening it shows where it leads.
"""

import datetime as dt
import re

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from accounts.roles import Role
from consent.models import ConsentMethod, Purpose
from consent.services import consent_sign
from core.actors import SystemActor
from notifications.selectors import notifications_for_user, outbox_due_ids
from notifications.services import outbox_deliver
from patients.models import ClinicalNote
from scheduling.models import Appointment, AppointmentStatus, BookingChannel
from scheduling.services import appointment_intake_submit
from tests.browser.conftest import _new_page
from tests.conftest import _user
from tests.consent.conftest import virtual_visit_v1  # noqa: F401 - a fixture, re-exported
from tests.factories import ConditionFactory, LocationFactory, ObservationFactory, ServiceFactory, practitioner_with_week

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIDEO_BASE = settings.SALUS_VIDEO_BASE_URL.rstrip("/")


@pytest.fixture
def service(db):
    return ServiceFactory()


@pytest.fixture
def practitioner_paula(provider_paula, service):
    return practitioner_with_week(user=provider_paula, service=service, location=LocationFactory(), display_name="Dr Paula Test")


@pytest.fixture
def provider_piet(db):
    return _user("piet@salus.test", Role.PROVIDER, "Piet")


@pytest.fixture
def practitioner_piet(provider_piet, service):
    """Another provider, on nobody's care team."""
    return practitioner_with_week(user=provider_piet, service=service, display_name="Dr Piet Test")


@pytest.fixture
def monday(db) -> dt.date:
    """A Monday at least a week ahead: every time of its week is free."""
    today = timezone.localdate()
    return today + dt.timedelta(days=7 + (7 - today.weekday()) % 7)


@pytest.fixture
def person(browser, live_server):
    """A browser of its own for each person (their own cookies), kept off the internet."""
    contexts = []

    def open_page():
        context, page = _new_page(browser)
        contexts.append(context)

        def only_here(route):
            url = route.request.url
            if url.startswith(live_server.url):
                route.continue_()
            elif url.startswith(f"{VIDEO_BASE}/"):
                route.fulfill(status=200, content_type="text/html", body="<title>Video room</title><p>Video room</p>")
            else:
                route.abort()

        context.route("**/*", only_here)
        return page

    yield open_page
    for context in contexts:
        context.close()


def _deliver_outbox():
    """The worker's turn: deliver what the requests put in the outbox (in-app notifications)."""
    for item_id in outbox_due_ids():
        outbox_deliver(actor=SystemActor("outbox delivery"), item_id=item_id)


@pytest.mark.usefixtures("virtual_visit_v1")
def test_front_desk_books_provider_runs_the_visit_care_manager_reviews_the_note(
    person,
    live_server,
    sign_in,
    front_desk_fay,
    provider_paula,
    care_manager_alice,
    paul,
    patient_paul,
    petra,
    practitioner_paula,
    practitioner_piet,
    service,
    monday,
):
    # --- 1. The front desk books a video visit from Paula's calendar --------------------------
    # Given Fay at the admin's index
    fay = person()
    sign_in(fay, "fay@salus.test")
    expect(fay).to_have_url(f"{live_server.url}/admin/")
    # when she opens the practitioners' calendars and asks for Paula's Monday
    fay.locator("#scheduling-links").get_by_role("link", name="Practitioners' calendars").click()
    fay.get_by_label("Practitioner").select_option(label="Dr Paula Test")
    fay.get_by_label("Day").fill(monday.isoformat())
    fay.get_by_label("View").select_option(label="Day")
    fay.get_by_role("button", name="Show").click()
    expect(fay.get_by_role("heading", level=1)).to_have_text("Calendar of Dr Paula Test")
    # and clicks a free morning slot (mornings are by video)
    monday_column = fay.locator(f"#day-{monday.isoformat()}")
    monday_column.get_by_role("link", name="09:30 · free").click()

    # then the booking form comes prefilled with the slot; she picks Paul
    expect(fay.get_by_role("heading", level=1)).to_have_text("Book a visit")
    expect(fay.locator("#id_practitioner")).to_have_value(str(practitioner_paula.pk))
    expect(fay.locator("#id_service")).to_have_value(str(service.pk))
    expect(fay.locator("#id_start_1")).to_have_value(re.compile(r"^09:30"))
    expect(fay.get_by_label("By video")).to_be_checked()
    fay.locator(".field-patient .select2-selection").click()
    fay.locator(".select2-search__field").fill("Lef")
    fay.locator(".select2-results__option", has_text="MRN-PAUL").click()
    expect(fay.locator(".field-patient .select2-selection__rendered")).to_contain_text("MRN-PAUL")
    fay.get_by_label("Reason for the visit").fill("Cough for two weeks")
    fay.get_by_role("button", name="Book", exact=True).click()

    # and she sees the confirmation, then the visit in the appointment list
    expect(fay.locator(".messagelist .success")).to_contain_text("The visit is booked for")
    appointment = Appointment.objects.get(patient=paul)
    expect(fay).to_have_url(f"{live_server.url}/admin/scheduling/appointment/{appointment.pk}/change/")
    fay.locator(".breadcrumbs").get_by_role("link", name="Appointments").click()
    row = fay.locator("#result_list tbody tr", has_text="MRN-PAUL")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Dr Paula Test")
    expect(row).to_contain_text("By video")
    assert (appointment.practitioner, appointment.service, appointment.virtual) == (practitioner_paula, service, True)
    assert timezone.localtime(appointment.start).time() == dt.time(9, 30)
    assert timezone.localtime(appointment.start).date() == monday
    assert (appointment.booked_by, appointment.booked_via, appointment.reason) == (
        front_desk_fay,
        BookingChannel.ADMIN,
        "Cough for two weeks",
    )

    # --- 2. Paul's chart, intake and virtual-visit consent (through the services) -------------
    paul.birth_date = dt.date(monday.year - 61, 1, 1)  # 61 on the day of the visit
    paul.save()
    ConditionFactory(patient=paul, display="Hypertension", code="38341003")
    ObservationFactory(patient=paul, value_quantity=72, effective_at=timezone.now() - dt.timedelta(days=2))
    appointment_intake_submit(
        actor=front_desk_fay,
        appointment=appointment,
        contact_phone="+33 6 11 22 33 44",
        contact_email="paul@example.org",
        answers={"symptoms": "Dry cough at night", "medications": "Ramipril"},
    )
    consent_sign(
        actor=patient_paul, patient=paul, purpose=Purpose.VIRTUAL_VISIT, method=ConsentMethod.PORTAL, signer_name="Paul Lefèvre"
    )

    # --- 3. Paula runs the visit from her day --------------------------------------------------
    # Given Paula at the admin's index
    paula = person()
    sign_in(paula, "paula@salus.test")
    expect(paula).to_have_url(f"{live_server.url}/admin/")
    # when she opens her visits of the day and moves to Monday
    paula.locator("#scheduling-links").get_by_role("link", name="Visits of the day").click()
    expect(paula.get_by_role("heading", level=1)).to_have_text("Visits of Dr Paula Test")
    paula.get_by_label("Day").fill(monday.isoformat())
    paula.get_by_role("button", name="Show").click()

    # then she sees what she needs to know about Paul
    visit = paula.locator(f"#visit-{appointment.pk}")
    expect(visit.get_by_role("heading", level=2)).to_contain_text("Lefèvre Paul")
    summary = visit.locator(f"#summary-{appointment.pk}")
    expect(summary.locator(".age")).to_have_text("61 years old")
    expect(summary.locator(".conditions")).to_contain_text("Hypertension")
    expect(summary.locator(".vitals")).to_contain_text("Heart rate 72 /min")
    expect(summary.locator(".intake")).to_contain_text("Dry cough at night")
    expect(summary.locator(".intake")).to_contain_text("Ramipril")
    expect(visit).to_contain_text("Reason: Cough for two weeks")

    # when she starts the visit, the video room opens beside the queue
    with paula.expect_popup() as popup_info:
        visit.get_by_role("button", name="Start the visit (video)").click()
    room = popup_info.value
    expect(room).to_have_url(f"{VIDEO_BASE}/{appointment.video_room}")
    assert room.url.startswith(f"{VIDEO_BASE}/")
    room.close()
    appointment.refresh_from_db()
    assert appointment.started_at is not None and appointment.video_room

    # and once back on the queue she writes the note and marks the visit fulfilled
    paula.reload()
    expect(visit.get_by_role("button", name="Open the video room")).to_be_visible()
    expect(visit.locator(".status")).to_contain_text("started")
    visit.get_by_label("Visit note").fill("Seen by video. Dry cough, lungs clear on history. Review in two weeks.")
    visit.get_by_role("button", name="Save the note").click()
    expect(paula.locator(".messagelist .success")).to_contain_text("The note is saved")
    expect(visit.get_by_role("link", name="Visit note")).to_be_visible()
    visit.get_by_role("button", name="Mark fulfilled").click()
    expect(paula.locator(".messagelist .success")).to_contain_text("The visit is marked fulfilled.")
    expect(visit.locator(".status")).to_have_attribute("data-status", AppointmentStatus.FULFILLED)
    appointment.refresh_from_db()
    note = ClinicalNote.objects.get(patient=paul)
    assert appointment.status == AppointmentStatus.FULFILLED and appointment.visit_note == note
    assert note.author == provider_paula and note.reviewed_at is None

    # --- 4. Alice, Paul's care manager, reviews the note -----------------------------------------
    _deliver_outbox()
    unread = notifications_for_user(user=care_manager_alice, unread_only=True)
    assert unread.filter(title="New note to review", link=f"/admin/patients/clinicalnote/{note.pk}/change/").exists()
    count = unread.count()
    # Given Alice at the admin's index, with her unread notifications counted
    alice = person()
    sign_in(alice, "alice@salus.test")
    expect(alice).to_have_url(f"{live_server.url}/admin/")
    worklist = alice.locator("#salus-worklist")
    expect(worklist.get_by_role("link", name=re.compile(r"unread notification"))).to_have_text(
        f"{count} unread notification{'s' if count != 1 else ''}"
    )
    # when she follows them to the note's notification
    worklist.get_by_role("link", name=re.compile("unread notification")).click()
    alice.locator("#result_list tbody tr", has_text="New note to review").get_by_role("link").first.click()
    expect(alice.locator(".field-open_link a")).to_have_attribute("href", f"/admin/patients/clinicalnote/{note.pk}/change/")
    # and opens the notes waiting for her review, then the note itself
    alice.goto(f"{live_server.url}/admin/patients/clinicalnote/")
    alice.locator("#changelist-filter").get_by_role("link", name="Empty", exact=True).click()
    expect(alice).to_have_url(re.compile(r"reviewed_at__isempty=1"))
    notes = alice.locator("#result_list")
    expect(notes.locator("tbody tr")).to_have_count(1)
    notes.locator("tbody tr").first.locator("th a, td a").first.click()
    expect(alice).to_have_url(re.compile(rf"/admin/patients/clinicalnote/{note.pk}/change/"))
    expect(alice.locator(".field-text")).to_contain_text("Dry cough, lungs clear on history.")
    # then she marks it reviewed from the list
    alice.go_back()
    alice.locator(f"#result_list input.action-select[value='{note.pk}']").check()
    alice.locator("select[name=action]").select_option(label="Mark selected notes reviewed")
    alice.get_by_role("button", name="Go").click()
    expect(alice.locator(".messagelist .success")).to_contain_text("1 note(s) marked reviewed.")
    note.refresh_from_db()
    assert note.reviewed_by == care_manager_alice and note.reviewed_at is not None
    # and the notification she opened no longer counts as unread
    alice.goto(f"{live_server.url}/admin/")
    expect(alice.locator("#salus-worklist").get_by_role("link", name=re.compile(r"unread notification"))).to_have_text(
        re.compile(rf"^{count - 1} unread notifications?$")
    )

    # --- 5. Piet, another provider, is refused the visit ----------------------------------------
    piet = person()
    sign_in(piet, "piet@salus.test")
    expect(piet).to_have_url(f"{live_server.url}/admin/")
    csrf = next(c["value"] for c in piet.context.cookies() if c["name"] == settings.CSRF_COOKIE_NAME)
    for action in ("start", "note", "fulfilled", "noshow"):
        response = piet.request.post(
            f"{live_server.url}/admin/scheduling/appointment/queue/{appointment.pk}/{action}/",
            headers={"X-CSRFToken": csrf, "Referer": f"{live_server.url}/admin/"},
            form={f"note-{appointment.pk}-text": "Not my patient."},
            max_redirects=0,
        )
        assert response.status == 404, (action, response.status)
    # nor does he open Paula's day or the note
    response = piet.goto(f"{live_server.url}/admin/scheduling/appointment/queue/?practitioner={practitioner_paula.pk}")
    assert response.status == 404
    response = piet.goto(f"{live_server.url}/admin/patients/clinicalnote/{note.pk}/change/")
    assert response.status == 404
    expect(piet.locator("body")).not_to_contain_text("Dry cough")
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.FULFILLED
    assert ClinicalNote.objects.filter(patient=paul).count() == 1
