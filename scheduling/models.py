"""Who sees patients, where, for what, and when: practitioners, locations, services, their hours,
and the appointments booked into them.

No double booking is an invariant of the database, not of the code that books: migration 0002
adds, on PostgreSQL, exclusion constraints over each practitioner's and each patient's time range
and, on SQLite, triggers that refuse an overlapping row. The booking service turns either refusal
into `BookingConflict`.
"""

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import get_language, gettext, gettext_noop, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from patients.models import ClinicalNote, Patient, validate_time_zone

LANGUAGE_CODES = ("en", "fr", "it")


def validate_language_list(value) -> None:
    from django.core.exceptions import ValidationError

    if not isinstance(value, list) or any(code not in LANGUAGE_CODES for code in value):
        raise ValidationError(_("Choose languages among: %(codes)s.") % {"codes": ", ".join(LANGUAGE_CODES)})


class Location(models.Model):
    """A place where in-person visits happen."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    address_line = models.CharField(_("address"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/Paris", validators=[validate_time_zone])
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("location")
        verbose_name_plural = _("locations")

    def __str__(self) -> str:
        return self.name

    @property
    def address(self) -> str:
        return ", ".join(p for p in (self.address_line, f"{self.postal_code} {self.city}".strip()) if p)


class Service(models.Model):
    """A kind of visit that can be booked, with its length and booking policy."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_fr = models.CharField(_("name (French)"), max_length=200, blank=True)
    name_it = models.CharField(_("name (Italian)"), max_length=200, blank=True)
    duration_minutes = models.PositiveSmallIntegerField(
        _("duration (minutes)"), validators=[MinValueValidator(5), MaxValueValidator(480)]
    )
    virtual_allowed = models.BooleanField(_("virtual visits allowed"), default=True)
    in_person_allowed = models.BooleanField(_("in-person visits allowed"), default=True)
    min_notice_hours = models.PositiveSmallIntegerField(
        _("minimum notice (hours)"),
        default=2,
        validators=[MaxValueValidator(24 * 30)],
        help_text=_("Patients cannot book a slot starting sooner than this."),
    )
    max_days_ahead = models.PositiveSmallIntegerField(
        _("booking window (days)"),
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(366)],
        help_text=_("Patients cannot book further ahead than this."),
    )
    cancellation_notice_hours = models.PositiveSmallIntegerField(
        _("cancellation notice (hours)"),
        default=24,
        validators=[MaxValueValidator(24 * 30)],
        help_text=_("Patients may cancel or move a visit online until this many hours before it; later, they call the clinic."),
    )
    active = models.BooleanField(_("offered"), default=True)

    class Meta:
        ordering = ["name_en"]
        verbose_name = _("service")
        verbose_name_plural = _("services")
        constraints = [
            models.CheckConstraint(condition=Q(virtual_allowed=True) | Q(in_person_allowed=True), name="service_has_a_mode"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        language = (get_language() or "en")[:2]
        return getattr(self, f"name_{language}", "") or self.name_en

    def online_change_deadline(self, start: dt.datetime) -> dt.datetime:
        """Until when a patient may move or cancel a visit of this service starting at `start`
        online: a slot starting sooner than that is locked from the moment it is booked."""
        return start - dt.timedelta(hours=self.cancellation_notice_hours)


# Specialties as they are usually named, each translated in the catalogues. A practitioner's
# specialty stays free text (imported practitioners name theirs); one of these shows in the
# reader's language, any other as it was written.
SPECIALTIES = (
    gettext_noop("General practice"),
    gettext_noop("Internal medicine"),
    gettext_noop("Diabetology"),
    gettext_noop("Endocrinology"),
    gettext_noop("Cardiology"),
    gettext_noop("Pulmonology"),
    gettext_noop("Nephrology"),
    gettext_noop("Neurology"),
    gettext_noop("Geriatrics"),
    gettext_noop("Paediatrics"),
    gettext_noop("Gynaecology"),
    gettext_noop("Dermatology"),
    gettext_noop("Psychiatry"),
    gettext_noop("Oncology"),
    gettext_noop("Nutrition"),
    gettext_noop("Physiotherapy"),
    gettext_noop("Nursing"),
)


class Practitioner(models.Model):
    """A clinician who can be booked: who they are, what they offer, where and in which languages."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="practitioner", verbose_name=_("user account")
    )
    display_name = models.CharField(_("display name"), max_length=200, help_text=_("As patients see it, e.g. Dr Anna Rossi."))
    specialty = models.CharField(_("specialty"), max_length=100)
    languages = models.JSONField(_("languages spoken"), default=list, validators=[validate_language_list])
    offers_virtual = models.BooleanField(_("offers virtual visits"), default=True)
    offers_in_person = models.BooleanField(_("offers in-person visits"), default=True)
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        default="Europe/Paris",
        validators=[validate_time_zone],
        help_text=_("Weekly hours are read in this time zone."),
    )
    services = models.ManyToManyField(Service, related_name="practitioners", verbose_name=_("services"))
    locations = models.ManyToManyField(Location, related_name="practitioners", blank=True, verbose_name=_("locations"))
    bio = models.TextField(_("about"), max_length=2000, blank=True)
    active = models.BooleanField(_("bookable"), default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["display_name"]
        verbose_name = _("practitioner")
        verbose_name_plural = _("practitioners")

    def __str__(self) -> str:
        return self.display_name

    @property
    def specialty_display(self) -> str:
        """The specialty in the current language when it is one of SPECIALTIES, else as written."""
        return gettext(self.specialty) if self.specialty in SPECIALTIES else self.specialty


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class WeeklyHours(models.Model):
    """A recurring block of bookable time, in the practitioner's time zone.

    With a location, the block is for in-person visits there (and virtual ones if `virtual` is set);
    without one, it is for virtual visits only.
    """

    practitioner = models.ForeignKey(Practitioner, on_delete=models.CASCADE, related_name="weekly_hours")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start_time = models.TimeField(_("from"))
    end_time = models.TimeField(_("until"))
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("location")
    )
    virtual = models.BooleanField(_("virtual visits"), default=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)

    class Meta:
        ordering = ["practitioner", "weekday", "start_time"]
        verbose_name = _("weekly hours")
        verbose_name_plural = _("weekly hours")
        constraints = [
            models.CheckConstraint(condition=Q(end_time__gt=F("start_time")), name="weekly_hours_end_after_start"),
            models.CheckConstraint(condition=Q(location__isnull=False) | Q(virtual=True), name="weekly_hours_has_a_mode"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}–{self.end_time:%H:%M}"


class ExceptionKind(models.TextChoices):
    EXTRA = "extra", _("Extra hours")
    TIME_OFF = "time_off", _("Time off")


class AvailabilityException(models.Model):
    """A one-off change to the weekly hours: extra hours, or time off (leave, training, a closed day)."""

    practitioner = models.ForeignKey(Practitioner, on_delete=models.CASCADE, related_name="exceptions")
    kind = models.CharField(_("kind"), max_length=10, choices=ExceptionKind.choices)
    start = models.DateTimeField(_("from"))
    end = models.DateTimeField(_("until"))
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+", help_text=_("Extra hours only.")
    )
    virtual = models.BooleanField(_("virtual visits"), default=True, help_text=_("Extra hours only."))
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        ordering = ["practitioner", "start"]
        verbose_name = _("availability exception")
        verbose_name_plural = _("availability exceptions")
        constraints = [models.CheckConstraint(condition=Q(end__gt=F("start")), name="exception_end_after_start")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.start:%Y-%m-%d %H:%M}"


class AppointmentStatus(models.TextChoices):
    # Their own context: a status agrees with the visit it qualifies (Italian "visita annullata"),
    # where a message's "Cancelled" agrees with the message.
    BOOKED = "booked", pgettext_lazy("appointment status", "Booked")
    ARRIVED = "arrived", pgettext_lazy("appointment status", "Arrived")
    FULFILLED = "fulfilled", pgettext_lazy("appointment status", "Fulfilled")
    CANCELLED = "cancelled", pgettext_lazy("appointment status", "Cancelled")
    NO_SHOW = "noshow", pgettext_lazy("appointment status", "No-show")


# Statuses that hold their time: a cancelled visit frees the slot, a no-show does too (the time
# is past), the others keep it.
HOLDING_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED, AppointmentStatus.FULFILLED)


class BookingChannel(models.TextChoices):
    PORTAL = "portal", _("Portal")
    ADMIN = "admin", _("Front desk")
    API = "api", _("API")


class Appointment(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("patient"))
    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("practitioner")
    )
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("service"))
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("location")
    )
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    status = models.CharField(_("status"), max_length=10, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED)
    virtual = models.BooleanField(_("virtual visit"))
    reason = models.CharField(_("reason for the visit"), max_length=500, blank=True)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("booked by")
    )
    booked_via = models.CharField(_("booked via"), max_length=10, choices=BookingChannel.choices)
    booked_at = models.DateTimeField(_("booked at"), auto_now_add=True)
    # Intake: what the patient confirms before a virtual visit. A payment reference only, never card data.
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    contact_email = models.EmailField(_("contact email"), blank=True)
    insurance_provider = models.CharField(_("insurer"), max_length=200, blank=True)
    insurance_member_id = models.CharField(_("insurance member number"), max_length=64, blank=True)
    payment_reference = models.CharField(_("payment reference"), max_length=64, blank=True)
    intake_answers = models.JSONField(_("intake answers"), default=dict, blank=True)
    intake_completed_at = models.DateTimeField(_("intake completed"), null=True, blank=True)
    # The video room's name: unguessable, shown only to the two parties once consent and intake are done.
    video_room = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    sequence = models.PositiveIntegerField(default=0, help_text=_("iCalendar revision: raised on each move or cancellation."))
    arrived_at = models.DateTimeField(_("arrived at"), null=True, blank=True)
    started_at = models.DateTimeField(_("visit started at"), null=True, blank=True)
    fulfilled_at = models.DateTimeField(_("fulfilled at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("cancelled by"),
    )
    cancel_reason = models.CharField(_("cancellation reason"), max_length=300, blank=True)
    visit_note = models.OneToOneField(
        ClinicalNote, null=True, blank=True, on_delete=models.SET_NULL, related_name="appointment", verbose_name=_("visit note")
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["start", "id"]
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        indexes = [
            models.Index(fields=["practitioner", "start"], name="appt_practitioner_start_idx"),
            models.Index(fields=["patient", "start"], name="appt_patient_start_idx"),
            models.Index(fields=["status", "start"], name="appt_status_start_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="appointment_end_after_start"),
            models.CheckConstraint(
                condition=Q(virtual=True) | Q(location__isnull=False), name="appointment_in_person_has_location"
            ),
        ]

    def __str__(self) -> str:
        return f"{_('Appointment')} #{self.pk}"

    @property
    def holds_time(self) -> bool:
        return self.status in HOLDING_STATUSES

    @property
    def intake_complete(self) -> bool:
        return self.intake_completed_at is not None

    def over_at(self) -> dt.datetime:
        """When the visit is over for good: its end, plus the time its video room stays open
        (`SALUS_VIDEO_CLOSES_AFTER_MINUTES`) for a visit that runs late. After that it can no longer
        be started or joined; it can only be marked fulfilled or missed."""
        return self.end + dt.timedelta(minutes=settings.SALUS_VIDEO_CLOSES_AFTER_MINUTES)


class ReminderStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    CANCELLED = "cancelled", _("Cancelled")


class AppointmentReminder(models.Model):
    """A reminder due at a fixed time before a visit. Kept here, not as a Celery countdown, so that a
    worker restart or a broker outage cannot lose it; a periodic task sends the due ones."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="reminders")
    offset_minutes = models.PositiveIntegerField(_("minutes before"))
    due_at = models.DateTimeField(_("due at"))
    status = models.CharField(_("status"), max_length=10, choices=ReminderStatus.choices, default=ReminderStatus.PENDING)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("appointment reminder")
        verbose_name_plural = _("appointment reminders")
        indexes = [models.Index(fields=["due_at"], name="reminder_pending_due_idx", condition=Q(status="pending"))]
        constraints = [
            # One reminder per offset for each start time; a move creates a new set for the new time.
            models.UniqueConstraint(fields=["appointment", "offset_minutes", "due_at"], name="reminder_once_per_offset"),
        ]

    def __str__(self) -> str:
        return f"{self.offset_minutes} min before #{self.appointment_id}"
