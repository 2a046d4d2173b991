from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.contrib import admin, messages
from django.http import Http404
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

from accounts.permissions import user_is_administrator

from . import services
from .models import Notification, OutboxItem
from .selectors import notifications_for_user


@dataclass(frozen=True)
class NotificationSubject:
    """Whom a notification is about and who caused it, as the reader may see them."""

    patient: str = ""
    author: str = ""


# The apps above this one know what a notification's link points to (a note: its patient and its
# author); this one does not. Each describer takes the notifications of one page and their reader
# and answers {notification id: NotificationSubject} for the links it knows, in a fixed number of
# queries and only for what the reader may open.
NotificationDescriber = Callable[[Iterable[Notification], object], dict[int, NotificationSubject]]
_describers: list[NotificationDescriber] = []


def notification_describer_register(describer: NotificationDescriber) -> NotificationDescriber:
    if describer not in _describers:
        _describers.append(describer)
    return describer


def notification_subjects(notifications: Iterable[Notification], *, user) -> dict[int, NotificationSubject]:
    notifications = list(notifications)
    found: dict[int, NotificationSubject] = {}
    for describer in _describers:
        found.update(describer(notifications, user))
    return found


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Each staff member sees their own in-app notifications here."""

    list_display = ("created_at", "title", "patient", "author", "is_read")
    list_filter = (("read_at", admin.EmptyFieldListFilter),)
    readonly_fields = ("title", "patient", "author", "body", "open_link", "created_at", "read_at")
    fields = readonly_fields
    actions = ["mark_read"]

    def get_queryset(self, request):
        return notifications_for_user(user=request.user)

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        rows = list(changelist.result_list)  # evaluated once: the page renders these same objects
        subjects = notification_subjects(rows, user=request.user)
        for row in rows:
            row.subject = subjects.get(row.pk, NotificationSubject())
        return changelist

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            obj.subject = notification_subjects([obj], user=request.user).get(obj.pk, NotificationSubject())
        return obj

    @admin.display(description=_("patient"))
    def patient(self, obj):
        subject = getattr(obj, "subject", None)
        return subject.patient if subject and subject.patient else "–"

    @admin.display(description=_("author"))
    def author(self, obj):
        subject = getattr(obj, "subject", None)
        return subject.author if subject and subject.author else "–"

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
