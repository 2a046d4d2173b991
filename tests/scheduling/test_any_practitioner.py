"""A patient may book a service with any practitioner: every free time once, with whoever is free."""

import datetime as dt

import pytest

from scheduling.models import Appointment

from .conftest import at, book
from .test_views import _confirm_post, _english

pytestmark = pytest.mark.django_db


def _any_week(client, service, monday, **extra):
    week = monday if isinstance(monday, str) else monday.isoformat()
    return client.get(f"/portal/appointments/book/{service.pk}/", {"practitioner": "any", "week": week, **extra})


def test_practitioner_step_offers_any_practitioner(client, patient_paul, practitioner_paula, practitioner_piet, service):
    _english(client).force_login(patient_paul)
    response = client.get(f"/portal/appointments/book/{service.pk}/practitioners/")
    assert response.context["any_href"] == f"/portal/appointments/book/{service.pk}/?practitioner=any"
    assert 'id="practitioner-any"' in response.content.decode()


def test_any_practitioner_shows_each_time_once_with_whoever_is_free(
    client, front_desk_fay, patient_paul, paul, petra, practitioner_paula, practitioner_piet, service, monday
):
    # Given Paula is taken at 09:00 on Monday
    book(front_desk_fay, petra, practitioner_paula, service, at(monday, 9))
    _english(client).force_login(patient_paul)
    response = _any_week(client, service, monday)
    assert response.status_code == 200
    first_day = response.context["week"].days[0]
    starts = [c.slot.start for c in first_day["slots"]]
    assert len(starts) == len(set(starts))  # each time once
    by_start = {c.slot.start: c for c in first_day["slots"]}
    assert by_start[at(monday, 9)].practitioner == practitioner_piet  # Paula is taken then
    assert by_start[at(monday, 9, 30)].practitioner == practitioner_paula  # first by name
    page = response.content.decode()
    assert "Dr Piet Test" in page and "Dr Paula Test" in page
    # the time links to the confirmation with that practitioner; booking goes through the service
    choice = by_start[at(monday, 9)]
    assert f"practitioner={practitioner_piet.pk}" in choice.href
    assert client.get(choice.href).context["slot"].start == at(monday, 9)
    url, data = _confirm_post(service, practitioner_piet, at(monday, 9))
    client.post(url, data)
    assert Appointment.objects.get(patient=paul).practitioner == practitioner_piet


def test_any_practitioner_filters_by_kind_of_visit_and_holds_the_booking_window(
    client, patient_paul, practitioner_paula, practitioner_piet, service, monday
):
    _english(client).force_login(patient_paul)
    response = _any_week(client, service, monday, mode="in_person")
    slots = [c.slot for g in response.context["week"].days for c in g["slots"]]
    assert slots and all(s.in_person for s in slots)
    far = monday + dt.timedelta(days=400)
    response = _any_week(client, service, far)
    assert response.context["week"].monday < far  # held to the booking window, as for one practitioner
    assert _any_week(client, service, "garbage").status_code == 200


def test_any_practitioner_queries_do_not_grow_with_practitioners(
    client, patient_paul, practitioner_paula, practitioner_piet, service, clinic, monday, django_assert_max_num_queries
):
    from tests.factories import practitioner_with_week

    _english(client).force_login(patient_paul)
    _any_week(client, service, monday)
    with django_assert_max_num_queries(12) as captured:
        _any_week(client, service, monday)
    before = len(captured.captured_queries)
    for n in range(3):
        practitioner_with_week(service=service, location=clinic, display_name=f"Dr Extra {n}")
    with django_assert_max_num_queries(before):
        _any_week(client, service, monday)
