"""API tokens come into being as the README says: an administrator issues one in the admin for a
user, it acts exactly as that user, deleting it or deactivating the user revokes it, no other role
opens the token pages, and no URL hands tokens out."""

import pytest
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db

TOKENS = "/admin/authtoken/tokenproxy/"


def _patients_list(client, key):
    return client.get("/api/v1/patients/", HTTP_AUTHORIZATION=f"Token {key}")


def test_administrator_issues_a_token_in_the_admin_and_it_acts_as_its_user(client, admin_ada, care_manager_alice, paul, petra):
    client.force_login(admin_ada)
    assert client.get(f"{TOKENS}add/").status_code == 200
    response = client.post(f"{TOKENS}add/", {"user": care_manager_alice.pk})
    assert response.status_code == 302
    token = Token.objects.get(user=care_manager_alice)
    assert token.key in client.get(TOKENS).content.decode()  # shown to the administrator in the list
    client.logout()
    response = _patients_list(client, token.key)
    assert response.status_code == 200
    ids = {row["id"] for row in response.json()["results"]}
    assert paul.pk in ids and petra.pk not in ids  # Alice's care team only, as in her session


def test_deleting_the_token_or_deactivating_the_user_revokes_it(client, care_manager_alice, paul):
    token = Token.objects.create(user=care_manager_alice)
    assert _patients_list(client, token.key).status_code == 200
    care_manager_alice.is_active = False
    care_manager_alice.save()
    assert _patients_list(client, token.key).status_code == 401
    care_manager_alice.is_active = True
    care_manager_alice.save()
    token.delete()
    assert _patients_list(client, token.key).status_code == 401


@pytest.mark.parametrize("who", ["care_manager_alice", "front_desk_fay", "provider_paula", "outreach_olga", "patient_paul"])
def test_no_other_role_opens_the_token_pages(client, request, who):
    user = request.getfixturevalue(who)
    client.force_login(user)
    for url in (TOKENS, f"{TOKENS}add/"):
        assert client.get(url).status_code in (302, 403, 404)
    client.post(f"{TOKENS}add/", {"user": user.pk})
    assert not Token.objects.exists()


@pytest.mark.parametrize("url", ["/api/v1/token/", "/api/v1/auth/token/", "/api-token-auth/", "/api/v1/auth/login/"])
def test_no_url_hands_out_tokens(client, care_manager_alice, url):
    response = client.post(url, {"username": care_manager_alice.email, "password": "x"})
    assert response.status_code in (401, 403, 404, 405)
    assert not Token.objects.exists()
