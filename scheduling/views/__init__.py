"""Portal pages where a patient books, reads, moves and cancels their visits, gives the intake
before a virtual visit and joins it (mounted at /portal/appointments/).

Booking runs service → practitioner → free time (a week at a time) → confirmation; every write
goes through the scheduling services, and their refusals (a time just taken, a late
cancellation) are shown beside the field with fresh times to choose from.

Every page about one appointment fetches it through `appointment_get_for_user` and then requires
that the asker is its patient: staff who may see the visit in the admin get 404 here, as does
any other patient. Query strings carry ids, a mode, a week and slot start times, never anything
personal.

`booking` holds the booking steps, `appointments` the pages about one's visits and `common` the
look-ups and free times both use.
"""

from .appointments import (
    PAST_PAGE_SIZE,
    appointment_cancel_page,
    appointment_consent,
    appointment_detail,
    appointment_ics_download,
    appointment_intake,
    appointment_list,
    appointment_reschedule_page,
    appointment_visit,
)
from .booking import book_confirm, book_practitioner, book_service, book_slot
from .common import FRESH_SLOTS, SlotChoice, Week, slot_value

__all__ = [
    "FRESH_SLOTS",
    "PAST_PAGE_SIZE",
    "SlotChoice",
    "Week",
    "appointment_cancel_page",
    "appointment_consent",
    "appointment_detail",
    "appointment_ics_download",
    "appointment_intake",
    "appointment_list",
    "appointment_reschedule_page",
    "appointment_visit",
    "book_confirm",
    "book_practitioner",
    "book_service",
    "book_slot",
    "slot_value",
]
