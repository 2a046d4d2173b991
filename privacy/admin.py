"""Admin for privacy requests and retention rules.

Staff who see a patient record requests received by letter or at the desk; only administrators
decide an erasure, download an export or change a retention term. Every write calls a service.
"""

from django.apps import apps
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from accounts.permissions import user_is_administrator
from core.forms import form_errors_from_service
from patients.permissions import user_may_open_patients

from .forms import DecisionForm, MentionDecisionForm, StaffPrivacyRequestForm
from .models import (
    ErasureMention,
    PrivacyRequest,
    PrivacyRequestChannel,
    PrivacyRequestKind,
    PrivacyRequestStatus,
    RetentionRule,
)
from .selectors import (
    erasure_mention_get_for_user,
    erasure_mentions_for_user,
    privacy_request_get_for_user,
    privacy_requests_for_user,
)
from .services import (
    erasure_mention_decide,
    privacy_request_create,
    privacy_request_decide,
    privacy_request_retry,
)
from .services.retention import retention_apply, retention_rule_update


@admin.register(PrivacyRequest)
class PrivacyRequestAdmin(admin.ModelAdmin):
    list_display = ("id", "patient", "kind", "status", "channel", "requested_at", "decided_at")
    list_filter = ("kind", "status", "channel")
    list_select_related = ("patient",)
    show_full_result_count = False
    list_per_page = 50
    actions = ["retry_failed"]
    change_form_template = "privacy/admin_change_form.html"
    fields = (
        "patient",
        ("kind", "status", "channel"),
        ("requested_by", "requested_at"),
        "reason",
        ("decided_by", "decided_at"),
        "decision_note",
        ("started_at", "completed_at"),
        ("ready_at", "expires_at"),
        "error",
    )
    readonly_fields = tuple(f for row in fields for f in (row if isinstance(row, tuple) else (row,)))

    # --- who sees what ----------------------------------------------------------------------
    def get_queryset(self, request):
        return privacy_requests_for_user(user=request.user).select_related("patient")

    def _may_use(self, request) -> bool:
        user = request.user
        return user.is_active and user.is_staff and (user_is_administrator(user) or user_may_open_patients(user))

    def has_module_permission(self, request):
        return self._may_use(request)

    def has_view_permission(self, request, obj=None):
        if obj is None:
            return self._may_use(request)
        return self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_add_permission(self, request):
        return self._may_use(request)

    def has_change_permission(self, request, obj=None):
        return False  # requests change only through decisions and tasks

    def has_delete_permission(self, request, obj=None):
        return False  # the record of a request is kept

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not user_is_administrator(request.user):
            actions.pop("retry_failed", None)
        return actions

    # --- pages ------------------------------------------------------------------------------
    def get_urls(self):
        own = [
            path(
                "<path:object_id>/decide/",
                self.admin_site.admin_view(self.decide_view),
                name="privacy_privacyrequest_decide",
            ),
        ]
        return own + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        item = privacy_request_get_for_user(user=request.user, pk=object_id)  # 404, not the admin's redirect
        links = []
        if user_is_administrator(request.user):
            if item.kind == PrivacyRequestKind.ERASURE and item.status == PrivacyRequestStatus.REQUESTED:
                links.append((reverse("admin:privacy_privacyrequest_decide", args=[item.pk]), _("Approve or reject")))
            if (
                item.kind == PrivacyRequestKind.EXPORT
                and item.status == PrivacyRequestStatus.DONE
                and item.json_path
                and not item.link_expired()
            ):
                links.append((reverse("privacy:download", args=[item.download_token, "pdf"]), _("Download the PDF")))
                links.append((reverse("privacy:download", args=[item.download_token, "json"]), _("Download the JSON")))
        extra_context = {**(extra_context or {}), "privacy_links": links}
        return super().change_view(request, object_id, form_url, extra_context)

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = StaffPrivacyRequestForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            try:
                created = privacy_request_create(
                    actor=request.user,
                    patient=form.cleaned_data["patient"],
                    kind=form.cleaned_data["kind"],
                    channel=PrivacyRequestChannel.ADMIN,
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as exc:
                form_errors_from_service(form, exc)
            else:
                messages.success(request, _("Request #%(id)s recorded.") % {"id": created.pk})
                return redirect("admin:privacy_privacyrequest_change", created.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Record a privacy request"),
            "form": form,
        }
        return TemplateResponse(request, "privacy/admin_add.html", context)

    def decide_view(self, request, object_id):
        item = privacy_request_get_for_user(user=request.user, pk=object_id)
        if not user_is_administrator(request.user):
            raise PermissionDenied  # seen, but only an administrator decides
        form = DecisionForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                privacy_request_decide(
                    actor=request.user,
                    request=item,
                    approve=form.cleaned_data["decision"] == "approve",
                    note=form.cleaned_data["decision_note"],
                )
            except ValidationError as exc:
                form_errors_from_service(form, exc)
            else:
                messages.success(request, _("Decision recorded for request #%(id)s.") % {"id": item.pk})
                return redirect("admin:privacy_privacyrequest_change", item.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Decide on erasure request #%(id)s") % {"id": item.pk},
            "original": item,
            "form": form,
        }
        return TemplateResponse(request, "privacy/admin_decide.html", context)

    @admin.action(description=gettext_lazy("Run the selected failed requests again"))
    def retry_failed(self, request, queryset):
        done = 0
        for item in queryset.filter(status=PrivacyRequestStatus.FAILED):
            try:
                privacy_request_retry(actor=request.user, request=item)
                done += 1
            except ValidationError as exc:
                messages.warning(request, f"#{item.pk}: {' '.join(exc.messages)}")
        messages.info(request, _("%(n)d request(s) will run again.") % {"n": done})


@admin.register(RetentionRule)
class RetentionRuleAdmin(SimpleHistoryAdmin):
    list_display = ("category", "keep_days", "active", "updated_at", "updated_by")
    list_select_related = ("updated_by",)
    fields = ("category", "keep_days", "active", "updated_at", "updated_by")
    readonly_fields = ("category", "updated_at", "updated_by")
    actions = ["preview"]

    def _administrator(self, request) -> bool:
        return user_is_administrator(request.user)

    def has_module_permission(self, request):
        return self._administrator(request)

    def has_view_permission(self, request, obj=None):
        return self._administrator(request)

    def has_change_permission(self, request, obj=None):
        return self._administrator(request)

    def has_add_permission(self, request):
        return False  # one rule per category, created with the app

    def has_delete_permission(self, request, obj=None):
        return False  # switch a rule off instead

    def save_model(self, request, obj, form, change):
        saved = retention_rule_update(
            actor=request.user, rule=obj, keep_days=form.cleaned_data["keep_days"], active=form.cleaned_data["active"]
        )
        obj.refresh_from_db()
        obj.pk = saved.pk

    @admin.action(description=gettext_lazy("Show what would be purged now (changes nothing)"))
    def preview(self, request, queryset):
        counts = retention_apply(actor=request.user, dry_run=True, now=timezone.now())
        labels = dict(RetentionRule._meta.get_field("category").flatchoices)
        lines = format_html_join(", ", "{}: {}", ((labels.get(k, k), n) for k, n in counts.items()))
        messages.info(request, format_html("{} {}", _("Would be purged now:"), lines or "—"))


@admin.register(ErasureMention)
class ErasureMentionAdmin(SimpleHistoryAdmin):
    """Other patients' records that quote an erased patient, for administrators to redact or keep."""

    list_display = ("id", "status", "record", "owner", "texts_shown", "found_at", "decided_by", "decided_at")
    list_display_links = ("id", "record")
    list_filter = ("status",)
    show_full_result_count = False
    list_per_page = 50
    fields = (
        "request",
        ("model", "object_id"),
        "owner_patient",
        "texts",
        "in_current_text",
        "found_at",
        "status",
        ("decided_by", "decided_at"),
        "decision_reason",
    )
    readonly_fields = tuple(f for row in fields for f in (row if isinstance(row, tuple) else (row,)))

    def get_queryset(self, request):
        return erasure_mentions_for_user(user=request.user)

    def _administrator(self, request) -> bool:
        return user_is_administrator(request.user)

    def has_module_permission(self, request):
        return self._administrator(request)

    def has_view_permission(self, request, obj=None):
        return self._administrator(request)

    def has_add_permission(self, request):
        return False  # found by erasures only

    def has_change_permission(self, request, obj=None):
        return False  # decided on its own page, through the service

    def has_delete_permission(self, request, obj=None):
        return False  # the decision is the record

    @admin.display(description=gettext_lazy("record"))
    def record(self, obj):
        return _record_label(obj)

    @admin.display(description=gettext_lazy("in the record of"), ordering="owner_patient__family_name")
    def owner(self, obj):
        return str(obj.owner_patient) if obj.owner_patient_id else "—"

    @admin.display(description=gettext_lazy("words found"))
    def texts_shown(self, obj):
        return "; ".join(obj.texts) if obj.texts else "—"

    def get_urls(self):
        own = [
            path(
                "<path:object_id>/decide/",
                self.admin_site.admin_view(self.decide_view),
                name="privacy_erasuremention_decide",
            ),
        ]
        return own + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        item = erasure_mention_get_for_user(user=request.user, pk=object_id)  # 404, not the admin's redirect
        return redirect("admin:privacy_erasuremention_decide", item.pk)

    def decide_view(self, request, object_id):
        item = erasure_mention_get_for_user(user=request.user, pk=object_id)
        form = MentionDecisionForm(request.POST if request.method == "POST" else None)
        status = 200
        if request.method == "POST":
            if form.is_valid():
                redact = form.cleaned_data["decision"] == "redact"
                try:
                    erasure_mention_decide(
                        actor=request.user, mention=item, redact=redact, reason=form.cleaned_data["decision_reason"]
                    )
                except ValidationError as exc:
                    form_errors_from_service(form, exc)
                else:
                    self.log_change(request, item, _("Redacted") if redact else _("Kept"))
                    messages.success(request, _("Decision recorded for mention #%(id)s.") % {"id": item.pk})
                    return redirect("admin:privacy_erasuremention_changelist")
            status = 400
        item.refresh_from_db()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Mention #%(id)s of an erased patient") % {"id": item.pk},
            "original": item,
            "form": form,
            "record_label": _record_label(item),
            "record_url": _record_url(item),
            "owner_label": str(item.owner_patient) if item.owner_patient_id else "—",
            "decided_by": (item.decided_by.get_full_name() or item.decided_by.email) if item.decided_by_id else "—",
        }
        return TemplateResponse(request, "privacy/admin_mention_decide.html", context, status=status)


def _record_label(item: ErasureMention) -> str:
    try:
        model = apps.get_model(item.model)
    except (LookupError, ValueError):
        return f"{item.model} #{item.object_id}"
    return f"{model._meta.verbose_name} #{item.object_id}"


def _record_url(item: ErasureMention) -> str | None:
    app_label, _sep, model_name = item.model.partition(".")
    try:
        return reverse(f"admin:{app_label}_{model_name}_change", args=[item.object_id])
    except NoReverseMatch:
        return None
