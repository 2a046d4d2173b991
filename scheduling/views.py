"""Portal pages for booking and managing visits (being built)."""

from django.http import Http404


def _pending(*args, **kwargs):
    raise Http404("Not available yet.")


appointment_list = book_service = book_slot = book_confirm = appointment_detail = _pending
appointment_intake = appointment_reschedule = appointment_cancel = appointment_ics_download = appointment_visit = _pending
