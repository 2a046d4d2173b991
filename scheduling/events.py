"""Domain events of the scheduling app, written to the outbox by its services (journeys and
analytics read them from there)."""

APPOINTMENT_BOOKED = "appointment.booked"
APPOINTMENT_RESCHEDULED = "appointment.rescheduled"
APPOINTMENT_CANCELLED = "appointment.cancelled"
APPOINTMENT_INTAKE_COMPLETED = "appointment.intake_completed"
APPOINTMENT_ARRIVED = "appointment.arrived"
APPOINTMENT_STARTED = "appointment.started"
APPOINTMENT_FULFILLED = "appointment.fulfilled"
APPOINTMENT_MISSED = "appointment.missed"
APPOINTMENT_NOTE_WRITTEN = "appointment.note_written"
