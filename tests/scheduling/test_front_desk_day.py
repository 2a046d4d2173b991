"""The front desk sees a day across all practitioners, a week fits one row, and the booking form
preselects the kind of visit when the free slot allows only one."""

import pytest

from .conftest import at, book
from .test_admin import ADD, UTC

pytestmark = pytest.mark.django_db

CALENDAR = "/admin/scheduling/appointment/calendar/"


def test_front_desk_sees_a_day_of_all_practitioners(
    client, front_desk_fay, paul, petra, practitioner_paula, practitioner_piet, service, monday
):
    paulas = book(front_desk_fay, paul, practitioner_paula, service, at(monday, 9, 30))
    piets = book(front_desk_fay, petra, practitioner_piet, service, at(monday, 14), virtual=False)
    client.force_login(front_desk_fay)
    response = client.get(CALENDAR, {"view": "all", "day": monday.isoformat()})
    assert response.status_code == 200
    columns = response.context["columns"]
    assert [c["practitioner"] for c in columns] == [practitioner_paula, practitioner_piet]
    assert [a.pk for a in columns[0]["day"].appointments] == [paulas.pk]
    assert [a.pk for a in columns[1]["day"].appointments] == [piets.pk]
    assert columns[0]["day"].slots and columns[1]["day"].slots  # free times beside the visits
    page = response.content.decode()
    assert 'id="cal-all-practitioners"' in page
    assert f'data-appointment="{paulas.pk}"' in page and f'data-appointment="{piets.pk}"' in page
    assert "09:30" in page  # in the practitioners' time zone (Paris)
    # and each practitioner's calendar links to it
    single = client.get(CALENDAR, {"practitioner": practitioner_paula.pk, "day": monday.isoformat()}).content.decode()
    assert f'href="{CALENDAR}?view=all&amp;day={monday.isoformat()}" id="cal-all"' in single


def test_day_of_all_practitioners_queries_do_not_grow_with_visits(
    client, front_desk_fay, paul, petra, practitioner_paula, practitioner_piet, service, monday, django_assert_max_num_queries
):
    client.force_login(front_desk_fay)
    client.get(CALENDAR, {"view": "all", "day": monday.isoformat()})
    for hour in (9, 10, 11):
        book(front_desk_fay, paul, practitioner_paula, service, at(monday, hour))
    book(front_desk_fay, petra, practitioner_piet, service, at(monday, 14), virtual=False)
    # session, user, permissions, practitioners (+ hours, services), then per practitioner its
    # exceptions, appointments that hold time, its time off and the visits shown: a bound that
    # grows with the practitioners, never with the visits
    with django_assert_max_num_queries(30):
        assert client.get(CALENDAR, {"view": "all", "day": monday.isoformat()}).status_code == 200


def test_day_of_all_practitioners_bad_input_is_a_field_error(client, front_desk_fay, practitioner_paula):
    client.force_login(front_desk_fay)
    response = client.get(CALENDAR, {"view": "all", "day": "31/02/2026"})
    assert response.status_code == 400 and "day" in response.context["form"].errors
    response = client.get(CALENDAR, {"view": "all", "service": "999999"})
    assert response.status_code == 400 and "service" in response.context["form"].errors


def test_a_provider_sees_only_her_own_column(client, provider_paula, practitioner_paula, practitioner_piet, monday):
    client.force_login(provider_paula)
    response = client.get(CALENDAR, {"view": "all", "day": monday.isoformat()})
    assert [c["practitioner"] for c in response.context["columns"]] == [practitioner_paula]


@pytest.mark.parametrize("who", ["outreach_olga", "patient_paul"])
def test_others_do_not_open_the_day_of_all_practitioners(client, request, who, practitioner_paula, monday):
    client.force_login(request.getfixturevalue(who))
    response = client.get(CALENDAR, {"view": "all", "day": monday.isoformat()})
    assert response.status_code in (403, 404)  # not a staff account; no calendar for outreach
    assert "columns" not in (response.context or {})


def test_week_is_one_row(client, front_desk_fay, practitioner_paula, monday):
    client.force_login(front_desk_fay)
    page = client.get(CALENDAR, {"practitioner": practitioner_paula.pk, "day": monday.isoformat()}).content.decode()
    assert 'class="cal-days week-view"' in page
    assert ".cal-days.week-view { grid-template-columns: repeat(7," in page


def test_booking_form_preselects_the_only_kind_of_visit_the_slot_allows(
    client, front_desk_fay, practitioner_paula, service, monday
):
    client.force_login(front_desk_fay)
    base = {"practitioner": practitioner_paula.pk, "service": service.pk}
    # Paula's mornings are video only
    morning = client.get(ADD, {**base, "start": at(monday, 9, 30).astimezone(UTC).isoformat()})
    assert morning.context["form"].initial["virtual"] == "video"
    assert 'value="video" required id="id_virtual_0" checked' in morning.content.decode()
    # her afternoons at the clinic allow both: the front desk chooses
    afternoon = client.get(ADD, {**base, "start": at(monday, 14).astimezone(UTC).isoformat()})
    assert "virtual" not in afternoon.context["form"].initial
    # an in-person-only service at the clinic preselects in person
    service.virtual_allowed = False
    service.save()
    afternoon = client.get(ADD, {**base, "start": at(monday, 14).astimezone(UTC).isoformat()})
    assert afternoon.context["form"].initial["virtual"] == "in_person"
    # a time nobody offers preselects nothing
    off = client.get(ADD, {**base, "start": at(monday, 20).astimezone(UTC).isoformat()})
    assert "virtual" not in off.context["form"].initial
