"""The roles of Salus and the model permissions each one holds.

Roles are Django groups. *Which* patients a care manager or provider sees is decided per object
(django-guardian, through care-team membership); these model permissions decide *what kind* of
data a role may touch at all. A later migration that adds models calls `roles_sync` again.
"""

from enum import StrEnum


class Role(StrEnum):
    ADMINISTRATOR = "administrator"
    CARE_MANAGER = "care_manager"
    PROVIDER = "provider"
    FRONT_DESK = "front_desk"
    OUTREACH = "outreach"
    EVENT_PLANNER = "event_planner"
    PATIENT = "patient"


STAFF_ROLES = frozenset(r for r in Role if r is not Role.PATIENT)

_CLINICAL_READ = [
    "patients.view_clinical",
    "patients.view_encounter",
    "patients.view_condition",
    "patients.view_observation",
    "patients.view_medicationrequest",
    "patients.view_allergyintolerance",
    "patients.view_procedure",
    "patients.view_immunization",
    "patients.view_clinicalnote",
]

_SCHEDULING_READ = [
    "scheduling.view_appointment",
    "scheduling.view_practitioner",
    "scheduling.view_service",
    "scheduling.view_location",
    "scheduling.view_weeklyhours",
    "scheduling.view_availabilityexception",
]
# Which appointments a role sees is decided by scheduling.selectors (all for the front desk, the
# care team's patients for care managers, one's own visits for a provider); these say what kind.
_SCHEDULING_BOOK = [*_SCHEDULING_READ, "scheduling.add_appointment", "scheduling.change_appointment"]
_CALENDAR_KEEPING = [
    "scheduling.add_weeklyhours",
    "scheduling.change_weeklyhours",
    "scheduling.delete_weeklyhours",
    "scheduling.add_availabilityexception",
    "scheduling.change_availabilityexception",
    "scheduling.delete_availabilityexception",
]

# Permissions granted at model level. `patients.view_patient` at model level means "every
# patient" (front desk, administrators); care managers and providers get it per patient.
ROLE_PERMISSIONS: dict[Role, list[str]] = {
    Role.ADMINISTRATOR: ["*"],
    Role.CARE_MANAGER: [
        *_CLINICAL_READ,
        "patients.add_clinicalnote",
        "patients.change_clinicalnote",
        "patients.view_careteammember",
        "patients.add_careteammember",
        "patients.change_careteammember",
        "patients.view_patientidentifier",
        "patients.add_patientidentifier",
        "patients.change_patientidentifier",
        "patients.delete_patientidentifier",
        "patients.view_patientcontact",
        "patients.add_patientcontact",
        "patients.change_patientcontact",
        "patients.delete_patientcontact",
        "notifications.view_notification",
        "notifications.change_notification",
        *_SCHEDULING_BOOK,
    ],
    Role.PROVIDER: [
        *_CLINICAL_READ,
        "patients.add_clinicalnote",
        "patients.view_careteammember",
        "patients.view_patientidentifier",
        "patients.view_patientcontact",
        "notifications.view_notification",
        "notifications.change_notification",
        *_SCHEDULING_READ,
    ],
    Role.FRONT_DESK: [
        "patients.view_patient",
        "patients.add_patient",
        "patients.change_patient",
        "patients.view_patientidentifier",
        "patients.add_patientidentifier",
        "patients.change_patientidentifier",
        "patients.delete_patientidentifier",
        "patients.view_patientcontact",
        "patients.add_patientcontact",
        "patients.change_patientcontact",
        "patients.delete_patientcontact",
        "patients.view_careteammember",
        "notifications.view_notification",
        "notifications.change_notification",
        *_SCHEDULING_BOOK,
        *_CALENDAR_KEEPING,
    ],
    Role.OUTREACH: ["notifications.view_notification", "notifications.change_notification"],
    Role.EVENT_PLANNER: ["notifications.view_notification", "notifications.change_notification"],
    Role.PATIENT: [],
}


def _app_has_models(apps, app_label: str) -> bool:
    try:
        return bool(list(apps.get_app_config(app_label).get_models()))
    except LookupError:
        return False


def roles_sync(apps=None, *, using: str = "default") -> None:
    """Create the role groups and set their model permissions to exactly ROLE_PERMISSIONS.

    Works inside a data migration (historical `apps`) and at run time. A permission named
    here that does not exist is an error, never skipped: a typo must not silently drop a right.
    """
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    apps = apps or global_apps
    for app_config in apps.get_app_configs():
        # Permissions are normally created after `migrate`; the role groups need them now.
        app_config.models_module = getattr(app_config, "models_module", None) or True
        create_permissions(app_config, apps=apps, verbosity=0, using=using)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=role.value)
        if names == ["*"]:
            perms = list(Permission.objects.using(using).all())
        else:
            perms = []
            for name in names:
                app_label, codename = name.split(".")
                if not _app_has_models(apps, app_label):
                    continue  # not migrated yet at this point; its own migration syncs the roles again
                try:
                    perms.append(Permission.objects.using(using).get(content_type__app_label=app_label, codename=codename))
                except Permission.DoesNotExist as exc:
                    raise LookupError(f"Role {role.value}: permission {name} does not exist") from exc
        group.permissions.set(perms)
