"""The provider's day: today's (or another day's) visits of the signed-in practitioner, each with
what they need to know about the patient, and the actions of the visit.

A provider opens only their own day. The front desk and administrators may open anyone's (the
desk to mark arrivals, without the clinical summary; administrators stand in for an absent
practitioner). Actions on a visit — fulfilled, no-show, start, note — belong to its practitioner
(and administrators): anyone else gets 404, as for an appointment they cannot see. Arrivals are
marked through the appointment's own page action, which the front desk shares.

Each clinical summary shown is a read of the patient's record and is access-logged; the rows are
appended together, so the page's query count does not grow with the number of visits.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.forms import form_errors_from_service
from patients.permissions import user_may_view_clinical
from scheduling import services
from scheduling.models import Appointment, AppointmentStatus, Practitioner
from scheduling.permissions import user_may_mark_arrived, user_may_run_visit, user_sees_all_appointments
from scheduling.selectors import appointments_for_user, practitioner_day
from scheduling.summary import visit_summaries
from scheduling.video import video_access

from .common import log_reads, own_practitioner, queue_practitioners, rendered
from .forms import QueueForm, VisitNoteForm

QUEUE_ACTIONS = ("fulfilled", "noshow", "start", "note")
RUNNING = (AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED)


def queue_url(*, practitioner: Practitioner, day: dt.date, for_user) -> str:
    params = {"day": day.isoformat()}
    own = own_practitioner(for_user)
    if own is None or own.pk != practitioner.pk:
        params["practitioner"] = practitioner.pk
    return f"{reverse('admin:scheduling_queue')}?{urlencode(params)}"


def queue_url_for(user, appointment: Appointment) -> str:
    """The queue page the appointment belongs to (its practitioner's local day)."""
    day = appointment.start.astimezone(ZoneInfo(appointment.practitioner.time_zone)).date()
    return queue_url(practitioner=appointment.practitioner, day=day, for_user=user)


def video_form_action() -> dict:
    """The queue page's Content-Security-Policy addition: starting a video visit posts a form whose
    answer is a redirect to the video room, and browsers hold that redirect to the page's
    form-action ('self' alone would block the room from opening)."""
    parts = urlsplit(settings.SALUS_VIDEO_BASE_URL)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        return {}
    return {"form-action": [f"{parts.scheme}://{parts.netloc}"]}


def _row(user, appointment: Appointment, *, summary, note_form, now) -> dict:
    may_run = user_may_run_visit(user, appointment)
    status = appointment.status
    not_held = status in (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW)
    over = now > appointment.over_at()
    return {
        "appointment": appointment,
        "summary": summary,
        "may_arrive": status == AppointmentStatus.BOOKED and user_may_mark_arrived(user, appointment),
        "may_fulfil": may_run and status in RUNNING,
        "may_no_show": may_run and status == AppointmentStatus.BOOKED and now >= appointment.start,
        "may_start": may_run and status in RUNNING and not over,
        # Past its end (and its video room's grace time): no Start, and the page says why.
        "over": may_run and status in RUNNING and over,
        "may_write_note": may_run and summary is not None and not not_held and appointment.visit_note_id is None,
        "note_form": note_form,
        "note_url": reverse("admin:patients_clinicalnote_change", args=[appointment.visit_note_id])
        if appointment.visit_note_id and summary is not None
        else "",
        "action_url": {
            action: reverse("admin:scheduling_queue_action", args=[appointment.pk, action]) for action in QUEUE_ACTIONS
        },
        "arrived_url": reverse("admin:scheduling_appointment_arrived", args=[appointment.pk]),
        "change_url": reverse("admin:scheduling_appointment_change", args=[appointment.pk]),
        "patient_url": reverse("admin:patients_patient_change", args=[appointment.patient_id]),
    }


def _queue_response(request, model_admin, *, form, practitioner, day, bound_note_forms=None, status=200):
    user = request.user
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": _("Visits of the day"),
        "form": form,
        "choose": practitioner is None,
        "may_choose": own_practitioner(user) is None or user_sees_all_appointments(user),
    }
    if practitioner is not None:
        zone = ZoneInfo(practitioner.time_zone)
        appointments = list(practitioner_day(practitioner=practitioner, day=day).select_related("practitioner"))
        clinical = user_may_view_clinical(user)
        summaries = visit_summaries(appointments=appointments, today=day) if clinical else {}
        if summaries:
            log_reads(request, [a.patient for a in appointments], "visit_summary")
        now = timezone.now()
        bound_note_forms = bound_note_forms or {}
        rows = [
            _row(
                user,
                a,
                summary=summaries.get(a.pk),
                note_form=bound_note_forms.get(a.pk) or VisitNoteForm(prefix=f"note-{a.pk}"),
                now=now,
            )
            for a in appointments
        ]
        today = timezone.now().astimezone(zone).date()
        context |= {
            "title": gettext("Visits of %(name)s") % {"name": practitioner.display_name},
            "practitioner": practitioner,
            "tz": zone,
            "day": day,
            "is_today": day == today,
            "rows": rows,
            "clinical": clinical,
            "prev_url": queue_url(practitioner=practitioner, day=day - dt.timedelta(days=1), for_user=user),
            "next_url": queue_url(practitioner=practitioner, day=day + dt.timedelta(days=1), for_user=user),
            "today_url": queue_url(practitioner=practitioner, day=today, for_user=user),
            "calendar_url": f"{reverse('admin:scheduling_calendar')}?{urlencode({'practitioner': practitioner.pk, 'day': day, 'view': 'day'})}",
        }
    response = TemplateResponse(request, "scheduling/admin_queue.html", context, status=status)
    response._csp_update = video_form_action()  # read by django-csp's middleware, as its csp_update decorator sets it
    return rendered(response)


def queue_view(request, model_admin):
    user = request.user
    practitioners = queue_practitioners(user)
    if practitioners is None:
        raise Http404("No visits to show.")
    form = QueueForm(request.GET, practitioners=practitioners)
    if not form.is_valid():
        if "practitioner" in form.errors:
            raise Http404("No such practitioner.")  # someone else's day, or nobody
        return _queue_response(request, model_admin, form=form, practitioner=None, day=None, status=400)
    practitioner = form.cleaned_data.get("practitioner") or own_practitioner(user)
    day = form.cleaned_data.get("day")
    if practitioner is not None and day is None:
        day = timezone.now().astimezone(ZoneInfo(practitioner.time_zone)).date()
    return _queue_response(request, model_admin, form=form, practitioner=practitioner, day=day)


def _visit_for_action(user, pk: int) -> Appointment:
    """The appointment, if the user runs it (its practitioner, administrators); else 404."""
    appointment = appointments_for_user(user=user).filter(pk=pk).first()
    if appointment is None or not user_may_run_visit(user, appointment):
        raise Http404("No such appointment.")
    return appointment


def queue_action_view(request, model_admin, *, pk: int, action: str):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])  # a state change is never a link
    if action not in QUEUE_ACTIONS:
        raise Http404("No such action.")
    user = request.user
    appointment = _visit_for_action(user, pk)
    back = queue_url_for(user, appointment)
    # The video Start opens its answer in a tab of its own (the room); what is not the room is
    # said there in a few words, never a second copy of the queue.
    in_new_tab = action == "start" and request.POST.get("tab") == "room"
    try:
        if action == "fulfilled":
            services.appointment_status_set(actor=user, appointment=appointment, status=AppointmentStatus.FULFILLED)
            messages.success(request, gettext("The visit is marked fulfilled."))
        elif action == "noshow":
            services.appointment_status_set(actor=user, appointment=appointment, status=AppointmentStatus.NO_SHOW)
            messages.success(request, gettext("The visit is marked as missed."))
        elif action == "start":
            appointment = services.appointment_start(actor=user, appointment=appointment)
            if appointment.virtual:
                access = video_access(user=user, appointment=appointment)
                if access.url:
                    return HttpResponseRedirect(access.url)
                why = gettext("The visit is started, but the video room cannot open yet: %(why)s") % {
                    "why": " ".join(str(m) for m in access.missing)
                }
                if in_new_tab:
                    return _room_tab(request, model_admin, appointment, why, back)
                messages.warning(request, why)
            else:
                messages.success(request, gettext("The visit is started."))
        else:
            return _note(request, model_admin, appointment)
    except ValidationError as exc:
        if in_new_tab:
            return _room_tab(request, model_admin, appointment, " ".join(exc.messages), back, status=400)
        messages.error(request, " ".join(exc.messages))
    return HttpResponseRedirect(back)


def _room_tab(request, model_admin, appointment: Appointment, why: str, back: str, *, status: int = 200):
    """What the video Start's own tab shows when it cannot be the room: why, and nothing else."""
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": _("Video room"),
        "appointment": appointment,
        "why": why,
        "back": back,
    }
    return rendered(TemplateResponse(request, "scheduling/admin_room_tab.html", context, status=status))


def _note(request, model_admin, appointment: Appointment):
    form = VisitNoteForm(request.POST, prefix=f"note-{appointment.pk}")
    if form.is_valid():
        try:
            services.appointment_note_write(actor=request.user, appointment=appointment, text=form.cleaned_data["text"])
        except ValidationError as exc:
            form_errors_from_service(form, exc)
        else:
            messages.success(request, gettext("The note is saved; the patient's care managers are told."))
            return HttpResponseRedirect(queue_url_for(request.user, appointment))
    # Shown again with the error beside the note, and nothing saved.
    practitioner = appointment.practitioner
    day = appointment.start.astimezone(ZoneInfo(practitioner.time_zone)).date()
    queue_form = QueueForm({"day": day.isoformat()}, practitioners=queue_practitioners(request.user))
    queue_form.is_valid()
    return _queue_response(
        request,
        model_admin,
        form=queue_form,
        practitioner=practitioner,
        day=day,
        bound_note_forms={appointment.pk: form},
        status=400,
    )
