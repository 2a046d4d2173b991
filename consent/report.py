"""Reads for the audit report (administrators) and for "who viewed my record" (patients).

Two append-only, hash-chained tables are reported on together: the access log (every read of a
patient's record by staff or an API client) and the consent ledger (every consent signed,
withdrawn or expired). Administrators see both over a period; a patient sees who read their
own record. Every queryset here is built for a list page: its query count does not depend on
the number of rows (values() or select_related/prefetch_related, never a query per row).
"""

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.contrib.auth.models import Group
from django.db.models import Case, CharField, Count, F, GenericIPAddressField, Prefetch, Q, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.permissions import user_is_administrator
from accounts.roles import Role
from audit.chain import verification_latest, verification_run
from audit.models import ChainVerification
from patients.access import access_resource_label, actor_in_words
from patients.models import AccessChannel, AccessLog, Patient
from patients.selectors import people_named

from .models import ConsentLedgerEntry, LedgerEvent, Purpose

REPORT_MAX_DAYS = 366
REPORT_DEFAULT_DAYS = 30
PORTAL_READS_MONTHS = 12
TOP_ACTORS = 20

KIND_READ = "read"
KIND_CONSENT = "consent"


ROLE_LABELS = {
    Role.ADMINISTRATOR: _("Administrator"),
    Role.CARE_MANAGER: _("Care manager"),
    Role.PROVIDER: _("Provider"),
    Role.FRONT_DESK: _("Front desk"),
    Role.OUTREACH: _("Outreach"),
    Role.EVENT_PLANNER: _("Event planner"),
    Role.PATIENT: _("Patient"),
}

# The "event kind" filter: reads, every consent event, or one consent event.
EVENT_KIND_CHOICES = [
    (KIND_READ, _("Reads of a patient's record")),
    (KIND_CONSENT, _("Consent events (all)")),
    (LedgerEvent.SIGNED.value, _("Consents signed")),
    (LedgerEvent.WITHDRAWN.value, _("Consents withdrawn")),
    (LedgerEvent.EXPIRED.value, _("Consents expired")),
]


def resource_label(resource: str) -> str:
    return access_resource_label(resource)


# --- the audit report (administrators) ---------------------------------------------------------


def audit_report_authorize(*, user) -> None:
    """Only active superusers (the administrator role) read the audit report; anyone else gets 404."""
    if not user_is_administrator(user):
        raise Http404("No such page.")


@dataclass(frozen=True)
class AuditFilters:
    """One report's period, [start, end) as aware datetimes, and its optional filters."""

    start: dt.datetime
    end: dt.datetime
    actor_email: str = ""
    mrn: str = ""
    channel: str = ""
    resource: str = ""  # a read resource or a consent purpose
    kind: str = ""  # "", "read", "consent" or one LedgerEvent

    @property
    def wants_reads(self) -> bool:
        if self.kind and self.kind != KIND_READ:
            return False
        return not (self.resource and self.resource in Purpose.values)

    @property
    def wants_consent_events(self) -> bool:
        if self.kind == KIND_READ or self.channel:  # consent events have no read channel
            return False
        return not (self.resource and self.resource not in Purpose.values)


def audit_period(*, date_from: dt.date, date_to: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """Whole days from `date_from` to `date_to` (inclusive) in `tz`, as [start, end) instants."""
    start = dt.datetime.combine(date_from, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start, end


def _actor_q(email: str) -> Q:
    # The label is the email at the time of the event; the join finds an account renamed since.
    return Q(actor_label__iexact=email) | Q(actor__email__iexact=email)


def audit_reads(*, user, filters: AuditFilters) -> QuerySet[AccessLog]:
    audit_report_authorize(user=user)
    if not filters.wants_reads:
        return AccessLog.objects.none()
    qs = AccessLog.objects.filter(created_at__gte=filters.start, created_at__lt=filters.end)
    if filters.actor_email:
        qs = qs.filter(_actor_q(filters.actor_email))
    if filters.mrn:
        qs = qs.filter(patient__mrn=filters.mrn)
    if filters.channel:
        qs = qs.filter(channel=filters.channel)
    if filters.resource:
        qs = qs.filter(resource=filters.resource)
    return qs


def audit_consent_events(*, user, filters: AuditFilters) -> QuerySet[ConsentLedgerEntry]:
    audit_report_authorize(user=user)
    if not filters.wants_consent_events:
        return ConsentLedgerEntry.objects.none()
    qs = ConsentLedgerEntry.objects.filter(at__gte=filters.start, at__lt=filters.end)
    if filters.actor_email:
        qs = qs.filter(_actor_q(filters.actor_email))
    if filters.mrn:
        qs = qs.filter(patient__mrn=filters.mrn)
    if filters.resource:
        qs = qs.filter(purpose=filters.resource)
    if filters.kind in LedgerEvent.values:
        qs = qs.filter(event=filters.kind)
    return qs


def audit_entries(*, user, filters: AuditFilters) -> QuerySet:
    """Reads and consent events in one list, newest first, as dicts with the same keys.

    One SQL UNION ALL, so a page is one query (and its count one more) whatever its size.
    Keys: at, kind, actor (the label the row was written with), actor_id, patient_id, mrn,
    patient_given, patient_family, channel, what (resource or purpose), event, ip, seq (chain
    sequence number) and hash (entry hash).
    """
    reads = (
        audit_reads(user=user, filters=filters)
        .order_by()
        .values(
            e_at=F("created_at"),
            e_kind=Value(KIND_READ, output_field=CharField()),
            e_actor=F("actor_label"),
            e_actor_id=F("actor_id"),
            e_patient_id=F("patient_id"),
            e_mrn=F("patient__mrn"),
            e_patient_given=F("patient__given_name"),
            e_patient_family=F("patient__family_name"),
            e_channel=F("channel"),
            e_what=F("resource"),
            e_event=F("action"),
            e_ip=F("ip_address"),
            e_seq=F("chain_seq"),
            e_hash=F("entry_hash"),
        )
    )
    events = (
        audit_consent_events(user=user, filters=filters)
        .order_by()
        .values(
            e_at=F("at"),
            e_kind=Value(KIND_CONSENT, output_field=CharField()),
            e_actor=F("actor_label"),
            e_actor_id=F("actor_id"),
            e_patient_id=F("patient_id"),
            e_mrn=F("patient__mrn"),
            e_patient_given=F("patient__given_name"),
            e_patient_family=F("patient__family_name"),
            e_channel=Value("", output_field=CharField()),
            e_what=F("purpose"),
            e_event=F("event"),
            # Where a consent was signed from; a withdrawal or expiry records no address.
            e_ip=Case(
                When(event=LedgerEvent.SIGNED, then=F("consent__ip_address")),
                default=Value(None),
                output_field=GenericIPAddressField(),
            ),
            e_seq=F("chain_seq"),
            e_hash=F("entry_hash"),
        )
    )
    return reads.union(events, all=True).order_by("-e_at", "e_kind", "-e_seq")


def audit_entry_as_row(values: dict) -> dict:
    """A union row under its plain names."""
    return {key.removeprefix("e_"): value for key, value in values.items()}


def audit_people(*, rows: list[dict], summary: dict | None = None) -> dict[int, str]:
    """Everyone who acted in these rows and the summary's top readers, named in words ("Paul
    Lefèvre (patient)", "Alice Martin (care manager)"): three queries, whatever their number."""
    ids = [row["actor_id"] for row in rows]
    if summary is not None:
        ids += [row["actor_id"] for row in summary["reads_by_actor"]]
    return people_named(ids)


def audit_rows_named(rows: list[dict], *, names: dict[int, str]) -> list[dict]:
    """The rows with who acted and whose record, in words: `actor_name` (a person and role, or
    "Salus (automatic task: data export)") and `patient_name` ("LEFÈVRE, Paul")."""
    return [
        row
        | {
            "actor_name": actor_in_words(actor_id=row["actor_id"], actor_label=row["actor"] or "", names=names),
            "patient_name": f"{(row['patient_family'] or '').upper()}, {row['patient_given'] or ''}",
        }
        for row in rows
    ]


def audit_summary_named(summary: dict, *, names: dict[int, str]) -> dict:
    """The summary's top readers in words (`actor_name`), from `audit_people`."""
    by_actor = [
        row | {"actor_name": actor_in_words(actor_id=row["actor_id"], actor_label=row["actor"], names=names)}
        for row in summary["reads_by_actor"]
    ]
    return summary | {"reads_by_actor": by_actor}


def audit_summary(*, user, filters: AuditFilters) -> dict:
    """The counts at the top of the report: three grouped queries, whatever the number of rows."""
    reads = audit_reads(user=user, filters=filters)
    events = audit_consent_events(user=user, filters=filters)
    channel_labels = dict(AccessChannel.choices)
    by_channel = [
        {"channel": row["channel"], "label": channel_labels.get(row["channel"], row["channel"]), "count": row["n"]}
        for row in reads.order_by().values("channel").annotate(n=Count("id")).order_by("-n", "channel")
    ]
    by_actor = [
        {"actor": row["actor_label"], "actor_id": row["actor_id"], "count": row["n"]}
        for row in reads.order_by()
        .values("actor_label", "actor_id")
        .annotate(n=Count("id"))
        .order_by("-n", "actor_label")[:TOP_ACTORS]
    ]
    purpose_labels = dict(Purpose.choices)
    by_purpose: dict[str, dict] = {}
    for row in events.order_by().values("purpose", "event").annotate(n=Count("id")).order_by("purpose", "event"):
        entry = by_purpose.setdefault(
            row["purpose"],
            {"purpose": row["purpose"], "label": purpose_labels.get(row["purpose"], row["purpose"]), "total": 0}
            | dict.fromkeys(LedgerEvent.values, 0),
        )
        entry[row["event"]] = entry.get(row["event"], 0) + row["n"]
        entry["total"] += row["n"]
    consent_rows = list(by_purpose.values())
    return {
        "reads_total": sum(row["count"] for row in by_channel),
        "reads_by_channel": by_channel,
        "reads_by_actor": by_actor,
        "consent_total": sum(row["total"] for row in consent_rows),
        "consent_by_purpose": consent_rows,
    }


def audit_chain_status(*, user, refresh: bool = False) -> ChainVerification:
    """The latest verification of every hash chain (hourly task, `verify_audit`), or a new one when
    asked for or when none has run yet. Verifying re-hashes every row — about a minute per million —
    so the page does not do it on every view."""
    audit_report_authorize(user=user)
    latest = None if refresh else verification_latest()
    return latest or verification_run()


# --- "who viewed my record" (patients) ---------------------------------------------------------


def _months_before(moment: dt.datetime, months: int) -> dt.datetime:
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    for day in (moment.day, 30, 29, 28):  # the 31st of a shorter month falls back to its last day
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")


def record_reads_for_patient(*, patient: Patient, reader, now: dt.datetime | None = None) -> QuerySet[AccessLog]:
    """Reads of `patient`'s record by others over the last twelve months, newest first.

    `patient` must come from `patients.selectors.patient_for_portal_user(user=reader)`, which
    is the access check (a patient sees only their own record; staff without one get 404).
    The reader's own reads (the portal, their API token) are left out: they know about those.
    A read by an account closed since stays in, with no name.
    """
    now = now or timezone.now()
    since = _months_before(now, PORTAL_READS_MONTHS)
    return (
        AccessLog.objects.filter(patient=patient, created_at__gte=since, created_at__lte=now)
        .exclude(actor=reader)
        .select_related("actor")
        .prefetch_related(Prefetch("actor__groups", queryset=Group.objects.only("id", "name")))
        .order_by("-created_at", "-id")
    )


def reader_roles(actor) -> list[str]:
    """The role names of who read, from groups already prefetched with the row."""
    if actor is None:
        return []
    names = {group.name for group in actor.groups.all()}
    roles = [role for role in Role if role.value in names and role is not Role.PATIENT]
    if actor.is_superuser and Role.ADMINISTRATOR not in roles:
        roles.insert(0, Role.ADMINISTRATOR)
    return [str(ROLE_LABELS[role]) for role in roles]


def record_read_row(entry: AccessLog) -> dict:
    """What a patient is shown of one read: who by name and role (never an email), what, how."""
    actor = entry.actor
    if actor is None:
        who = _("Salus (automatic task)") if entry.channel == AccessChannel.TASK else _("A staff member whose account is closed")
    else:
        who = actor.get_full_name() or _("A staff member")
    return {
        "at": entry.created_at,
        "who": str(who),
        "roles": reader_roles(actor),
        "what": resource_label(entry.resource),
        "channel": entry.get_channel_display(),
    }
