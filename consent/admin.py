"""Staff UI for consents. Privacy-request admin lives in admin_privacy; the audit report in report_admin.

Consents are evidence: the admin never edits one. Staff record a consent (in person or on paper)
and withdraw one through the services; templates get new versions, never edits; the ledger is
read-only. Which consents a user sees comes from consent.selectors (the patients they may open), and
the state shown is each consent's effective status by the one consent rule.
"""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Exists, OuterRef
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.files import private_file_path
from core.forms import form_errors_from_service
from core.http import client_ip, client_user_agent
from patients.models import AccessChannel
from patients.selectors import patients_for_user
from patients.services import access_log_record

from . import report_admin  # noqa: F401 - registers its admin pages
from .forms import (
    ConsentTemplateVersionForm,
    StaffConsentRecordForm,
    StaffConsentWithdrawForm,
)
from .models import (
    LANGUAGES,
    Consent,
    ConsentLedgerEntry,
    ConsentMethod,
    ConsentStatus,
    ConsentTemplate,
    ConsentTemplateVersion,
)
from .permissions import user_is_administrator, user_may_see_consent_rates, user_may_see_consents
from .selectors import (
    SMALL_COUNT_THRESHOLD,
    consent_get_for_user,
    consent_rates_by_purpose,
    consent_shown_status,
    consents_for_user,
)
from .services import (
    consent_sign,
    consent_template_version_create,
    consent_template_version_is_locked,
    consent_withdraw,
)
from .views import receipt_response

SCAN_TYPES = ((b"%PDF", "application/pdf", ".pdf"), (b"\xff\xd8\xff", "image/jpeg", ".jpg"), (b"\x89PNG", "image/png", ".png"))


def _log(request, patient, resource: str) -> None:
    access_log_record(actor=request.user, patient=patient, resource=resource, channel=AccessChannel.ADMIN, request=request)


class _ReadOnlyForEveryone:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class EffectiveStatusFilter(admin.SimpleListFilter):
    """Active, withdrawn or expired by the consent rule now, not by the stored status, which the
    expiry sweep updates only after the fact."""

    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return ConsentStatus.choices

    def queryset(self, request, queryset):
        if self.value() in ConsentStatus.values:
            return queryset.filter(effective_status=self.value())
        return queryset


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    list_display = ("signed_at", "patient", "purpose", "shown_status", "method", "version_number", "language")
    list_filter = ("purpose", EffectiveStatusFilter, "method")
    list_select_related = ("patient", "version")
    search_fields = ("patient__mrn",)  # shows the search box; the search itself is by exact MRN
    search_help_text = _("Medical record number (MRN), exactly.")
    show_full_result_count = False
    list_per_page = 50
    actions = ["withdraw_selected"]
    change_list_template = "consent/consent_change_list.html"
    change_form_template = "consent/admin_change_form.html"
    autocomplete_fields = ("patient",)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "patient",
                    "purpose",
                    "shown_status",
                    "version",
                    "language",
                    "signer_name",
                    "representative_name",
                    "representative_capacity",
                )
            },
        ),
        (_("How and where"), {"fields": ("method", "signed_at", "witness", "recorded_by", "ip_address", "user_agent")}),
        (_("Evidence"), {"fields": ("text_sha256", "receipt_sha256", "receipt_link", "scan_link")}),
        (_("End"), {"fields": ("expires_at", "withdrawn_at", "withdrawn_by", "withdrawal_reason")}),
    )
    readonly_fields = tuple(f for _name, opts in fieldsets for f in opts["fields"])

    # --- which consents ---------------------------------------------------------------------
    def get_queryset(self, request):
        return consents_for_user(user=request.user)

    def get_search_results(self, request, queryset, search_term):
        term = " ".join(search_term.split())[:64]
        return (queryset.filter(patient__mrn__iexact=term) if term else queryset), False

    def has_module_permission(self, request):
        return user_may_see_consents(request.user) or user_may_see_consent_rates(request.user)

    def has_view_permission(self, request, obj=None):
        if obj is None:
            return self.has_module_permission(request)
        return user_may_see_consents(request.user) and self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_add_permission(self, request):
        return user_may_see_consents(request.user)

    def has_change_permission(self, request, obj=None):
        return False  # a consent is evidence: it is withdrawn, never edited

    def has_delete_permission(self, request, obj=None):
        return False

    def has_withdraw_permission(self, request):
        return user_may_see_consents(request.user)

    # --- what is shown ----------------------------------------------------------------------
    @admin.display(description=_("status"), ordering="effective_status")
    def shown_status(self, obj):
        status = consent_shown_status(obj)
        return ConsentStatus(status).label if status else "—"

    @admin.display(description=_("version"), ordering="version__version")
    def version_number(self, obj):
        return obj.version.version

    @admin.display(description=_("receipt"))
    def receipt_link(self, obj):
        if not obj.receipt_path:
            return "—"
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:consent_consent_receipt", args=[obj.pk]), gettext("Download (PDF)")
        )

    @admin.display(description=_("scanned form"))
    def scan_link(self, obj):
        if not obj.scanned_document:
            return "—"
        return format_html('<a href="{}">{}</a>', reverse("admin:consent_consent_scan", args=[obj.pk]), gettext("Download"))

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("rates/", wrap(self.rates_view), name="consent_consent_rates"),
            # "cacheable": the files set their own Cache-Control (private, no-store).
            path("<path:object_id>/receipt/", wrap(self.receipt_view, cacheable=True), name="consent_consent_receipt"),
            path("<path:object_id>/scan/", wrap(self.scan_view, cacheable=True), name="consent_consent_scan"),
            path("<path:object_id>/withdraw/", wrap(self.withdraw_view), name="consent_consent_withdraw"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        user = request.user
        if not user_may_see_consents(user):
            if user_may_see_consent_rates(user):
                return HttpResponseRedirect(reverse("admin:consent_consent_rates"))
            raise PermissionDenied
        extra_context = extra_context or {}
        if user_may_see_consent_rates(user):
            extra_context["rates_url"] = reverse("admin:consent_consent_rates")
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        consent = consent_get_for_user(user=request.user, pk=object_id)
        if request.method == "POST":
            raise PermissionDenied
        _log(request, consent.patient, "consents")
        extra_context = extra_context or {}
        if consent_shown_status(consent) == ConsentStatus.ACTIVE:
            extra_context["object_links"] = [
                (reverse("admin:consent_consent_withdraw", args=[consent.pk]), gettext("Withdraw this consent"))
            ]
        return super().change_view(request, object_id, form_url, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        consent_get_for_user(user=request.user, pk=object_id)
        return super().history_view(request, object_id, extra_context)

    # --- files ------------------------------------------------------------------------------
    def receipt_view(self, request, object_id):
        consent = consent_get_for_user(user=request.user, pk=object_id)
        response = receipt_response(consent)
        _log(request, consent.patient, "consent_receipt")
        return response

    def scan_view(self, request, object_id):
        consent = consent_get_for_user(user=request.user, pk=object_id)
        if not consent.scanned_document:
            raise Http404("No scanned form.")
        try:
            handle = private_file_path(consent.scanned_document).open("rb")
        except (OSError, ValueError):
            raise Http404("No scanned form.") from None
        head = handle.read(8)
        handle.seek(0)
        content_type, suffix = next(
            ((t, s) for magic, t, s in SCAN_TYPES if head.startswith(magic)), ("application/octet-stream", "")
        )
        response = FileResponse(
            handle, as_attachment=True, filename=f"consent-{consent.pk}-scan{suffix}", content_type=content_type
        )
        response["Cache-Control"] = "private, no-store"
        _log(request, consent.patient, "consent_scan")
        return response

    # --- writes go through services ---------------------------------------------------------
    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        patients = patients_for_user(user=request.user)
        initial = {}
        wanted = request.GET.get("patient", "")
        if request.method == "GET" and wanted.isdigit() and int(wanted) <= 2**63 - 1:
            initial["patient"] = patients.filter(pk=int(wanted)).first()
        form = StaffConsentRecordForm(
            request.POST if request.method == "POST" else None,
            request.FILES if request.method == "POST" else None,
            patients=patients,
            admin_site=self.admin_site,
            initial=initial,
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                consent = consent_sign(
                    actor=request.user,
                    patient=data["patient"],
                    purpose=data["purpose"],
                    method=data["method"],
                    signer_name=data["signer_name"],
                    representative_capacity=data["representative_capacity"],
                    language=data["language"] or None,
                    witness=request.user if data["method"] == ConsentMethod.IN_PERSON else None,
                    scanned_document=data["scanned_document"],
                    expires_at=data["expires_at"],
                    ip_address=client_ip(request),
                    user_agent=client_user_agent(request),
                )
            except ValidationError as exc:
                form_errors_from_service(form, exc, aliases={"witness": "method", "version": "purpose"})
            else:
                self.log_addition(request, consent, [{"added": {}}])
                messages.success(request, gettext("The consent is recorded; its receipt is ready."))
                return HttpResponseRedirect(reverse("admin:consent_consent_change", args=[quote(consent.pk)]))
        fieldsets = [
            (None, {"fields": ["patient", "purpose", "method", "signer_name", "representative_capacity", "language"]}),
            (_("Paper form"), {"fields": ["scanned_document"]}),
            (_("Validity"), {"fields": ["expires_at"]}),
        ]
        return self._form_page(
            request,
            form,
            fieldsets,
            title=gettext("Record a consent"),
            intro=gettext(
                "Record a consent the patient gave in person (you are recorded as the witness) or on a signed paper "
                "form (attach the scan). The text recorded is the version in force, in the language the patient read."
            ),
            submit_label=gettext("Record the consent"),
        )

    def _form_page(self, request, form, fieldsets, *, title, intro, submit_label):
        adminform = helpers.AdminForm(form, fieldsets, {})
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "intro": intro,
            "form": form,
            "adminform": adminform,
            "media": self.media + adminform.media,
            "submit_label": submit_label,
        }
        return TemplateResponse(request, "consent/admin_form.html", context)

    @admin.action(description=_("Withdraw selected consents"), permissions=["withdraw"])
    def withdraw_selected(self, request, queryset):
        return self._withdraw_page(request, list(queryset.select_related("patient")), action="withdraw_selected")

    def withdraw_view(self, request, object_id):
        consent = consent_get_for_user(user=request.user, pk=object_id)
        return self._withdraw_page(request, [consent], action=None)

    def _withdraw_page(self, request, consents, *, action):
        form = StaffConsentWithdrawForm(request.POST if request.POST.get("confirm") == "yes" else None)
        if form.is_bound and form.is_valid():
            done = 0
            for consent in consents:
                try:
                    consent_withdraw(actor=request.user, consent=consent, reason=form.cleaned_data["reason"])
                except ValidationError as exc:
                    messages.warning(request, f"{consent}: {' '.join(exc.messages)}")
                else:
                    self.log_change(request, consent, gettext("Withdrawn: %(reason)s") % {"reason": form.cleaned_data["reason"]})
                    done += 1
            if done:
                messages.success(request, gettext("%(n)d consent(s) withdrawn.") % {"n": done})
            return HttpResponseRedirect(reverse("admin:consent_consent_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Withdraw consents"),
            "consents": consents,
            "form": form,
            "action": action,
        }
        return TemplateResponse(request, "consent/admin_withdraw.html", context)

    # --- counts for administrators and outreach ---------------------------------------------
    def rates_view(self, request):
        if not user_may_see_consent_rates(request.user):
            raise PermissionDenied
        rates = consent_rates_by_purpose()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Consent rates by purpose"),
            "rows": [{**row, "counts": (row["active"], row["withdrawn"], row["expired"])} for row in rates["rows"]],
            "patients": rates["patients"],
            "threshold": SMALL_COUNT_THRESHOLD,
        }
        return TemplateResponse(request, "consent/admin_rates.html", context)


# --- templates and their versions (administrators) ------------------------------------------


class _AdministratorsOnly:
    def has_module_permission(self, request):
        return user_is_administrator(request.user)

    def has_view_permission(self, request, obj=None):
        return user_is_administrator(request.user)


class VersionInline(_ReadOnlyForEveryone, admin.TabularInline):
    model = ConsentTemplateVersion
    extra = 0
    fields = ("version", "effective_from", "title_en", "signed")
    readonly_fields = fields
    show_change_link = True
    verbose_name_plural = _("versions (a signed version can never change: publish a new one)")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(has_consents=Exists(Consent.objects.filter(version=OuterRef("pk"))))

    @admin.display(description=_("signed"), boolean=True)
    def signed(self, obj):
        return obj.has_consents


@admin.register(ConsentTemplate)
class ConsentTemplateAdmin(_AdministratorsOnly, _ReadOnlyForEveryone, admin.ModelAdmin):
    """Templates come into being with their first version; the wording lives in versions."""

    list_display = ("purpose", "active", "version_count", "description")
    fields = ("purpose", "active", "description")
    readonly_fields = fields
    inlines = [VersionInline]
    change_form_template = "consent/admin_change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_versions=Count("versions"))

    @admin.display(description=_("versions"), ordering="n_versions")
    def version_count(self, obj):
        return obj.n_versions

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["object_links"] = [
                (
                    reverse("admin:consent_consenttemplateversion_add") + f"?purpose={obj.purpose}",
                    gettext("Publish a new version"),
                )
            ]
        return super().render_change_form(request, context, add, change, form_url, obj)


@admin.register(ConsentTemplateVersion)
class ConsentTemplateVersionAdmin(_AdministratorsOnly, admin.ModelAdmin):
    list_display = ("template", "version", "effective_from", "title_en", "created_by", "signed")
    list_filter = ("template__purpose",)
    list_select_related = ("template", "created_by")
    change_form_template = "consent/admin_change_form.html"
    fieldsets = (
        (None, {"fields": ("template", "version", "effective_from", "locked", "created_by", "created_at")}),
        (_("English"), {"fields": ("title_en", "text_en")}),
        (_("French"), {"fields": ("title_fr", "text_fr")}),
        (_("Italian"), {"fields": ("title_it", "text_it")}),
    )
    readonly_fields = tuple(f for _name, opts in fieldsets for f in opts["fields"])

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(has_consents=Exists(Consent.objects.filter(version=OuterRef("pk"))))

    def has_add_permission(self, request):
        return user_is_administrator(request.user)

    def has_change_permission(self, request, obj=None):
        # Published wording is evidence of what patients read: a signed version is locked, and
        # an unsigned one is corrected by publishing the next version (there is no edit service).
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("signed"), boolean=True)
    def signed(self, obj):
        return obj.has_consents

    @admin.display(description=_("locked"))
    def locked(self, obj):
        if consent_template_version_is_locked(obj):
            return gettext("Yes: patients signed this wording, it can never change.")
        return gettext("Not signed yet. To correct it, publish a new version.")

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["object_links"] = [
                (
                    reverse("admin:consent_consenttemplateversion_add") + f"?from={obj.pk}",
                    gettext("Publish a new version from this one"),
                )
            ]
        return super().render_change_form(request, context, add, change, form_url, obj)

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            form = ConsentTemplateVersionForm(request.POST)
        else:
            form = ConsentTemplateVersionForm(initial=self._initial(request))
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            try:
                version = consent_template_version_create(
                    actor=request.user,
                    purpose=data["purpose"],
                    effective_from=data["effective_from"],
                    titles={lang: data[f"title_{lang}"] for lang in LANGUAGES},
                    texts={lang: data[f"text_{lang}"] for lang in LANGUAGES},
                )
            except ValidationError as exc:
                form_errors_from_service(form, exc)
            else:
                self.log_addition(request, version, [{"added": {}}])
                messages.success(
                    request, gettext("Version %(n)d of “%(t)s” is published.") % {"n": version.version, "t": version.template}
                )
                return HttpResponseRedirect(reverse("admin:consent_consenttemplateversion_change", args=[version.pk]))
        fieldsets = [
            (None, {"fields": ["purpose", "effective_from"]}),
            (_("English"), {"fields": ["title_en", "text_en"]}),
            (_("French"), {"fields": ["title_fr", "text_fr"]}),
            (_("Italian"), {"fields": ["title_it", "text_it"]}),
        ]
        adminform = helpers.AdminForm(form, fieldsets, {})
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Publish a consent text"),
            "intro": gettext(
                "A new version of a purpose's text, in English, French and Italian. Patients sign the latest version in "
                "force; what they signed before stays as it was."
            ),
            "form": form,
            "adminform": adminform,
            "media": self.media + adminform.media,
            "submit_label": gettext("Publish"),
        }
        return TemplateResponse(request, "consent/admin_form.html", context)

    def _initial(self, request) -> dict:
        source = request.GET.get("from", "")
        if source.isdigit() and int(source) <= 2**31:
            version = ConsentTemplateVersion.objects.select_related("template").filter(pk=int(source)).first()
            if version is not None:
                return {
                    "purpose": version.template.purpose,
                    **{f"title_{lang}": getattr(version, f"title_{lang}") for lang in LANGUAGES},
                    **{f"text_{lang}": getattr(version, f"text_{lang}") for lang in LANGUAGES},
                }
        return {"purpose": request.GET.get("purpose", "")}


@admin.register(ConsentLedgerEntry)
class ConsentLedgerEntryAdmin(_AdministratorsOnly, _ReadOnlyForEveryone, admin.ModelAdmin):
    """The hash-chained ledger, read-only for administrators: it is evidence, not data to edit."""

    list_display = ("chain_seq", "at", "event", "purpose", "patient", "actor_label", "short_text_hash")
    list_filter = ("event", "purpose")
    list_select_related = ("patient",)
    search_fields = ("=patient__mrn",)
    search_help_text = _("Medical record number (MRN), exactly.")
    show_full_result_count = False
    fields = (
        "chain_seq",
        "at",
        "event",
        "purpose",
        "consent",
        "patient",
        "actor",
        "actor_label",
        "text_sha256",
        "receipt_sha256",
        "detail",
        "prev_hash",
        "entry_hash",
    )
    readonly_fields = fields

    @admin.display(description=_("text SHA-256"))
    def short_text_hash(self, obj):
        return f"{obj.text_sha256[:12]}…"
