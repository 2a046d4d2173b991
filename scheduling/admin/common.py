"""Helpers shared by the scheduling admin pages: the user's time zone, and the access log."""

from __future__ import annotations

from functools import wraps

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from core.time import time_zone_of as zone_of  # the user's time zone, else the site's
from patients.models import AccessChannel
from patients.services import access_log_record, access_log_record_many
from scheduling.models import Practitioner
from scheduling.permissions import user_sees_all_appointments


def in_user_zone(view):
    """Run an admin view method with the signed-in user's time zone active: forms read the times
    typed in it and pages show times in it (Django's admin would otherwise use the site's)."""

    @wraps(view)
    def wrapper(self, request, *args, **kwargs):
        with timezone.override(zone_of(request.user)):
            return rendered(view(self, request, *args, **kwargs))

    return wrapper


def rendered(response):
    """Render a TemplateResponse now, inside the time zone the view activated: rendered later, by
    the handler, its times would be shown in the site's zone."""
    if hasattr(response, "render") and not getattr(response, "is_rendered", True):
        response.render()
    return response


def log_read(request, patient, resource: str) -> None:
    access_log_record(actor=request.user, patient=patient, resource=resource, channel=AccessChannel.ADMIN, request=request)


def log_reads(request, patients, resource: str) -> None:
    access_log_record_many(actor=request.user, patients=patients, resource=resource, channel=AccessChannel.ADMIN, request=request)


# --- who opens the calendar and the queue ---------------------------------------------------------


def own_practitioner(user) -> Practitioner | None:
    """The user's practitioner profile; the related-object cache keeps it (or its absence) for the
    request, which `appointments_for_user` reads too."""
    return getattr(user, "practitioner", None) if user.is_authenticated else None


def calendar_practitioners(user) -> QuerySet[Practitioner] | None:
    """Whose calendars a user may open: every practitioner's for those who book (front desk,
    administrators, care managers for their patients), their own for a provider, else none."""
    if not (user.is_authenticated and user.is_active):
        return None
    if user_sees_all_appointments(user) or user.has_perm("scheduling.add_appointment"):
        return Practitioner.objects.order_by("display_name", "pk")
    own = own_practitioner(user)
    return Practitioner.objects.filter(pk=own.pk) if own is not None else None


def queue_practitioners(user) -> QuerySet[Practitioner] | None:
    """Whose day a user may open: their own (a provider); any practitioner's for the front desk
    (arrivals, no clinical summary) and administrators (who stand in for an absent practitioner)."""
    if not (user.is_authenticated and user.is_active):
        return None
    if user_sees_all_appointments(user):
        return Practitioner.objects.order_by("display_name", "pk")
    own = own_practitioner(user)
    return Practitioner.objects.filter(pk=own.pk) if own is not None else None


def links_for(user) -> dict:
    """The calendar and queue links a user is offered (admin index, appointment list)."""
    links = {}
    if queue_practitioners(user) is not None:
        links["queue_url"] = reverse("admin:scheduling_queue")
    if calendar_practitioners(user) is not None:
        links["calendar_url"] = reverse("admin:scheduling_calendar")
    return links
