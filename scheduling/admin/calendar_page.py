"""A practitioner's calendar, a day or a week: their hours, free slots and booked visits, in the
practitioner's time zone.

Free slots come from `availability.slots_free` without the patients' booking window (the front
desk books any free time); each links to the booking form prefilled. Visits come from
`appointments_for_user`, so a care manager sees their own patients' visits and a free time where
the others are. The page runs the same queries for an empty week and a full one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from scheduling.availability import Slot, slots_free
from scheduling.models import Appointment, AppointmentStatus, AvailabilityException, ExceptionKind, Practitioner, WeeklyHours
from scheduling.permissions import user_sees_all_appointments
from scheduling.selectors import appointments_for_user, day_bounds

from .common import calendar_practitioners, own_practitioner, rendered
from .forms import MODE_IN_PERSON, MODE_VIRTUAL, CalendarForm

WEEK_VIEW, DAY_VIEW, ALL_VIEW = "week", "day", "all"


@dataclass
class CalendarItem:
    kind: str  # "slot" or "appointment"
    start: dt.datetime  # aware, UTC
    end: dt.datetime
    url: str = ""
    slot: Slot | None = None
    appointment: Appointment | None = None


@dataclass
class CalendarDay:
    date: dt.date
    is_today: bool
    url: str = ""
    hours: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    items: list[CalendarItem] = field(default_factory=list)

    @property
    def slots(self) -> list[Slot]:
        return [i.slot for i in self.items if i.kind == "slot"]

    @property
    def appointments(self) -> list[Appointment]:
        return [i.appointment for i in self.items if i.kind == "appointment"]


def _hours_label(h: WeeklyHours) -> str:
    if h.location_id is None:
        where = gettext("video only")
    elif h.virtual:
        where = gettext("%(place)s, or by video") % {"place": h.location.name}
    else:
        where = h.location.name
    return f"{h.start_time:%H:%M}–{h.end_time:%H:%M} · {where}"


def _exception_label(e: AvailabilityException, zone: ZoneInfo) -> str:
    start, end = e.start.astimezone(zone), e.end.astimezone(zone)
    same_day = start.date() == end.date()
    span = f"{start:%H:%M}–{end:%H:%M}" if same_day else f"{start:%d/%m %H:%M} – {end:%d/%m %H:%M}"
    kind = gettext("Extra hours") if e.kind == ExceptionKind.EXTRA else gettext("Time off")
    return f"{kind} {span}" + (f" ({e.reason})" if e.reason else "")


def _book_url(practitioner: Practitioner, service, slot: Slot) -> str:
    params = {"practitioner": practitioner.pk, "service": service.pk, "start": slot.start.isoformat()}
    if slot.virtual and not slot.in_person:
        params["virtual"] = MODE_VIRTUAL
    elif slot.in_person and not slot.virtual:
        params["virtual"] = MODE_IN_PERSON
    if slot.in_person and slot.location_id:
        params["location"] = slot.location_id
    return f"{reverse('admin:scheduling_appointment_add')}?{urlencode(params)}"


def calendar_url(*, practitioner_id: int, day: dt.date, view: str, service_id: int | None = None) -> str:
    params = {"practitioner": practitioner_id, "day": day.isoformat(), "view": view}
    if service_id:
        params["service"] = service_id
    return f"{reverse('admin:scheduling_calendar')}?{urlencode(params)}"


def _days(*, user, practitioner: Practitioner, service, first: dt.date, last: dt.date, may_book: bool) -> list[CalendarDay]:
    zone = ZoneInfo(practitioner.time_zone)
    start, _ = day_bounds(first, practitioner.time_zone)
    _, end = day_bounds(last, practitioner.time_zone)
    today = timezone.now().astimezone(zone).date()
    days = {}
    day = first
    while day <= last:
        days[day] = CalendarDay(date=day, is_today=day == today)
        day += dt.timedelta(days=1)

    # The weekly hours are prefetched: slots_free reads the same list.
    for h in practitioner.weekly_hours.all():
        for d, cal in days.items():
            if h.weekday == d.weekday() and not (h.valid_from and d < h.valid_from) and not (h.valid_until and d > h.valid_until):
                cal.hours.append(_hours_label(h))
    exceptions = AvailabilityException.objects.filter(practitioner=practitioner, start__lt=end, end__gt=start).select_related(
        "location"
    )
    for e in exceptions:
        for d, cal in days.items():
            d_start, d_end = day_bounds(d, practitioner.time_zone)
            if e.start < d_end and e.end > d_start:
                cal.exceptions.append(_exception_label(e, zone))

    if service is not None:
        for slot in slots_free(practitioner=practitioner, service=service, start=start, end=end, enforce_booking_window=False):
            cal = days.get(slot.start.astimezone(zone).date())
            if cal is not None:
                url = _book_url(practitioner, service, slot) if may_book else ""
                cal.items.append(CalendarItem(kind="slot", start=slot.start, end=slot.end, url=url, slot=slot))
    visits = (
        appointments_for_user(user=user)
        .filter(practitioner=practitioner, start__gte=start, start__lt=end)
        .exclude(status=AppointmentStatus.CANCELLED)
        .order_by("start", "id")
    )
    for appointment in visits:
        cal = days.get(appointment.start.astimezone(zone).date())
        if cal is not None:
            url = reverse("admin:scheduling_appointment_change", args=[appointment.pk])
            cal.items.append(
                CalendarItem(kind="appointment", start=appointment.start, end=appointment.end, url=url, appointment=appointment)
            )
    for cal in days.values():
        cal.items.sort(key=lambda i: (i.start, i.kind))
    return list(days.values())


def _all_practitioners_day(request, model_admin, *, form, practitioners, context):
    """One day across every practitioner the user may open, a column each: the front desk's view
    of the clinic. Each column shows the chosen service where the practitioner offers it, else
    the first they offer; times are in each practitioner's time zone."""
    user = request.user
    rows = list(
        practitioners.filter(active=True)
        .prefetch_related("weekly_hours__location", "services")
        .select_related("user")
        .order_by("display_name", "pk")
    )
    chosen = form.cleaned_data.get("service")
    day = form.cleaned_data.get("day") or timezone.localdate()
    may_book = user.has_perm("scheduling.add_appointment")
    columns = []
    for practitioner in rows:
        offered = sorted((s for s in practitioner.services.all() if s.active), key=lambda s: (s.name_en, s.pk))
        service = chosen if chosen in offered else (offered[0] if offered else None)
        (cal,) = _days(user=user, practitioner=practitioner, service=service, first=day, last=day, may_book=may_book)
        cal.url = calendar_url(
            practitioner_id=practitioner.pk, day=day, view=DAY_VIEW, service_id=service.pk if service else None
        )
        columns.append({"practitioner": practitioner, "service": service, "day": cal, "tz": ZoneInfo(practitioner.time_zone)})

    def all_url(on: dt.date) -> str:
        params = {"view": ALL_VIEW, "day": on.isoformat(), **({"service": chosen.pk} if chosen else {})}
        return f"{reverse('admin:scheduling_calendar')}?{urlencode(params)}"

    context |= {
        "title": gettext("All practitioners, %(day)s") % {"day": day.isoformat()},
        "view": ALL_VIEW,
        "day": day,
        "columns": columns,
        "may_book": may_book,
        "prev_url": all_url(day - dt.timedelta(days=1)),
        "next_url": all_url(day + dt.timedelta(days=1)),
        "today_url": all_url(timezone.localdate()),
    }
    return rendered(TemplateResponse(request, "scheduling/admin_calendar.html", context))


def calendar_view(request, model_admin):
    user = request.user
    practitioners = calendar_practitioners(user)
    if practitioners is None:
        raise Http404("No calendar.")
    data = request.GET.copy()
    own = own_practitioner(user)
    if data.get("view") == ALL_VIEW:
        form = CalendarForm(data, practitioners=practitioners)
        context = {**model_admin.admin_site.each_context(request), "opts": model_admin.opts, "form": form}
        if not form.is_valid():
            return rendered(TemplateResponse(request, "scheduling/admin_calendar.html", context, status=400))
        return _all_practitioners_day(request, model_admin, form=form, practitioners=practitioners, context=context)
    if not data.get("practitioner") and own is not None:
        data["practitioner"] = str(own.pk)
    if not data.get("view"):
        data["view"] = WEEK_VIEW
    form = CalendarForm(data, practitioners=practitioners)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": _("Calendar"),
        "form": form,
    }
    if not data.get("practitioner"):
        # Nobody chosen yet: the page offers the list.
        form = CalendarForm(initial={"view": WEEK_VIEW}, practitioners=practitioners)
        context |= {"form": form, "choose": True}
        return rendered(TemplateResponse(request, "scheduling/admin_calendar.html", context))
    if not form.is_valid():
        if "practitioner" in form.errors:
            raise Http404("No such practitioner.")  # one the user may not open, or none at all
        return rendered(TemplateResponse(request, "scheduling/admin_calendar.html", context, status=400))

    practitioner = form.cleaned_data["practitioner"]
    practitioner = (
        Practitioner.objects.filter(pk=practitioner.pk).prefetch_related("weekly_hours__location").select_related("user").get()
    )
    offered = list(practitioner.services.filter(active=True).order_by("name_en", "pk"))
    service = form.cleaned_data.get("service") or (offered[0] if offered else None)
    if service is not None and service not in offered:
        form.add_error("service", gettext("%(name)s does not offer this service.") % {"name": practitioner.display_name})
        return rendered(TemplateResponse(request, "scheduling/admin_calendar.html", context, status=400))

    if service is not None:
        data["service"] = str(service.pk)  # the select shows the service the slots are for
    zone = ZoneInfo(practitioner.time_zone)
    view = form.cleaned_data.get("view") or WEEK_VIEW
    day = form.cleaned_data.get("day") or timezone.now().astimezone(zone).date()
    if view == WEEK_VIEW:
        first, last, step = day - dt.timedelta(days=day.weekday()), day - dt.timedelta(days=day.weekday() - 6), 7
    else:
        first, last, step = day, day, 1
    may_book = user.has_perm("scheduling.add_appointment")
    days = _days(user=user, practitioner=practitioner, service=service, first=first, last=last, may_book=may_book)
    service_id = service.pk if service else None
    context |= {
        "title": gettext("Calendar of %(name)s") % {"name": practitioner.display_name},
        "practitioner": practitioner,
        "service": service,
        "services": offered,
        "tz": zone,
        "view": view,
        "day": day,
        "first": first,
        "last": last,
        "days": days,
        "may_book": may_book,
        "prev_url": calendar_url(
            practitioner_id=practitioner.pk, day=day - dt.timedelta(days=step), view=view, service_id=service_id
        ),
        "next_url": calendar_url(
            practitioner_id=practitioner.pk, day=day + dt.timedelta(days=step), view=view, service_id=service_id
        ),
        "today_url": calendar_url(
            practitioner_id=practitioner.pk, day=timezone.now().astimezone(zone).date(), view=view, service_id=service_id
        ),
        "day_url": calendar_url(practitioner_id=practitioner.pk, day=day, view=DAY_VIEW, service_id=service_id),
        "week_url": calendar_url(practitioner_id=practitioner.pk, day=day, view=WEEK_VIEW, service_id=service_id),
    }
    if user_sees_all_appointments(user) or (own is not None and own.pk == practitioner.pk):
        context["queue_url"] = f"{reverse('admin:scheduling_queue')}?{urlencode({'practitioner': practitioner.pk, 'day': day})}"
    for cal in days:
        cal.url = calendar_url(practitioner_id=practitioner.pk, day=cal.date, view=DAY_VIEW, service_id=service_id)
    return rendered(TemplateResponse(request, "scheduling/admin_calendar.html", context))
