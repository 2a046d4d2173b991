"""The staff side of scheduling in the Django admin.

- `config`: locations, services, practitioners with their weekly hours and exceptions.
- `appointments`: the appointment list, booking, moving, cancelling and arrivals (front desk).
- `calendar_page`: a practitioner's day or week, with free slots that open the booking form.
- `queue_page`: the provider's day with a summary per patient and the actions of the visit.
"""

from . import appointments, config  # noqa: F401 - registers the model admins
