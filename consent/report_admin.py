"""The audit report for administrators: reads and consent events over any period, as CSV too.

Mounted at /admin/audit-report/ (config/urls.py includes this module as a URLconf) inside the
admin's look and sign-in: `admin.site.admin_view` sends anonymous visitors to sign in, and every
signed-in user who is not an administrator (superuser) gets 404, as for any forbidden object.

Why the filter form is POSTed, pagination and export included: the filters hold a patient's MRN,
which is PHI, and PHI never goes into a URL's query string — query strings end up in proxy and
server logs, browser history, bookmarks and Referer headers, none of which a POST body reaches.
Taking only the MRN from the body would not be enough: the next page and the export must carry
the same filters, and a link can carry them only in its URL. Keeping the filters in the session
instead would store the MRN server-side beyond the request and make two report tabs overwrite
each other. So a GET shows the default report (the last 30 days, no filter), and every filtered
view — another page, the CSV export — is a POST of the same form (page buttons are its submit
buttons).
"""

import csv
import datetime as dt
from functools import wraps

from django import forms
from django.contrib import admin
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from audit.chain import verification_problems
from core.time import time_zone_of
from patients.access import ACCESS_RESOURCE_LABELS
from patients.models import AccessChannel

from .models import LedgerEvent, Purpose
from .report import (
    EVENT_KIND_CHOICES,
    KIND_READ,
    REPORT_DEFAULT_DAYS,
    REPORT_MAX_DAYS,
    TOP_ACTORS,
    AuditFilters,
    audit_chain_status,
    audit_entries,
    audit_entry_as_row,
    audit_people,
    audit_period,
    audit_report_authorize,
    audit_rows_named,
    audit_summary,
    audit_summary_named,
    resource_label,
)

REPORT_PAGE_SIZE = 50
EARLIEST_DATE = dt.date(2000, 1, 1)
CSV_COLUMNS = (
    "time_utc",
    "kind",
    "actor",
    "actor_name",
    "patient_id",
    "patient_mrn",
    "patient_name",
    "channel",
    "resource_or_purpose",
    "event",
    "ip_address",
    "chain_seq",
    "entry_hash",
)


class AuditReportForm(forms.Form):
    """The period (whole days in the administrator's time zone) and the optional filters."""

    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    actor_email = forms.EmailField(label=_("Actor's email"), required=False, max_length=254)
    mrn = forms.CharField(label=_("Patient MRN"), required=False, max_length=64)
    channel = forms.ChoiceField(
        label=_("Channel"),
        required=False,
        choices=[("", _("Any channel")), *AccessChannel.choices],
        help_text=_("Reads only: consent events have no channel."),
    )
    resource = forms.ChoiceField(
        label=_("Resource or purpose"),
        required=False,
        choices=[
            ("", _("Any")),
            (_("Resource read"), list(ACCESS_RESOURCE_LABELS.items())),
            (_("Consent purpose"), Purpose.choices),
        ],
    )
    kind = forms.ChoiceField(
        label=_("Event kind"), required=False, choices=[("", _("Reads and consent events")), *EVENT_KIND_CHOICES]
    )

    def __init__(self, *args, tz, **kwargs):
        super().__init__(*args, **kwargs)
        self.tz = tz
        self.today = timezone.now().astimezone(tz).date()

    def _clean_date(self, name: str) -> dt.date | None:
        value = self.cleaned_data.get(name)
        if value is None:
            return None
        if value < EARLIEST_DATE:
            raise forms.ValidationError(_("Choose a date from 1 January 2000 on."), code="too_early")
        if value > self.today:
            raise forms.ValidationError(_("This date is in the future."), code="future")
        return value

    def clean_date_from(self):
        return self._clean_date("date_from")

    def clean_date_to(self):
        return self._clean_date("date_to")

    def clean(self):
        cleaned = super().clean()
        if "date_from" in self.errors or "date_to" in self.errors:
            return cleaned
        date_to = cleaned.get("date_to") or self.today
        date_from = cleaned.get("date_from") or date_to - dt.timedelta(days=REPORT_DEFAULT_DAYS - 1)
        if date_from > date_to:
            self.add_error("date_from", _("The start date is after the end date."))
        elif (date_to - date_from).days + 1 > REPORT_MAX_DAYS:
            self.add_error(
                "date_to",
                _("This period is %(days)d days long; choose at most %(max)d days.")
                % {"days": (date_to - date_from).days + 1, "max": REPORT_MAX_DAYS},
            )
        cleaned["date_from"], cleaned["date_to"] = date_from, date_to
        return cleaned

    def filters(self) -> AuditFilters:
        data = self.cleaned_data
        start, end = audit_period(date_from=data["date_from"], date_to=data["date_to"], tz=self.tz)
        return AuditFilters(
            start=start,
            end=end,
            actor_email=data["actor_email"],
            mrn=data["mrn"].strip(),
            channel=data["channel"],
            resource=data["resource"],
            kind=data["kind"],
        )


def _report_form(request) -> AuditReportForm:
    tz = time_zone_of(request.user)
    if request.method == "POST":
        return AuditReportForm(request.POST, tz=tz)
    today = timezone.now().astimezone(tz).date()
    defaults = {"date_from": today - dt.timedelta(days=REPORT_DEFAULT_DAYS - 1), "date_to": today}
    return AuditReportForm({name: value.isoformat() for name, value in defaults.items()}, tz=tz)


def _display_row(row: dict) -> dict:
    channel_labels = dict(AccessChannel.choices)
    if row["kind"] == KIND_READ:
        what, event = resource_label(row["what"]), row["event"]
    else:
        what, event = (
            dict(Purpose.choices).get(row["what"], row["what"]),
            dict(LedgerEvent.choices).get(row["event"], row["event"]),
        )
    return row | {"what_label": what, "event_label": event, "channel_label": channel_labels.get(row["channel"], row["channel"])}


def _superuser_only(view):
    admin_wrapped = admin.site.admin_view(view)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.is_authenticated:
            audit_report_authorize(user=request.user)  # 404 for every other signed-in user
        return admin_wrapped(request, *args, **kwargs)

    return wrapper


def _render_report(request, form: AuditReportForm) -> TemplateResponse:
    verification = audit_chain_status(user=request.user, refresh=request.method == "POST" and "verify_now" in request.POST)
    context = {
        **admin.site.each_context(request),
        "title": _("Audit report"),
        "form": form,
        "tz": form.tz,
        "chain_problems": verification_problems(verification),
        "chain_checked_at": verification.checked_at,
        "top_actors": TOP_ACTORS,
    }
    if form.is_valid():
        filters = form.filters()
        page_number = request.POST.get("page") if request.method == "POST" else request.GET.get("page")
        page = Paginator(audit_entries(user=request.user, filters=filters), REPORT_PAGE_SIZE).get_page(page_number)
        rows = [audit_entry_as_row(values) for values in page.object_list]
        summary = audit_summary(user=request.user, filters=filters)
        names = audit_people(rows=rows, summary=summary)
        context |= {
            "date_from": form.cleaned_data["date_from"],
            "date_to": form.cleaned_data["date_to"],
            "summary": audit_summary_named(summary, names=names),
            "page": page,
            "rows": [_display_row(row) for row in audit_rows_named(rows, names=names)],
        }
    return TemplateResponse(request, "admin/audit_report.html", context, status=200 if form.is_valid() else 400)


@_superuser_only
@require_http_methods(["GET", "POST"])
def audit_report(request):
    return _render_report(request, _report_form(request))


class _Echo:
    """A file-like object whose write returns the line, so csv.writer can feed a stream."""

    def write(self, value: str) -> str:
        return value


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    text = str(value)
    # A cell starting like a formula would run as one in a spreadsheet (CSV injection).
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_lines(entries):
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for chunk in _chunks(entries.iterator(chunk_size=CSV_CHUNK), CSV_CHUNK):
        rows = [audit_entry_as_row(values) for values in chunk]
        for row in audit_rows_named(rows, names=audit_people(rows=rows)):
            yield writer.writerow(
                [
                    _csv_cell(row["at"]),
                    row["kind"],
                    _csv_cell(row["actor"]),
                    _csv_cell(row["actor_name"]),
                    row["patient_id"],
                    _csv_cell(row["mrn"]),
                    _csv_cell(row["patient_name"]),
                    row["channel"],
                    _csv_cell(row["what"]),
                    _csv_cell(row["event"]),
                    _csv_cell(row["ip"]),
                    _csv_cell(row["seq"]),
                    row["hash"],
                ]
            )


CSV_CHUNK = 2000


def _chunks(rows, size: int):
    """Lists of up to `size` rows: each chunk's people are named in three queries."""
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@_superuser_only
@require_POST
def audit_report_export(request):
    """Every row the form selects, streamed as CSV (times in UTC); an invalid form shows its errors."""
    form = _report_form(request)
    if not form.is_valid():
        return _render_report(request, form)
    entries = audit_entries(user=request.user, filters=form.filters())
    response = StreamingHttpResponse(_csv_lines(entries), content_type="text/csv; charset=utf-8")
    name = f"salus-audit-{form.cleaned_data['date_from']:%Y%m%d}-{form.cleaned_data['date_to']:%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


app_name = "audit_report"
urlpatterns = [
    path("", audit_report, name="report"),
    path("export/", audit_report_export, name="export"),
]
