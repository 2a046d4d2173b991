"""Every write to appointments. The portal, the admin, the REST API and tasks call these.

`booking` books, moves and cancels (with the overlap locks and `BookingConflict`), `intake` takes
the details before a visit, `visits` runs the visit (arrival, start, outcome, note) and
`reminders` schedules and sends the reminders; `common` holds what each write shares.
"""

from .booking import BookingConflict, appointment_book, appointment_cancel, appointment_reschedule
from .intake import INTAKE_ANSWER_MAX, INTAKE_KEYS, appointment_intake_submit, looks_like_card_number
from .reminders import reminders_send_due
from .visits import appointment_note_write, appointment_start, appointment_status_set

__all__ = [
    "INTAKE_ANSWER_MAX",
    "INTAKE_KEYS",
    "BookingConflict",
    "appointment_book",
    "appointment_cancel",
    "appointment_intake_submit",
    "appointment_note_write",
    "appointment_reschedule",
    "appointment_start",
    "appointment_status_set",
    "looks_like_card_number",
    "reminders_send_due",
]
