"""The patient portal: sign-in required, one's own record only, contact details through the service."""

import pytest

from patients.models import AccessLog

pytestmark = pytest.mark.django_db


def test_anonymous_users_are_sent_to_sign_in(client):
    for url in ("/portal/", "/portal/profile/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_home_shows_the_patients_own_record(client, patient_paul, paul, petra):
    client.force_login(patient_paul)
    page = client.get("/portal/").content.decode()
    assert paul.mrn in page and petra.mrn not in page


def test_profile_edit_goes_through_the_service(client, patient_paul, paul):
    client.force_login(patient_paul)
    form = {
        "email": "paul.new@example.org",
        "phone": "+33 6 98 76 54 32",
        "address_line": "3 rue des Lilas",
        "postal_code": "69003",
        "city": "Lyon",
        "country": "fr",
        "preferred_language": "fr",
        "preferred_channel": "sms",
        "time_zone": "Europe/Paris",
    }
    response = client.post("/portal/profile/", form)
    assert response.status_code == 302
    paul.refresh_from_db()
    assert (paul.email, paul.city, paul.country, paul.preferred_channel) == ("paul.new@example.org", "Lyon", "FR", "sms")
    assert paul.history.latest().history_user == patient_paul


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("phone", "call me maybe"),
        ("country", "France"),
        ("time_zone", "Moon/Base"),
        ("preferred_language", "de"),
        ("email", "x@"),
        ("city", "y" * 101),
    ],
)
def test_profile_bad_input_shows_the_error_beside_the_field_and_changes_nothing(client, patient_paul, paul, field, value):
    client.force_login(patient_paul)
    form = {
        "email": paul.email,
        "phone": paul.phone,
        "preferred_language": "fr",
        "preferred_channel": "email",
        "time_zone": "Europe/Paris",
        field: value,
    }
    before = paul.history.count()
    response = client.post("/portal/profile/", form)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert f'id="id_{field}_error"' in response.content.decode()
    paul.refresh_from_db()
    assert paul.history.count() == before


def test_sms_preference_needs_a_phone_number(client, patient_paul, paul):
    client.force_login(patient_paul)
    response = client.post(
        "/portal/profile/",
        {"email": paul.email, "phone": "", "preferred_language": "fr", "preferred_channel": "sms", "time_zone": "Europe/Paris"},
    )
    assert "phone" in response.context["form"].errors


def test_staff_without_a_patient_record_are_sent_to_the_admin(client, care_manager_alice):
    client.force_login(care_manager_alice)
    response = client.get("/portal/")
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/portal/profile/").status_code == 404


def test_a_patient_reading_their_own_record_is_not_logged_as_staff_access(client, patient_paul, paul):
    client.force_login(patient_paul)
    client.get("/portal/profile/")
    assert not AccessLog.objects.exists()


def test_language_switch_sets_the_language(client, patient_paul):
    client.force_login(patient_paul)
    response = client.post("/i18n/setlang/", {"language": "it", "next": "/portal/"})
    assert response.status_code == 302
    assert client.get("/portal/").headers["Content-Language"] == "it"


def test_pages_follow_the_patients_language_until_they_switch(client, patient_petra):
    client.force_login(patient_petra)
    assert client.get("/portal/").headers["Content-Language"] == "it"
    client.post("/i18n/setlang/", {"language": "en", "next": "/portal/"})
    assert client.get("/portal/").headers["Content-Language"] == "en"
