"""Portal booking pages: service → practitioner → free time → confirmation → intake → consent →
the visit page; moving, cancelling, the .ics download; only the patient of a visit sees its pages."""

import datetime as dt
from functools import partial

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from consent.models import Purpose
from consent.selectors import consent_is_active
from patients.models import Patient
from scheduling.models import Appointment, AppointmentStatus, Service
from scheduling.services import appointment_intake_submit
from tests.factories import ServiceFactory, practitioner_with_week

from .conftest import at, book

# Booked as from the portal.
_book = partial(book, channel="portal")

pytestmark = pytest.mark.django_db

BOOK = "/portal/appointments/book/"
LIST = "/portal/appointments/"


def _english(client):
    """Pages in English whatever the patient's own language (text assertions stay stable)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _utc(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


def _intake(user, appointment):
    return appointment_intake_submit(actor=user, appointment=appointment, contact_phone="+33 6 12 34 56 78", contact_email="")


def _sign_consent(client, url):
    """Post the consent form as the page shows it (hidden version and language), signed with the patient's name.
    `url` may be a visit's consent step, which leads to the sign page."""
    response = client.get(url)
    if response.status_code == 302:
        url = response["Location"]
        response = client.get(url)
    page = response.context
    form, name = page["form"], page["patient"].full_name
    return client.post(
        url, {"version": form["version"].value(), "language": form["language"].value(), "signer_name": name, "agree": "on"}
    )


def _confirm_url(service, practitioner, start, mode=None):
    query = f"?practitioner={practitioner.pk}&start={_utc(start).replace('+', '%2B')}"
    return f"/portal/appointments/book/{service.pk}/confirm/{query}" + (f"&mode={mode}" if mode else "")


def _confirm_post(service, practitioner, start, mode="virtual", reason="Cough for a week"):
    return (
        f"/portal/appointments/book/{service.pk}/confirm/",
        {"practitioner": practitioner.pk, "start": _utc(start), "mode": mode, "reason": reason},
    )


def _appointment_urls(appointment):
    pk = appointment.pk
    return {
        "appointment": f"/portal/appointments/{pk}/",
        "intake": f"/portal/appointments/{pk}/intake/",
        "reschedule": f"/portal/appointments/{pk}/reschedule/",
        "cancel": f"/portal/appointments/{pk}/cancel/",
        "ics": f"/portal/appointments/{pk}/invite.ics",
        "visit": f"/portal/appointments/{pk}/visit/",
    }


# --- the whole flow ---------------------------------------------------------------------------


def test_petra_books_a_video_visit_gives_the_intake_signs_the_consent_and_gets_the_link(
    client, patient_petra, petra, practitioner_paula, practitioner_piet, service, monday, virtual_visit_v1
):
    # Given Petra, in Italian, living in London (an hour behind the practitioners in Paris)
    Patient.objects.filter(pk=petra.pk).update(time_zone="Europe/London")
    client.force_login(patient_petra)

    # she picks the service
    response = client.get(BOOK)
    assert response.status_code == 200 and response.headers["Content-Language"] == "it"
    assert [s.pk for s in response.context["services"]] == [service.pk]
    assert reverse("scheduling:book_practitioner", args=[service.pk]) in response.content.decode()

    # then a practitioner, among those offering it by video, with specialty and languages shown
    response = client.get(reverse("scheduling:book_practitioner", args=[service.pk]), {"mode": "virtual"})
    rows = response.context["rows"]
    assert [r["practitioner"].display_name for r in rows] == ["Dr Paula Test", "Dr Piet Test"]
    assert rows[0]["languages"] == ["Inglese", "Francese"]
    page = response.content.decode()
    assert "Medicina generale" in page and rows[0]["href"] in page.replace("&amp;", "&")  # the specialty in Italian

    # then a free time: the page opens on the first week with free times; she goes to Monday's
    # week, where times are grouped by day in her time zone
    response = client.get(rows[0]["href"])
    assert response.status_code == 200 and response.context["week"].days
    while response.context["week"].monday < monday:
        response = client.get(rows[0]["href"].split("?")[0] + response.context["next_url"])
    week = response.context["week"]
    assert week.monday == monday
    first_day = week.days[0]
    assert first_day["day"] == monday
    # Paula's 09:00 in Paris is 08:00 in London
    assert [c.local.strftime("%H:%M") for c in first_day["slots"]][:2] == ["08:00", "08:30"]
    assert '<time datetime="' + _utc(at(monday, 9, 30)) + '">08:30</time>' in response.content.decode()

    # the confirmation page shows the chosen time; the morning is for video visits only
    slot = first_day["slots"][1]
    response = client.get(slot.href)
    assert response.status_code == 200
    assert response.context["slot"].start == at(monday, 9, 30)
    assert response.context["only_mode"] == "virtual"

    # booking
    url, data = _confirm_post(service, practitioner_paula, at(monday, 9, 30))
    response = client.post(url, data)
    appointment = Appointment.objects.get()
    assert (appointment.patient, appointment.practitioner, appointment.start) == (petra, practitioner_paula, at(monday, 9, 30))
    assert appointment.virtual and appointment.booked_via == "portal" and appointment.reason == "Cough for a week"
    assert response.status_code == 302 and response["Location"] == f"/portal/appointments/{appointment.pk}/intake/"

    # the intake, her contact details prefilled
    response = client.get(response["Location"])
    assert response.context["form"]["contact_email"].value() == "petra@example.org"
    response = client.post(
        f"/portal/appointments/{appointment.pk}/intake/",
        {
            "contact_phone": "+39 333 123 4567",
            "contact_email": "petra@example.org",
            "insurance_provider": "SSN",
            "insurance_member_id": "IT-42",
            "payment_reference": "PAY-2026-001",
            "symptoms": "Tosse",
            "since": "una settimana",
            "update_patient_record": "on",
        },
    )
    appointment.refresh_from_db()
    assert appointment.intake_complete and appointment.intake_answers == {"symptoms": "Tosse", "since": "una settimana"}
    petra.refresh_from_db()
    assert petra.phone == "+39 333 123 4567"  # "also update my record" was ticked

    # then the consent, which sends her back to the visit once signed
    sign_url = response["Location"]
    # (through the visit's consent step: no id in the sign page's address)
    assert sign_url == f"/portal/appointments/{appointment.pk}/consent/"
    response = _sign_consent(client, sign_url)
    assert response.status_code == 302 and response["Location"] == f"/portal/appointments/{appointment.pk}/"
    assert consent_is_active(patient=petra, purpose=Purpose.VIRTUAL_VISIT)

    # the appointment page confirms and links to the visit; the visit page has the room's link
    response = client.get(f"/portal/appointments/{appointment.pk}/")
    assert response.context["access"].url
    page = response.content.decode()
    assert f"/portal/appointments/{appointment.pk}/visit/" in page and f"/portal/appointments/{appointment.pk}/invite.ics" in page
    response = client.get(f"/portal/appointments/{appointment.pk}/visit/")
    assert f'href="https://meet.jit.si/{appointment.video_room}"' in response.content.decode()


def test_an_in_person_visit_is_confirmed_without_intake(client, patient_paul, paul, practitioner_paula, service, clinic, monday):
    _english(client)
    client.force_login(patient_paul)
    # the afternoon is at the clinic, video allowed too: the patient chooses
    response = client.get(_confirm_url(service, practitioner_paula, at(monday, 14)))
    assert response.context["only_mode"] == "" and response.context["location"] == clinic
    assert 'name="mode"' in response.content.decode()
    url, data = _confirm_post(service, practitioner_paula, at(monday, 14), mode="in_person", reason="")
    response = client.post(url, data)
    appointment = Appointment.objects.get()
    assert not appointment.virtual and appointment.location == clinic
    assert response["Location"] == f"/portal/appointments/{appointment.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert clinic.name in page and "Join the video visit" not in page


def test_the_practitioner_list_filters_by_kind_of_visit(client, patient_paul, service, practitioner_paula, provider_piet):
    video_only = practitioner_with_week(user=provider_piet, service=service, display_name="Dr Video", offers_in_person=False)
    client.force_login(patient_paul)
    url = reverse("scheduling:book_practitioner", args=[service.pk])
    names = lambda r: [row["practitioner"].pk for row in r.context["rows"]]  # noqa: E731
    assert names(client.get(url)) == [practitioner_paula.pk, video_only.pk]
    assert names(client.get(url, {"mode": "in_person"})) == [practitioner_paula.pk]
    assert names(client.get(url, {"mode": "virtual"})) == [practitioner_paula.pk, video_only.pk]
    assert names(client.get(url, {"mode": "teleport"})) == [practitioner_paula.pk, video_only.pk]


def test_week_navigation(client, patient_paul, practitioner_paula, service, monday):
    client.force_login(patient_paul)
    url = reverse("scheduling:book_slot", args=[service.pk])
    next_week = monday + dt.timedelta(days=7)
    response = client.get(url, {"practitioner": practitioner_paula.pk, "week": next_week.isoformat()})
    week = response.context["week"]
    assert week.monday == next_week and week.previous == monday and week.next == next_week + dt.timedelta(days=7)
    assert [g["day"] for g in week.days] == [next_week + dt.timedelta(days=i) for i in range(5)]
    # a Wednesday means its week; nonsense means the first week with free times
    assert (
        client.get(url, {"practitioner": practitioner_paula.pk, "week": (next_week + dt.timedelta(days=2)).isoformat()})
        .context["week"]
        .monday
        == next_week
    )
    assert client.get(url, {"practitioner": practitioner_paula.pk, "week": "soon"}).status_code == 200
    # weeks beyond the booking window are not offered
    far = client.get(url, {"practitioner": practitioner_paula.pk, "week": "2099-01-05"}).context["week"]
    assert far.next is None and far.monday <= timezone.localdate() + dt.timedelta(days=service.max_days_ahead)
    assert all(c.slot.start <= timezone.now() + dt.timedelta(days=service.max_days_ahead) for g in far.days for c in g["slots"])
    # the filter keeps to the kind of visit chosen: mornings are video only
    in_person = client.get(url, {"practitioner": practitioner_paula.pk, "week": monday.isoformat(), "mode": "in_person"})
    assert all(c.slot.in_person for g in in_person.context["week"].days for c in g["slots"])
    assert in_person.context["week"].days[0]["slots"][0].slot.start == at(monday, 14)


# --- refusals ---------------------------------------------------------------------------------


def test_a_time_taken_meanwhile_is_a_form_error_with_fresh_times(
    client, patient_paul, paul, patient_petra, petra, practitioner_paula, service, monday
):
    client.force_login(patient_paul)
    assert client.get(_confirm_url(service, practitioner_paula, at(monday, 9, 30))).context["slot"] is not None
    # Petra books the same time between Paul's listing and his posting
    _book(patient_petra, petra, practitioner_paula, service, at(monday, 9, 30))
    url, data = _confirm_post(service, practitioner_paula, at(monday, 9, 30))
    response = client.post(url, data)
    assert response.status_code == 200
    assert "start" in response.context["form"].errors
    page = response.content.decode()
    assert 'id="id_start_error"' in page
    offered = [c.slot.start for g in response.context["fresh"] for c in g["slots"]]
    assert offered and at(monday, 9, 30) not in offered and at(monday, 9) in offered
    # what Paul typed is kept, and the fresh times are choices of the same form
    assert "Cough for a week" in page and f'value="{_utc(at(monday, 10))}"' in page
    assert Appointment.objects.filter(patient=paul).count() == 0
    # picking one of them books it
    response = client.post(url, {**data, "start": _utc(at(monday, 10))})
    assert response.status_code == 302
    assert Appointment.objects.get(patient=paul).start == at(monday, 10)


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("practitioner", {"practitioner": "999999"}),
        ("practitioner", {"practitioner": "abc"}),
        ("practitioner", {"practitioner": str(2**70)}),
        ("practitioner", {"practitioner": ""}),
        ("start", {"start": "next tuesday"}),
        ("start", {"start": "2026-13-45T09:00:00+00:00"}),
        ("start", {"start": "naive"}),  # replaced below by the naive time
        ("start", {"start": "past"}),  # replaced below by a past time
        ("start", {"start": "offgrid"}),  # replaced below by 09:10
        ("start", {"start": "0001-01-01T00:00:00+14:00"}),
        ("start", {"start": ""}),
        ("start", {"start": "x" * 65}),
        ("mode", {"mode": "teleport"}),
        ("mode", {"mode": "in_person"}),  # the morning is for video visits only
        ("reason", {"reason": "x" * 501}),
    ],
)
def test_bad_booking_input_is_a_form_error_and_books_nothing(
    client, patient_paul, practitioner_paula, service, monday, field, change
):
    client.force_login(patient_paul)
    url, data = _confirm_post(service, practitioner_paula, at(monday, 9, 30))
    replacements = {
        "naive": "2026-12-07T09:30:00",
        "past": _utc(timezone.now() - dt.timedelta(days=2)),
        "offgrid": _utc(at(monday, 9, 10)),
    }
    if change.get("start") in replacements:
        change = {"start": replacements[change["start"]]}
    response = client.post(url, {**data, **change})
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not Appointment.objects.exists()


def test_unknown_ids_in_the_booking_pages_are_404(client, patient_paul, practitioner_paula, provider_piet, service, monday):
    other_service = ServiceFactory(code="physio", name_en="Physiotherapy")
    stranger = practitioner_with_week(user=provider_piet, service=other_service, display_name="Dr Other")
    client.force_login(patient_paul)
    for url in ("/portal/appointments/book/999999/", "/portal/appointments/book/999999/practitioners/"):
        assert client.get(url).status_code == 404
    url, data = _confirm_post(service, practitioner_paula, at(monday, 9, 30))
    assert client.post("/portal/appointments/book/999999/confirm/", data).status_code == 404
    slots = reverse("scheduling:book_slot", args=[service.pk])
    for value in ("999999", "abc", str(2**70), "-1", str(stranger.pk)):
        assert client.get(slots, {"practitioner": value}).status_code == 404, value
        assert client.get(url, {"practitioner": value, "start": _utc(at(monday, 9))}).status_code == 404, value
    # a service nobody books any more
    Service.objects.filter(pk=service.pk).update(active=False)
    assert client.get(slots, {"practitioner": practitioner_paula.pk}).status_code == 404
    assert client.post(url, data).status_code == 404
    assert not Appointment.objects.exists()


def test_a_confirmation_page_for_a_time_that_is_not_free_offers_others(client, patient_paul, practitioner_paula, service, monday):
    client.force_login(patient_paul)
    for start in ("garbage", _utc(at(monday, 9, 10)), "2026-12-07T09:30:00"):
        response = client.get(
            f"/portal/appointments/book/{service.pk}/confirm/", {"practitioner": practitioner_paula.pk, "start": start}
        )
        assert response.status_code == 200
        assert response.context["slot"] is None and response.context["start_errors"]
        assert response.context["fresh"] and 'id="id_start_error"' in response.content.decode()
    assert not Appointment.objects.exists()


def test_slot_page_without_a_practitioner_goes_to_the_practitioner_list(client, patient_paul, service):
    client.force_login(patient_paul)
    response = client.get(reverse("scheduling:book_slot", args=[service.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("scheduling:book_practitioner", args=[service.pk])


# --- intake and the video link ----------------------------------------------------------------


@pytest.mark.parametrize("field", ["payment_reference", "insurance_member_id"])
def test_intake_refuses_a_card_number(client, patient_paul, paul, practitioner_paula, service, monday, field):
    appointment = _book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    client.force_login(patient_paul)
    response = client.post(
        f"/portal/appointments/{appointment.pk}/intake/",
        {"contact_phone": "+33 6 12 34 56 78", "contact_email": "paul@example.org", field: "4111 1111 1111 1111"},
    )
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert f'id="id_{field}_error"' in response.content.decode()
    appointment.refresh_from_db()
    assert not appointment.intake_complete and appointment.payment_reference == ""


@pytest.mark.parametrize(
    ("field", "value"),
    [("contact_phone", "call me"), ("contact_email", "x@"), ("symptoms", "x" * 2001), ("insurance_provider", "x" * 201)],
)
def test_intake_bad_input_is_a_form_error(client, patient_paul, paul, practitioner_paula, service, monday, field, value):
    appointment = _book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    client.force_login(patient_paul)
    response = client.post(f"/portal/appointments/{appointment.pk}/intake/", {"contact_phone": "+33 6 12 34 56 78", field: value})
    assert response.status_code == 200 and field in response.context["form"].errors
    appointment.refresh_from_db()
    assert not appointment.intake_complete


def test_intake_needs_a_way_to_reach_the_patient(client, patient_paul, paul, practitioner_paula, service, monday):
    appointment = _book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    client.force_login(patient_paul)
    response = client.post(f"/portal/appointments/{appointment.pk}/intake/", {"contact_phone": "", "contact_email": ""})
    assert "contact_phone" in response.context["form"].errors
    appointment.refresh_from_db()
    assert not appointment.intake_complete


def test_the_link_is_withheld_until_intake_and_consent(
    client, patient_paul, paul, practitioner_paula, service, monday, virtual_visit_v1
):
    appointment = _book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    urls = _appointment_urls(appointment)
    _english(client)
    client.force_login(patient_paul)

    def state():
        visit = client.get(urls["visit"])
        detail = client.get(urls["appointment"])
        page = visit.content.decode() + detail.content.decode()
        return visit.context["access"], "meet.jit.si" in page or appointment.video_room in page, detail

    access, shown, detail = state()
    assert access.url is None and access.needs_intake and access.needs_consent and not shown
    assert urls["intake"] in detail.content.decode()
    assert (
        f"/portal/appointments/{appointment.pk}/consent/" in detail.content.decode() and "?next=" not in detail.content.decode()
    )

    _intake(patient_paul, appointment)
    access, shown, _ = state()
    assert access.url is None and not access.needs_intake and access.needs_consent and not shown

    _sign_consent(client, detail.context["consent_sign_url"])
    access, shown, detail = state()
    assert access.url and shown
    assert "Join the video visit" in detail.content.decode()


def test_consent_sign_only_returns_to_pages_of_this_site(client, patient_paul, paul, virtual_visit_v1):
    client.force_login(patient_paul)
    response = _sign_consent(client, "/portal/consents/sign/virtual_visit/?next=https://evil.example/phish")
    assert response.status_code == 302 and response["Location"] == "/portal/consents/"


def test_intake_after_a_cancellation_is_refused(client, patient_paul, paul, practitioner_paula, service, monday):
    appointment = _book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    Appointment.objects.filter(pk=appointment.pk).update(status=AppointmentStatus.CANCELLED)
    client.force_login(patient_paul)
    response = client.post(f"/portal/appointments/{appointment.pk}/intake/", {"contact_phone": "+33 6 12 34 56 78"})
    assert response.status_code == 302 and response["Location"] == f"/portal/appointments/{appointment.pk}/"
    appointment.refresh_from_db()
    assert not appointment.intake_complete


# --- moving and cancelling --------------------------------------------------------------------


def test_reschedule_moves_the_visit_to_a_new_free_time(client, patient_paul, paul, practitioner_paula, service, monday):
    appointment = _book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    client.force_login(patient_paul)
    url = f"/portal/appointments/{appointment.pk}/reschedule/"
    response = client.get(url, {"week": monday.isoformat()})
    assert response.status_code == 200 and response.context["practitioner"] == practitioner_paula
    offered = [c.slot.start for g in response.context["days"] for c in g["slots"]]
    # its own time is not offered as a move, the times next to it are
    assert at(monday, 9) not in offered and at(monday, 9, 30) in offered and at(monday, 10) in offered
    response = client.post(url, {"start": _utc(at(monday, 10)), "practitioner": practitioner_paula.pk})
    assert response.status_code == 302 and response["Location"] == f"/portal/appointments/{appointment.pk}/"
    appointment.refresh_from_db()
    assert appointment.start == at(monday, 10) and appointment.sequence == 1


def test_reschedule_to_another_practitioner(client, patient_paul, paul, practitioner_paula, practitioner_piet, service, monday):
    appointment = _book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    client.force_login(patient_paul)
    url = f"/portal/appointments/{appointment.pk}/reschedule/"
    assert client.get(url, {"practitioner": practitioner_piet.pk}).context["practitioner"] == practitioner_piet
    assert client.get(url, {"practitioner": "999999"}).status_code == 404
    client.post(url, {"start": _utc(at(monday, 11)), "practitioner": practitioner_piet.pk})
    appointment.refresh_from_db()
    assert (appointment.practitioner, appointment.start) == (practitioner_piet, at(monday, 11))


@pytest.mark.parametrize("start", ["taken", "offgrid", "garbage", "", "naive"])
def test_reschedule_refusals_are_form_errors(
    client, patient_paul, paul, patient_petra, petra, practitioner_paula, service, monday, start
):
    appointment = _book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    _book(patient_petra, petra, practitioner_paula, service, at(monday, 10))
    value = {
        "taken": _utc(at(monday, 10)),
        "offgrid": _utc(at(monday, 10, 10)),
        "naive": "2026-12-07T11:00:00",
    }.get(start, start)
    client.force_login(patient_paul)
    response = client.post(f"/portal/appointments/{appointment.pk}/reschedule/", {"start": value})
    assert response.status_code == 200 and "start" in response.context["form"].errors
    assert 'id="id_start_error"' in response.content.decode()
    assert response.context["days"]  # fresh times to pick from
    appointment.refresh_from_db()
    assert appointment.start == at(monday, 9) and appointment.sequence == 0


def test_cancel_with_a_reason(client, patient_paul, paul, practitioner_paula, service, monday):
    appointment = _book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    client.force_login(patient_paul)
    url = f"/portal/appointments/{appointment.pk}/cancel/"
    assert client.get(url).status_code == 200
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.BOOKED  # a GET changes nothing
    assert "reason" in client.post(url, {"reason": "x" * 301}).context["form"].errors
    response = client.post(url, {"reason": "Feeling better"})
    assert response.status_code == 302 and response["Location"] == LIST
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED and appointment.cancel_reason == "Feeling better"
    assert appointment.cancelled_by == patient_paul
    # the slot is free again
    response = client.get(_confirm_url(service, practitioner_paula, at(monday, 9)))
    assert response.context["slot"] is not None


def test_late_cancel_and_move_are_refused_with_the_clinics_phone(
    client, patient_paul, paul, practitioner_paula, service, clinic, monday
):
    appointment = _book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    # Given the visit is now only three hours away (less than the service's 24 hours of notice)
    soon = timezone.now().replace(microsecond=0) + dt.timedelta(hours=3)
    Appointment.objects.filter(pk=appointment.pk).update(start=soon, end=soon + dt.timedelta(minutes=30))
    clinic.phone = "+33 1 23 45 67 89"
    clinic.save()
    _english(client)
    client.force_login(patient_paul)

    page = client.get(f"/portal/appointments/{appointment.pk}/").content.decode()
    assert "+33 1 23 45 67 89" in page and f"/portal/appointments/{appointment.pk}/cancel/" not in page

    response = client.post(f"/portal/appointments/{appointment.pk}/cancel/", {"reason": ""})
    assert response.status_code == 200
    assert "can no longer be cancelled online" in " ".join(response.context["form"].non_field_errors())
    assert "+33 1 23 45 67 89" in response.content.decode()

    response = client.post(f"/portal/appointments/{appointment.pk}/reschedule/", {"start": _utc(at(monday, 10))})
    assert response.status_code == 200
    assert "can no longer be moved online" in " ".join(response.context["form"].errors["start"])
    assert "+33 1 23 45 67 89" in response.content.decode()

    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED and appointment.start == soon


def test_cancelling_twice_shows_there_is_nothing_to_cancel(client, patient_paul, paul, practitioner_paula, service, monday):
    appointment = _book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    client.force_login(patient_paul)
    client.post(f"/portal/appointments/{appointment.pk}/cancel/", {})
    response = client.get(f"/portal/appointments/{appointment.pk}/cancel/")
    assert response.status_code == 200 and response.context["booked"] is False
    response = client.post(f"/portal/appointments/{appointment.pk}/reschedule/", {"start": _utc(at(monday, 10))})
    assert response.status_code == 200 and response.context["form"].errors
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED and appointment.start == at(monday, 9)


# --- the calendar file ------------------------------------------------------------------------


def test_ics_download(client, patient_paul, paul, practitioner_paula, service, monday):
    appointment = _book(patient_paul, paul, practitioner_paula, service, at(monday, 9, 30), reason="Private reason")
    client.force_login(patient_paul)
    response = client.get(f"/portal/appointments/{appointment.pk}/invite.ics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar") and "method=REQUEST" in response["Content-Type"]
    assert response["Content-Disposition"] == f'attachment; filename="appointment-{appointment.pk}.ics"'
    assert "no-store" in response["Cache-Control"]
    text = response.content.decode()
    assert "METHOD:REQUEST" in text and "BEGIN:VEVENT" in text and f"UID:appointment-{appointment.pk}@" in text
    assert "DTSTART:" + at(monday, 9, 30).astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ") in text
    assert "Dr Paula Test" in text
    assert "Private reason" not in text and appointment.video_room not in text


# --- who may see what -------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client, patient_paul, paul, practitioner_paula, service, monday):
    appointment = _book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    urls = [LIST, BOOK, f"{BOOK}{service.pk}/", f"{BOOK}{service.pk}/practitioners/", f"{BOOK}{service.pk}/confirm/"]
    for url in [*urls, *_appointment_urls(appointment).values()]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url


@pytest.mark.parametrize(
    "user",
    [
        "admin_ada",
        "care_manager_alice",
        "care_manager_bob",
        "provider_paula",
        "front_desk_fay",
        "outreach_olga",
        "event_planner_evan",
        "patient_petra",
    ],
)
def test_every_other_role_and_the_other_patient_get_404_on_each_appointment_page(
    request, client, patient_paul, paul, practitioner_paula, service, monday, user
):
    appointment = _book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    client.force_login(request.getfixturevalue(user))
    urls = _appointment_urls(appointment)
    for name, url in urls.items():
        assert client.get(url).status_code == 404, (user, name)
    assert client.post(urls["cancel"], {"reason": "x"}).status_code == 404
    assert client.post(urls["reschedule"], {"start": _utc(at(monday, 10))}).status_code == 404
    assert client.post(urls["intake"], {"contact_phone": "+33 6 12 34 56 78"}).status_code == 404
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED and appointment.start == at(monday, 9)
    assert not appointment.intake_complete


def test_unknown_appointment_ids_are_404(client, patient_paul):
    client.force_login(patient_paul)
    for pk in (999999, 2**70):
        assert client.get(f"/portal/appointments/{pk}/").status_code == 404


def test_the_list_shows_only_ones_own_visits_upcoming_and_past(
    client, patient_paul, paul, patient_petra, petra, practitioner_paula, service, monday
):
    mine = _book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    cancelled = _book(patient_paul, paul, practitioner_paula, service, at(monday, 10))
    theirs = _book(patient_petra, petra, practitioner_paula, service, at(monday, 11))
    Appointment.objects.filter(pk=cancelled.pk).update(status=AppointmentStatus.CANCELLED)
    client.force_login(patient_paul)
    response = client.get(LIST)
    assert [a.pk for a in response.context["upcoming"]] == [mine.pk]
    assert [a.pk for a in response.context["past"]] == [cancelled.pk]
    page = response.content.decode()
    assert f"/portal/appointments/{mine.pk}/" in page and f"/portal/appointments/{theirs.pk}/" not in page


def test_staff_without_a_patient_record_get_404_on_the_booking_pages(client, front_desk_fay, service):
    client.force_login(front_desk_fay)
    for url in (LIST, BOOK, f"{BOOK}{service.pk}/practitioners/"):
        assert client.get(url).status_code == 404


def test_the_portal_links_to_appointments(client, patient_paul):
    client.force_login(patient_paul)
    page = client.get("/portal/").content.decode()
    assert 'href="/portal/appointments/"' in page and 'href="/portal/appointments/book/"' in page


# --- query budgets ----------------------------------------------------------------------------


def _book_many(patient_user, patient, practitioner, service, days):
    for day in days:
        for hour in (9, 10):
            _book(patient_user, patient, practitioner, service, at(day, hour))


def test_list_page_queries_do_not_grow_with_appointments(
    client, django_assert_num_queries, patient_paul, paul, practitioner_paula, service, monday
):
    client.force_login(patient_paul)
    _book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    # session, user, the patient's language (middleware), the patient, upcoming visits (with
    # practitioner, service, location), the count of past visits, the virtual-visit consent
    # (there is an upcoming video visit)
    with django_assert_num_queries(7):
        client.get(LIST)
    later = [monday + dt.timedelta(days=i) for i in (1, 2, 3, 7, 8)]
    _book_many(patient_paul, paul, practitioner_paula, service, later)
    Appointment.objects.filter(start__lt=at(monday + dt.timedelta(days=2), 0)).update(status=AppointmentStatus.CANCELLED)
    with django_assert_num_queries(8):  # the same, plus the page of past visits now that there are some
        response = client.get(LIST)
    assert len(response.context["upcoming"]) == 8 and len(response.context["past"]) == 3


def test_slot_page_queries_do_not_grow_with_appointments(
    client, django_assert_num_queries, patient_paul, paul, patient_petra, petra, practitioner_paula, service, monday
):
    client.force_login(patient_paul)
    url = reverse("scheduling:book_slot", args=[service.pk])
    query = {"practitioner": practitioner_paula.pk, "week": monday.isoformat()}
    # session, user, the patient's language (middleware), the patient, the service, the
    # practitioner, their locations (prefetched, also naming the in-person times); the slot
    # search: does the practitioner offer the service, weekly hours, exceptions, booked times
    with django_assert_num_queries(11):
        before = client.get(url, query)
    _book_many(patient_petra, petra, practitioner_paula, service, [monday + dt.timedelta(days=i) for i in range(5)])
    with django_assert_num_queries(11):
        after = client.get(url, query)
    count = lambda r: sum(len(g["slots"]) for g in r.context["week"].days)  # noqa: E731
    assert count(after) == count(before) - 10
