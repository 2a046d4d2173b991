from django.contrib import admin, messages
from django.http import Http404
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

from accounts.permissions import user_is_administrator

from . import services
from .models import Notification, OutboxItem
from .selectors import notifications_for_user


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Each staff member sees their own in-app notifications here."""

    list_display = ("created_at", "title", "is_read")
    list_filter = (("read_at", admin.EmptyFieldListFilter),)
    readonly_fields = ("title", "body", "open_link", "created_at", "read_at")
    fields = readonly_fields
    actions = ["mark_read"]

    def get_queryset(self, request):
        return notifications_for_user(user=request.user)

    @admin.display(description=_("link"))
    def open_link(self, obj):
        # Only a link into this site is clickable; anything else is shown as text.
        if obj.link and url_has_allowed_host_and_scheme(obj.link, allowed_hosts=None) and obj.link.startswith("/"):
            return format_html('<a href="{}">{}</a>', obj.link, _("Open"))
        return obj.link or "–"

    @admin.display(boolean=True, description=_("read"))
    def is_read(self, obj):
        return obj.read_at is not None

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404
        services.notification_mark_read(actor=request.user, notification=obj)
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description=_("Mark as read"))
    def mark_read(self, request, queryset):
        for n in queryset:
            services.notification_mark_read(actor=request.user, notification=n)
        messages.success(request, _("Marked as read."))


@admin.register(OutboxItem)
class OutboxItemAdmin(admin.ModelAdmin):
    """Administrators follow delivery here; rows are written and changed only by services."""

    list_display = ("id", "kind", "topic", "channel", "status", "attempts", "available_at", "done_at")
    list_filter = ("kind", "status", "channel")
    search_fields = ("=id", "topic", "=dedupe_key")
    show_full_result_count = False

    def has_module_permission(self, request):
        return user_is_administrator(request.user)

    def has_view_permission(self, request, obj=None):
        return user_is_administrator(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
