"""A slot listed for a day can be booked: the slot grid does not depend on the range asked for."""

import datetime as dt

from scheduling.availability import slot_find, slots_free
from tests.factories import ServiceFactory

from .conftest import at, book


def test_a_slot_shifted_by_a_shorter_visit_is_listed_and_bookable(
    front_desk_fay, paul, petra, practitioner_paula, service, monday
):
    # Given Paula's video morning (09:00-12:00) with a 15-minute follow-up booked at 10:30
    follow_up = ServiceFactory(code="follow-up", name_en="Follow-up", duration_minutes=15, in_person_allowed=False)
    practitioner_paula.services.add(follow_up)
    book(front_desk_fay, petra, practitioner_paula, follow_up, at(monday, 10, 30))

    # When the day's 30-minute slots are listed
    day = slots_free(
        practitioner=practitioner_paula,
        service=service,
        start=at(monday, 0),
        end=at(monday + dt.timedelta(days=1), 0),
        virtual=True,
    )

    # Then the rest of the morning starts after the follow-up, on its own grid
    morning = [s.start for s in day if s.start < at(monday, 12)]
    assert morning == [at(monday, h, m) for h, m in ((9, 0), (9, 30), (10, 0), (10, 45), (11, 15))]
    # And every listed slot is found again when it is asked for alone, and can be booked
    for slot in day:
        assert slot_find(practitioner=practitioner_paula, service=service, start=slot.start, virtual=True) == slot
    booked = book(front_desk_fay, paul, practitioner_paula, service, at(monday, 11, 15))
    assert booked.end == at(monday, 11, 45)
