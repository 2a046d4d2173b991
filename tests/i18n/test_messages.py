"""allauth's messages reach people in their own language, not in the language the browser asked
for before they signed in, and in words that do not assume the reader's gender (Italian
"Ti sei collegato", French "déconnecté(e)")."""

import pytest
from django.contrib.messages import get_messages

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-1"


def _sign_in(client, email):
    return client.post("/accounts/login/", {"login": email, "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="en-GB,en")


@pytest.mark.parametrize(
    ("fixture", "email", "signed_in"),
    [
        ("patient_paul", "paul@example.org", "Connexion en tant que Paul Test <paul@example.org> réussie."),  # French record
        ("patient_petra", "petra@example.org", "Accesso effettuato come Petra Test <petra@example.org>."),  # Italian
    ],
)
def test_the_signed_in_message_is_in_the_patients_language(client, request, fixture, email, signed_in):
    request.getfixturevalue(fixture)
    response = _sign_in(client, email)
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [signed_in]


def test_staff_get_it_in_the_language_of_their_account(client, care_manager_alice):
    care_manager_alice.preferred_language = "it"
    care_manager_alice.save()
    response = _sign_in(client, "alice@salus.test")
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Accesso effettuato come Alice Test <alice@salus.test>."]


def test_the_language_switch_still_wins(client, patient_paul, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = _sign_in(client, "paul@example.org")
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Signed in as Paul Test <paul@example.org>."]


def test_the_signed_out_message_too(client, patient_paul):
    client.force_login(patient_paul)
    response = client.post("/accounts/logout/", HTTP_ACCEPT_LANGUAGE="en")
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Déconnexion effectuée."]
