"""Portal booking pages tell the patient the truth before and after they commit: a slot inside
the cancellation notice says it will be locked, the list names only what is still missing, a
cancelled or past visit says so, a refused move keeps its week, the consent step leads back to
the visit, the intake offers last visit's insurer, and the home page shows the next visit."""

import datetime as dt

import pytest
from django.utils import timezone

from scheduling.models import Appointment, AppointmentStatus
from scheduling.services import appointment_cancel, appointment_intake_submit

from .conftest import at, book
from .test_views import _confirm_url, _english, _sign_consent, _utc

pytestmark = pytest.mark.django_db


def _portal_book(patient_user, patient, practitioner, service, start, virtual=True):
    return book(patient_user, patient, practitioner, service, start, virtual, channel="portal")


def _slot_page(client, service, practitioner, monday):
    return client.get(f"/portal/appointments/book/{service.pk}/", {"practitioner": practitioner.pk, "week": monday.isoformat()})


def test_slots_inside_the_cancellation_notice_say_they_will_be_locked(client, patient_paul, practitioner_paula, service, monday):
    _english(client).force_login(patient_paul)
    # Given a notice longer than the time left before Monday's week: every slot of it is locked
    service.cancellation_notice_hours = 24 * 30
    service.save()
    response = _slot_page(client, service, practitioner_paula, monday)
    choices = [c for g in response.context["week"].days for c in g["slots"]]
    assert choices and all(c.locked for c in choices)
    page = response.content.decode()
    assert 'id="locked-note"' in page and "can no longer be moved or cancelled online" in page
    assert page.count('class="slot-lock" title=') == len(choices)

    # and with a notice of a few hours, none of them is
    service.cancellation_notice_hours = 2
    service.save()
    response = _slot_page(client, service, practitioner_paula, monday)
    assert not any(c.locked for g in response.context["week"].days for c in g["slots"])
    assert 'id="locked-note"' not in response.content.decode()


def test_confirmation_warns_before_booking_a_locked_slot(client, patient_paul, practitioner_paula, service, monday):
    _english(client).force_login(patient_paul)
    service.cancellation_notice_hours = 24 * 30
    service.save()
    page = client.get(_confirm_url(service, practitioner_paula, at(monday, 9))).content.decode()
    assert 'id="locked-warning"' in page and "only the clinic can move or cancel it" in page
    assert "You can move or cancel this visit online until" not in page

    service.cancellation_notice_hours = 24
    service.save()
    page = client.get(_confirm_url(service, practitioner_paula, at(monday, 9))).content.decode()
    assert 'id="locked-warning"' not in page and "You can move or cancel this visit online until 24 hours" in page


def test_list_names_only_what_is_still_missing(client, patient_paul, paul, practitioner_paula, service, monday, virtual_visit_v1):
    _english(client).force_login(patient_paul)
    appointment = _portal_book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    page = client.get("/portal/appointments/").content.decode()
    assert "complete the intake and sign the consent" in page
    # Given the consent is signed (and sends the patient back to the visit)
    step = client.get(f"/portal/appointments/{appointment.pk}/consent/")
    assert step.status_code == 302 and step["Location"] == "/portal/consents/sign/virtual_visit/"
    signed = _sign_consent(client, step["Location"])
    assert signed.status_code == 302 and signed["Location"] == f"/portal/appointments/{appointment.pk}/"
    page = client.get("/portal/appointments/").content.decode()
    assert "sign the consent" not in page and "Before the video visit: complete the intake." in page
    appointment_intake_submit(actor=patient_paul, appointment=appointment, contact_phone="+33 6 12 34 56 78", contact_email="")
    page = client.get("/portal/appointments/").content.decode()
    assert "Before the video visit" not in page


def test_consent_step_leads_back_to_the_visit(client, patient_paul, paul, practitioner_paula, service, monday, virtual_visit_v1):
    _english(client).force_login(patient_paul)
    appointment = _portal_book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    visit = f"/portal/appointments/{appointment.pk}/"
    # The visit's consent step links to the sign page without the visit's id in its address ...
    detail = client.get(visit).content.decode()
    assert f'href="/portal/appointments/{appointment.pk}/consent/"' in detail and "?next=" not in detail
    step = client.get(f"{visit}consent/")
    assert step["Location"] == "/portal/consents/sign/virtual_visit/"
    # ... and the sign page leads back to the visit
    page = client.get(step["Location"]).content.decode()
    assert f'<a href="{visit}" id="back-link">' in page and f'<a class="button secondary" href="{visit}">' in page
    # a query string is no way back, and another host never is
    session = client.session
    session.pop("consent.return_to", None)
    session.save()
    page = client.get("/portal/consents/sign/virtual_visit/?next=https://evil.example/").content.decode()
    assert '<a href="/portal/consents/" id="back-link">' in page and "evil.example" not in page.split("<main")[-1]
    page = client.get(f"/portal/consents/sign/virtual_visit/?next={visit}").content.decode()
    assert '<a href="/portal/consents/" id="back-link">' in page


def test_the_consent_step_of_someone_elses_visit_is_404(
    client, patient_petra, paul, patient_paul, practitioner_paula, service, monday, virtual_visit_v1
):
    appointment = _portal_book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    _english(client).force_login(patient_petra)
    assert client.get(f"/portal/appointments/{appointment.pk}/consent/").status_code == 404
    assert "consent.return_to" not in client.session


def test_cancelled_visit_does_not_say_the_link_is_coming(
    client, patient_paul, paul, practitioner_paula, service, monday, virtual_visit_v1
):
    _english(client).force_login(patient_paul)
    appointment = _portal_book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    appointment_cancel(actor=patient_paul, appointment=appointment)
    page = client.get(f"/portal/appointments/{appointment.pk}/visit/").content.decode()
    assert "not available yet" not in page
    assert "There is no video link for this visit" in page and "This visit is cancelled." in page


def test_visit_in_the_past_does_not_say_booked(client, patient_paul, paul, practitioner_paula, service, monday):
    _english(client).force_login(patient_paul)
    appointment = _portal_book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    past = timezone.now().replace(microsecond=0) - dt.timedelta(days=2)
    Appointment.objects.filter(pk=appointment.pk).update(start=past, end=past + dt.timedelta(minutes=30))
    page = client.get(f"/portal/appointments/{appointment.pk}/").content.decode()
    assert 'class="badge status-past">Past<' in page and ">Booked<" not in page
    page = client.get("/portal/appointments/").content.decode()
    assert 'class="badge status-past">Past<' in page and ">Booked<" not in page
    # a visit still to come says booked
    _portal_book(patient_paul, paul, practitioner_paula, service, at(monday, 10))
    assert ">Booked<" in client.get("/portal/appointments/").content.decode()


def test_refused_move_keeps_the_week_it_was_made_in(
    client, patient_paul, paul, patient_petra, petra, practitioner_paula, service, monday
):
    later = monday + dt.timedelta(days=14)
    appointment = _portal_book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    client.force_login(patient_paul)
    url = f"/portal/appointments/{appointment.pk}/reschedule/"
    response = client.get(url, {"week": later.isoformat()})
    assert response.context["week"].monday == later
    # Given someone takes the time Paul chose in that week before he posts
    book(patient_petra, petra, practitioner_paula, service, at(later, 10), channel="portal")
    response = client.post(url, {"start": _utc(at(later, 10)), "practitioner": practitioner_paula.pk, "week": later.isoformat()})
    assert response.status_code == 200 and "start" in response.context["form"].errors
    assert response.context["week"].monday == later  # the same week, not the first free one
    offered = [c.slot.start for g in response.context["days"] for c in g["slots"]]
    assert at(later, 10) not in offered and at(later, 10, 30) in offered
    assert f'name="week" value="{later.isoformat()}"' in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.start == at(monday, 9)


def test_refused_move_without_a_week_stays_in_the_week_of_the_chosen_time(
    client, patient_paul, paul, patient_petra, petra, practitioner_paula, service, monday
):
    later = monday + dt.timedelta(days=21)
    appointment = _portal_book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    book(patient_petra, petra, practitioner_paula, service, at(later, 10), channel="portal")
    client.force_login(patient_paul)
    response = client.post(f"/portal/appointments/{appointment.pk}/reschedule/", {"start": _utc(at(later, 10))})
    assert response.context["week"].monday == later


def test_intake_offers_the_insurer_of_the_last_visit(client, patient_paul, paul, practitioner_paula, service, monday):
    first = _portal_book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    appointment_intake_submit(
        actor=patient_paul,
        appointment=first,
        contact_phone="+33 6 12 34 56 78",
        contact_email="",
        insurance_provider="MGEN",
        insurance_member_id="FR-1234",
        payment_reference="PAY-1",
    )
    second = _portal_book(patient_paul, paul, practitioner_paula, service, at(monday + dt.timedelta(days=1), 9))
    client.force_login(patient_paul)
    form = client.get(f"/portal/appointments/{second.pk}/intake/").context["form"]
    assert form["insurance_provider"].value() == "MGEN" and form["insurance_member_id"].value() == "FR-1234"
    assert not form["payment_reference"].value()  # a payment is for one visit
    # nothing is saved until the patient confirms
    second.refresh_from_db()
    assert second.insurance_provider == "" and second.intake_completed_at is None


def test_intake_offers_nothing_from_another_patient(
    client, patient_paul, paul, patient_petra, petra, practitioner_paula, service, monday
):
    theirs = _portal_book(patient_petra, petra, practitioner_paula, service, at(monday, 9))
    appointment_intake_submit(
        actor=patient_petra, appointment=theirs, contact_phone="+39 333 1", contact_email="", insurance_provider="SSN"
    )
    mine = _portal_book(patient_paul, paul, practitioner_paula, service, at(monday, 10))
    client.force_login(patient_paul)
    form = client.get(f"/portal/appointments/{mine.pk}/intake/").context["form"]
    assert not form["insurance_provider"].value()


def test_home_shows_the_next_visit(client, patient_paul, paul, patient_petra, petra, practitioner_paula, service, monday):
    _english(client).force_login(patient_paul)
    assert "You have no upcoming visit." in client.get("/portal/").content.decode()
    later = _portal_book(patient_paul, paul, practitioner_paula, service, at(monday, 11))
    sooner = _portal_book(patient_paul, paul, practitioner_paula, service, at(monday, 9))
    _portal_book(patient_petra, petra, practitioner_paula, service, at(monday, 10))  # someone else's
    cancelled = _portal_book(patient_paul, paul, practitioner_paula, service, at(monday, 10, 30))
    appointment_cancel(actor=patient_paul, appointment=cancelled)
    response = client.get("/portal/")
    assert response.context["next_visit"] == sooner
    page = response.content.decode()
    assert f'href="/portal/appointments/{sooner.pk}/"' in page and f"/portal/appointments/{later.pk}/" not in page
    assert sooner.status == AppointmentStatus.BOOKED
