"""The staff UI for the patient record. Querysets come from selectors; every save calls a service."""

import re

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import SEARCH_VAR
from django.core.exceptions import PermissionDenied
from django.db.models import Subquery
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.defaultfilters import linebreaksbr
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from accounts.permissions import user_is_administrator
from notifications.admin import NotificationSubject, notification_describer_register

from . import selectors, services
from .access import ACCESS_RESOURCE_LABELS, access_resource_label, actor_in_words
from .models import (
    AccessChannel,
    AccessLog,
    AllergyIntolerance,
    CareTeamMember,
    ClinicalNote,
    Condition,
    Encounter,
    Immunization,
    MedicationRequest,
    Observation,
    Patient,
    PatientContact,
    PatientIdentifier,
    Procedure,
)
from .permissions import (
    STAFF_EDITABLE_FIELDS,
    user_editable_fields,
    user_may_manage_care_team,
    user_may_open_patients,
    user_may_review_note,
    user_may_view_clinical,
)

RECENT_FACTS_SHOWN = 20


class IdentifierInline(admin.TabularInline):
    model = PatientIdentifier
    extra = 0
    fields = ("system", "value", "use")


class ContactInline(admin.TabularInline):
    model = PatientContact
    extra = 0
    fields = ("name", "relationship", "phone", "email")


class CareTeamMemberForm(forms.ModelForm):
    class Meta:
        model = CareTeamMember
        fields = ("user", "role", "period_start", "period_end")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "user" in self.fields:
            self.fields["user"].queryset = self.fields["user"].queryset.filter(is_staff=True, is_active=True)
        if self.instance.pk:
            # A membership is ended, never rewritten: the history of who had access stays true.
            for name in ("user", "role", "period_start"):
                if name in self.fields:
                    self.fields[name].disabled = True


class CareTeamInline(admin.TabularInline):
    model = CareTeamMember
    form = CareTeamMemberForm
    extra = 0
    can_delete = False
    autocomplete_fields = ()
    verbose_name_plural = _("care team (end a membership by setting its end date)")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")

    def has_add_permission(self, request, obj=None):
        return obj is not None and user_may_manage_care_team(request.user, obj)

    def has_change_permission(self, request, obj=None):
        return obj is not None and user_may_manage_care_team(request.user, obj)


class NoteTextShown(forms.Widget):
    """A written note's text as text, not as a greyed-out box that looks as if it could be typed in."""

    def render(self, name, value, attrs=None, renderer=None):
        return format_html('<div class="readonly note-text">{}</div>', linebreaksbr(value or ""))


class ClinicalNoteForm(forms.ModelForm):
    class Meta:
        model = ClinicalNote
        fields = ("text",)
        widgets = {"text": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["text"].disabled = True  # notes are never rewritten
            self.fields["text"].widget = NoteTextShown()


class ClinicalNoteInline(admin.StackedInline):
    model = ClinicalNote
    form = ClinicalNoteForm
    fk_name = "patient"
    extra = 0
    can_delete = False
    readonly_fields = ("author", "created_at", "reviewed_by", "reviewed_at")
    fields = ("text", "author", "created_at", "reviewed_by", "reviewed_at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author", "reviewed_by")

    def has_change_permission(self, request, obj=None):
        return obj is not None and request.user.has_perm("patients.add_clinicalnote")


class FactInline(admin.TabularInline):
    """Clinical facts come from the EHR: shown read-only, most recent first."""

    extra = 0
    can_delete = False
    show_change_link = False

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        if obj is not None:
            model = self.model
            recent = model.objects.filter(patient=obj).order_by(*model._meta.ordering, "-id").values("pk")[:RECENT_FACTS_SHOWN]
            base = formset.get_queryset

            def get_queryset(fs):
                # Cached: the formset asks for its queryset once per form.
                if not hasattr(fs, "_recent"):
                    fs._recent = base(fs).filter(pk__in=Subquery(recent))
                return fs._recent

            formset = type(formset.__name__, (formset,), {"get_queryset": get_queryset})
        return formset

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return self.fields


def _fact_inline(model_, fields_):
    return type(
        f"{model_.__name__}Inline",
        (FactInline,),
        {
            "model": model_,
            "fields": fields_,
            "verbose_name_plural": _("%(things)s (latest %(n)s)")
            % {"things": model_._meta.verbose_name_plural, "n": RECENT_FACTS_SHOWN},
        },
    )


CLINICAL_INLINES = [
    _fact_inline(
        Encounter, ("encounter_class", "status", "type_display", "period_start", "period_end", "location", "reason_display")
    ),
    _fact_inline(Condition, ("display", "code", "code_system", "clinical_status", "onset", "abatement")),
    _fact_inline(Observation, ("display", "code", "value_quantity", "value_unit", "value_text", "effective_at")),
    _fact_inline(MedicationRequest, ("display", "code", "status", "authored_on", "dosage_text")),
    _fact_inline(AllergyIntolerance, ("display", "code", "clinical_status", "criticality", "recorded_date")),
    _fact_inline(Procedure, ("display", "code", "status", "performed_start")),
    _fact_inline(Immunization, ("display", "code", "status", "occurrence")),
]


@admin.register(Patient)
class PatientAdmin(SimpleHistoryAdmin):
    list_display = ("mrn", "family_name", "given_name", "birth_date", "gender", "preferred_language", "active")
    list_display_links = ("mrn", "family_name")
    list_filter = ("active", "gender", "preferred_language", "preferred_channel", "deceased")
    search_fields = ("family_name",)  # shows the search box; the search itself is the selector's
    search_help_text = _("Name (family, given, or both), MRN, or birth date (YYYY-MM-DD or DD/MM/YYYY).")
    show_full_result_count = False
    list_per_page = 50
    readonly_fields = ("user", "created_at", "updated_at")
    fieldsets = (
        (_("Identity"), {"fields": ("mrn", ("given_name", "family_name"), ("birth_date", "gender"))}),
        (_("Contact"), {"fields": ("email", "phone", "address_line", ("postal_code", "city", "country"))}),
        (_("Preferences"), {"fields": (("preferred_language", "preferred_channel", "time_zone"),)}),
        (_("Status"), {"fields": (("active", "deceased", "deceased_at"), "user", ("created_at", "updated_at"))}),
    )

    # --- which patients ---------------------------------------------------------------------
    def get_queryset(self, request):
        return selectors.patients_for_user(user=request.user)

    def get_search_results(self, request, queryset, search_term):
        return queryset.filter(selectors.patient_search_q(search_term)), False

    def get_ordering(self, request):
        """While searching, the search's own order (by name case-insensitively, code point by code
        point, as the API orders its matches), which PostgreSQL answers by sorting the matches: in
        the list's order it walked the name index and tested every patient before the first match
        (see `selectors.search_sort_order`)."""
        if request.GET.get(SEARCH_VAR, "").strip():
            return selectors.search_sort_order()
        return super().get_ordering(request)

    def has_module_permission(self, request):
        return user_may_open_patients(request.user)

    def has_view_permission(self, request, obj=None):
        if obj is None:
            return user_may_open_patients(request.user)
        return selectors.patients_for_user(user=request.user).filter(pk=obj.pk).exists()

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return user_may_open_patients(request.user)
        return bool(user_editable_fields(request.user, obj) & STAFF_EDITABLE_FIELDS - {"email"})

    def has_add_permission(self, request):
        return request.user.has_perm("patients.add_patient")

    def has_delete_permission(self, request, obj=None):
        return False  # patients are never deleted; erasure pseudonymizes

    def _checked(self, request, object_id):
        """The patient if the user may see it, else 404 (never the admin's redirect or a 403)."""
        try:
            return selectors.patient_get_for_user(user=request.user, pk=int(object_id))
        except (TypeError, ValueError):
            raise Http404 from None

    def change_view(self, request, object_id, form_url="", extra_context=None):
        patient = self._checked(request, object_id)
        if request.method == "GET":
            services.access_log_record(
                actor=request.user, patient=patient, resource="record", channel=AccessChannel.ADMIN, request=request
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        patient = self._checked(request, object_id)
        services.access_log_record(
            actor=request.user, patient=patient, resource="history", channel=AccessChannel.ADMIN, request=request
        )
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        patient = self._checked(request, object_id)
        services.access_log_record(
            actor=request.user, patient=patient, resource="history", channel=AccessChannel.ADMIN, request=request
        )
        return super().history_form_view(request, object_id, version_id, extra_context)

    # --- what is shown ----------------------------------------------------------------------
    def get_inlines(self, request, obj):
        inlines = [IdentifierInline, ContactInline, CareTeamInline]
        if obj is not None and user_may_view_clinical(request.user):
            inlines += [ClinicalNoteInline, *CLINICAL_INLINES]
        return inlines

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        editable = user_editable_fields(request.user, obj)
        all_fields = [
            f for _name, opts in self.fieldsets for row in opts["fields"] for f in (row if isinstance(row, tuple) else (row,))
        ]
        return tuple(dict.fromkeys([*self.readonly_fields, *(f for f in all_fields if f not in editable)]))

    # --- writes go through services ---------------------------------------------------------
    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in form.changed_data if f in STAFF_EDITABLE_FIELDS}
        if change:
            saved = services.patient_update(actor=request.user, patient=obj, changes=data)
        else:
            saved = services.patient_create(
                actor=request.user, data={f: form.cleaned_data[f] for f in form.cleaned_data if f in STAFF_EDITABLE_FIELDS}
            )
        obj.pk = saved.pk
        obj.refresh_from_db()

    def save_formset(self, request, form, formset, change):
        patient = form.instance
        model = formset.model
        # What the admin's change message and history list report.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for f in formset.forms:
            if not f.has_changed() or not f.is_valid():
                continue
            deleting = f.instance.pk is not None and f.cleaned_data.get("DELETE")
            if model is CareTeamMember:
                if f.instance.pk is None:
                    formset.new_objects.append(
                        services.care_team_member_add(
                            actor=request.user,
                            patient=patient,
                            user=f.cleaned_data["user"],
                            role=f.cleaned_data["role"],
                            period_start=f.cleaned_data.get("period_start"),
                        )
                    )
                elif "period_end" in f.changed_data and f.cleaned_data.get("period_end"):
                    member = services.care_team_member_end(
                        actor=request.user, member=f.instance, period_end=f.cleaned_data["period_end"]
                    )
                    formset.changed_objects.append((member, ["period_end"]))
            elif model is ClinicalNote:
                if f.instance.pk is None and f.cleaned_data.get("text"):
                    formset.new_objects.append(
                        services.clinical_note_create(actor=request.user, patient=patient, text=f.cleaned_data["text"])
                    )
            elif model in (PatientIdentifier, PatientContact):
                if deleting:
                    services.patient_detail_row_delete(actor=request.user, row=f.instance)
                    formset.deleted_objects.append(f.instance)
                else:
                    is_new = f.instance.pk is None
                    row = f.save(commit=False)
                    row.patient = patient
                    services.patient_detail_row_save(actor=request.user, row=row)
                    (formset.new_objects.append(row) if is_new else formset.changed_objects.append((row, f.changed_data)))
            # Clinical fact inlines are read-only: nothing to save.


@admin.register(ClinicalNote)
class ClinicalNoteAdmin(SimpleHistoryAdmin):
    """Notes of the patients a clinician may see; care managers mark them reviewed."""

    list_display = ("created_at", "patient", "author", "reviewed_at")
    list_filter = (("reviewed_at", admin.EmptyFieldListFilter),)
    list_select_related = ("patient", "author")
    readonly_fields = ("patient", "author", "text", "encounter", "created_at", "reviewed_by", "reviewed_at")
    fields = readonly_fields
    actions = ["mark_reviewed"]
    show_full_result_count = False
    change_form_template = "admin/patients/clinicalnote/change_form.html"

    def get_urls(self):
        review = self.admin_site.admin_view(self.review_view)
        return [path("<path:object_id>/review/", review, name="patients_clinicalnote_review"), *super().get_urls()]

    def review_view(self, request, object_id):
        """The note page's "Mark reviewed" button: the same service as the list action."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        note = self.get_queryset(request).select_related("patient").filter(pk=object_id if str(object_id).isdigit() else None)
        note = note.first()
        if note is None:
            raise Http404
        try:
            services.clinical_note_review(actor=request.user, note=note)
        except PermissionDenied:
            messages.error(request, _("Only the patient's care manager can review this note."))
        else:
            messages.success(request, _("The note is marked reviewed."))
        return HttpResponseRedirect(reverse("admin:patients_clinicalnote_change", args=[note.pk]))

    def get_queryset(self, request):
        return selectors.clinical_notes_for_user(user=request.user)

    def has_module_permission(self, request):
        return user_may_view_clinical(request.user)

    def has_view_permission(self, request, obj=None):
        if not user_may_view_clinical(request.user):
            return False
        return obj is None or self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_add_permission(self, request):
        return False  # notes are written on the patient's page

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        note = self.get_queryset(request).filter(pk=object_id if str(object_id).isdigit() else None).first()
        if note is None:
            raise Http404
        services.access_log_record(
            actor=request.user, patient=note.patient, resource="notes", channel=AccessChannel.ADMIN, request=request
        )
        extra_context = {
            **(extra_context or {}),
            "may_review": note.reviewed_at is None and user_may_review_note(request.user, note),
            "review_url": reverse("admin:patients_clinicalnote_review", args=[note.pk]),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description=_("Mark selected notes reviewed"))
    def mark_reviewed(self, request, queryset):
        done = 0
        for note in queryset.select_related("patient"):
            try:
                services.clinical_note_review(actor=request.user, note=note)
                done += 1
            except PermissionDenied:
                messages.warning(request, _("Note %(id)s: only the patient's care manager can review it.") % {"id": note.pk})
        if done:
            messages.success(request, _("%(n)d note(s) marked reviewed.") % {"n": done})


_NOTE_LINK = re.compile(r"^/admin/patients/clinicalnote/(\d+)/change/$")


@notification_describer_register
def note_notification_subjects(notifications, user) -> dict[int, NotificationSubject]:
    """The patient and the author of the notes that notifications point to, for the notes the
    reader may open (one query for the page)."""
    wanted: dict[int, list[int]] = {}
    for notification in notifications:
        match = _NOTE_LINK.match(notification.link or "")
        if match:
            wanted.setdefault(int(match.group(1)), []).append(notification.pk)
    if not wanted:
        return {}
    notes = selectors.clinical_notes_for_user(user=user).filter(pk__in=wanted).select_related("patient", "author")
    found = {}
    for note in notes:
        subject = NotificationSubject(patient=str(note.patient), author=note.author.get_full_name() or note.author.email)
        for notification_id in wanted[note.pk]:
            found[notification_id] = subject
    return found


class AccessResourceFilter(admin.SimpleListFilter):
    title = _("what was read")
    parameter_name = "resource"

    def lookups(self, request, model_admin):
        return [(code, label) for code, label in ACCESS_RESOURCE_LABELS.items()]

    def queryset(self, request, queryset):
        return queryset.filter(resource=self.value()) if self.value() else queryset


@admin.register(AccessLog)
class AccessLogAdmin(admin.ModelAdmin):
    """Read-only for administrators: the log is evidence, not data to edit. Resources read are
    named in words (`patients.access`), patients by their record."""

    list_display = ("created_at", "who", "patient", "action", "resource_read", "channel", "ip_address")
    list_select_related = ("patient",)
    fields = (
        "created_at",
        "who",
        "actor_label",
        "patient",
        "action",
        "resource_read",
        "channel",
        "ip_address",
        "user_agent",
        "path",
        "chain_seq",
        "entry_hash",
    )
    readonly_fields = fields
    list_filter = ("channel", "action", AccessResourceFilter, ("created_at", admin.DateFieldListFilter))
    search_fields = ("=actor_label", "=patient__mrn")
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_module_permission(self, request):
        return user_is_administrator(request.user)

    def has_view_permission(self, request, obj=None):
        return user_is_administrator(request.user)

    @admin.display(description=_("what was read"), ordering="resource")
    def resource_read(self, obj):
        return access_resource_label(obj.resource)

    @admin.display(description=_("who"), ordering="actor_label")
    def who(self, obj):
        words = getattr(obj, "actor_in_words", None)
        if words is None:  # the change page: one row
            words = _actor_words(obj, selectors.people_named([obj.actor_id]))
        return words

    def get_changelist_instance(self, request):
        # Name the page's readers in three queries, whatever the number of rows.
        changelist = super().get_changelist_instance(request)
        changelist.result_list = list(changelist.result_list)
        names = selectors.people_named(row.actor_id for row in changelist.result_list)
        for row in changelist.result_list:
            row.actor_in_words = _actor_words(row, names)
        return changelist

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _actor_words(row: AccessLog, names: dict[int, str]) -> str:
    return actor_in_words(actor_id=row.actor_id, actor_label=row.actor_label, names=names)
