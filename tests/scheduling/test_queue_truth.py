"""The provider's "Start" on a visit that is over changes nothing and says why on the queue page
itself; the video Start's own tab never shows a second copy of the queue."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from consent.models import ConsentMethod, Purpose
from consent.services import consent_sign
from scheduling.models import Appointment, AppointmentStatus
from scheduling.services import appointment_start

from .conftest import at, book
from .test_admin import QUEUE, _last_weekday_before, action_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def over_visit(front_desk_fay, paul, practitioner_paula, service):
    """Paul's video visit with Paula on the last weekday, 09:00, long over and never started."""
    day = _last_weekday_before(timezone.localdate())
    return book(front_desk_fay, paul, practitioner_paula, service, at(day, 9), now=at(day, 8))


def test_start_of_a_visit_that_is_over_is_refused_and_changes_nothing(provider_paula, over_visit):
    with pytest.raises(ValidationError) as refused:
        appointment_start(actor=provider_paula, appointment=over_visit)
    assert "over" in " ".join(refused.value.messages)
    over_visit.refresh_from_db()
    assert over_visit.started_at is None and over_visit.status == AppointmentStatus.BOOKED


def test_queue_explains_instead_of_offering_start(client, provider_paula, over_visit):
    client.force_login(provider_paula)
    day = timezone.localtime(over_visit.start).date()
    response = client.get(QUEUE, {"day": day.isoformat()})
    row = response.context["rows"][0]
    assert not row["may_start"] and row["over"] and row["may_fulfil"] and row["may_no_show"]
    page = response.content.decode()
    assert f'id="over-{over_visit.pk}"' in page and "it can no longer be started" in page
    assert f'action="{action_url(over_visit, "start")}"' not in page


def test_a_stale_start_in_the_room_tab_explains_in_a_few_words(client, provider_paula, over_visit):
    client.force_login(provider_paula)
    response = client.post(action_url(over_visit, "start"), {"tab": "room"})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="room-why"' in page and "can no longer be started" in page
    assert 'class="visit"' not in page and "Visits of Dr" not in page  # not the queue again
    # from the same tab, back to the queue with the reason
    response = client.post(action_url(over_visit, "start"), follow=True)
    assert any("can no longer be started" in str(m) for m in response.context["messages"])
    over_visit.refresh_from_db()
    assert over_visit.started_at is None


def test_a_room_that_cannot_open_yet_is_explained_in_its_tab(
    client, provider_paula, front_desk_fay, paul, practitioner_paula, service, virtual_visit_v1
):
    now = timezone.now().replace(second=0, microsecond=0)
    # Given a video visit running now without consent or intake
    running = Appointment.objects.create(
        patient=paul,
        practitioner=practitioner_paula,
        service=service,
        start=now - dt.timedelta(minutes=5),
        end=now + dt.timedelta(minutes=25),
        virtual=True,
        video_room="salus-test-room",
        booked_by=front_desk_fay,
        booked_via="admin",
    )
    client.force_login(provider_paula)
    page = client.get(QUEUE).content.decode()
    assert f'action="{action_url(running, "start")}" target="_blank"><input type="hidden" name="csrfmiddlewaretoken"' in page
    assert 'name="tab" value="room"' in page
    response = client.post(action_url(running, "start"), {"tab": "room"})
    assert response.status_code == 200 and 'id="room-why"' in response.content.decode()
    assert "consent" in response.content.decode() and 'class="visit"' not in response.content.decode()


def test_a_ready_video_visit_still_opens_its_room(
    client, provider_paula, front_desk_fay, patient_paul, paul, practitioner_paula, service, monday, virtual_visit_v1
):
    visit = book(front_desk_fay, paul, practitioner_paula, service, at(monday, 9, 30))
    consent_sign(
        actor=patient_paul, patient=paul, purpose=Purpose.VIRTUAL_VISIT, method=ConsentMethod.PORTAL, signer_name=paul.full_name
    )
    Appointment.objects.filter(pk=visit.pk).update(intake_completed_at=timezone.now())
    client.force_login(provider_paula)
    response = client.post(action_url(visit, "start"), {"tab": "room"})
    assert response.status_code == 302 and response["Location"].endswith(visit.video_room)


def test_a_started_visit_that_is_over_says_its_room_is_closed(client, provider_paula, over_visit):
    Appointment.objects.filter(pk=over_visit.pk).update(started_at=over_visit.start)
    client.force_login(provider_paula)
    day = timezone.localtime(over_visit.start).date()
    page = client.get(QUEUE, {"day": day.isoformat()}).content.decode()
    assert "its video room is closed" in page and "can no longer be started" not in page
