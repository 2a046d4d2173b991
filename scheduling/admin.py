from django.contrib import admin
from django.urls import path

from .models import Appointment


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    def get_urls(self):
        return [path("queue/", self.admin_site.admin_view(self.changelist_view), name="scheduling_queue"), *super().get_urls()]
