import datetime as dt

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts.models import User
from patients import models as m


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@salus.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password("pw-for-tests-1")


class PatientFactory(DjangoModelFactory):
    class Meta:
        model = m.Patient

    mrn = factory.Sequence(lambda n: f"T{n:07d}")
    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    birth_date = factory.Faker("date_of_birth", minimum_age=1, maximum_age=99)
    gender = "female"
    email = factory.Sequence(lambda n: f"patient{n}@example.org")
    phone = "+33 6 12 34 56 78"
    preferred_language = "fr"


class EncounterFactory(DjangoModelFactory):
    class Meta:
        model = m.Encounter

    patient = factory.SubFactory(PatientFactory)
    encounter_class = "AMB"
    status = "finished"
    period_start = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=3))
    period_end = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=3) + dt.timedelta(minutes=30))


class ConditionFactory(DjangoModelFactory):
    class Meta:
        model = m.Condition

    patient = factory.SubFactory(PatientFactory)
    code_system = m.CodeSystem.SNOMED
    code = "44054006"
    display = "Diabetes mellitus type 2"
    clinical_status = "active"


class ObservationFactory(DjangoModelFactory):
    class Meta:
        model = m.Observation

    patient = factory.SubFactory(PatientFactory)
    code_system = m.CodeSystem.LOINC
    code = "8867-4"
    display = "Heart rate"
    category = "vital-signs"
    value_quantity = 72
    value_unit = "/min"
    effective_at = factory.LazyFunction(timezone.now)


class MedicationRequestFactory(DjangoModelFactory):
    class Meta:
        model = m.MedicationRequest

    patient = factory.SubFactory(PatientFactory)
    code_system = m.CodeSystem.RXNORM
    code = "860975"
    display = "Metformin 500 MG"
    status = "active"
    authored_on = factory.LazyFunction(timezone.now)


class AllergyFactory(DjangoModelFactory):
    class Meta:
        model = m.AllergyIntolerance

    patient = factory.SubFactory(PatientFactory)
    code_system = m.CodeSystem.SNOMED
    code = "91936005"
    display = "Allergy to penicillin"
    clinical_status = "active"


class ProcedureFactory(DjangoModelFactory):
    class Meta:
        model = m.Procedure

    patient = factory.SubFactory(PatientFactory)
    code_system = m.CodeSystem.SNOMED
    code = "80146002"
    display = "Appendectomy"
    status = "completed"
    performed_start = factory.LazyFunction(timezone.now)


class ImmunizationFactory(DjangoModelFactory):
    class Meta:
        model = m.Immunization

    patient = factory.SubFactory(PatientFactory)
    code_system = m.CodeSystem.CVX
    code = "140"
    display = "Influenza"
    status = "completed"
    occurrence = factory.LazyFunction(timezone.now)


FACT_FACTORIES = {
    "encounters": EncounterFactory,
    "conditions": ConditionFactory,
    "observations": ObservationFactory,
    "medication-requests": MedicationRequestFactory,
    "allergies": AllergyFactory,
    "procedures": ProcedureFactory,
    "immunizations": ImmunizationFactory,
}


# --- scheduling ------------------------------------------------------------------------------------
from scheduling import models as sm  # noqa: E402


class LocationFactory(DjangoModelFactory):
    class Meta:
        model = sm.Location
        django_get_or_create = ("name",)

    name = "Clinique Centrale"
    address_line = "12 rue de la Paix"
    postal_code = "75002"
    city = "Paris"


class ServiceFactory(DjangoModelFactory):
    class Meta:
        model = sm.Service
        django_get_or_create = ("code",)

    code = "consult"
    name_en = "General consultation"
    name_fr = "Consultation générale"
    name_it = "Visita generale"
    duration_minutes = 30
    min_notice_hours = 2
    max_days_ahead = 60
    cancellation_notice_hours = 24


class PractitionerFactory(DjangoModelFactory):
    class Meta:
        model = sm.Practitioner

    user = factory.SubFactory(UserFactory, is_staff=True)
    display_name = factory.LazyAttribute(lambda o: f"Dr {o.user.first_name} {o.user.last_name}")
    specialty = "General practice"
    languages = factory.LazyFunction(lambda: ["en", "fr"])
    time_zone = "Europe/Paris"


def practitioner_with_week(*, user=None, service=None, location=None, **kwargs) -> sm.Practitioner:
    """A practitioner seeing patients Monday to Friday: 09:00-12:00 by video only, 14:00-17:00 at
    the clinic (video allowed too), in Europe/Paris."""
    practitioner = PractitionerFactory(**({"user": user} if user else {}), **kwargs)
    service = service or ServiceFactory()
    location = location or LocationFactory()
    practitioner.services.add(service)
    practitioner.locations.add(location)
    for weekday in range(5):
        sm.WeeklyHours.objects.create(practitioner=practitioner, weekday=weekday, start_time=dt.time(9), end_time=dt.time(12))
        sm.WeeklyHours.objects.create(
            practitioner=practitioner, weekday=weekday, start_time=dt.time(14), end_time=dt.time(17), location=location
        )
    return practitioner
