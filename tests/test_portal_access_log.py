"""Who viewed my record: a patient sees reads of their own record by others, never anyone else's."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import formats, timezone, translation

from audit.chain import chain_append
from patients.models import AccessLog
from patients.services import access_log_record

pytestmark = pytest.mark.django_db

URL = "/portal/access-log/"


def read(actor, patient, *, resource="record", channel="admin", at=None):
    """A read written through the access log's hash chain, at a chosen moment."""
    return chain_append(
        AccessLog(
            created_at=at or timezone.now(),
            actor=actor,
            actor_label=actor.email if actor else "system",
            patient=patient,
            action="view",
            resource=resource,
            channel=channel,
        )
    )


@pytest.fixture
def in_english(client, settings):
    """Paul reads French and Petra Italian; these tests read the English labels."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def shown(response):
    return [(row["who"], row["what"], row["channel"]) for row in response.context["rows"]]


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("who", ["admin_ada", "care_manager_alice", "front_desk_fay", "outreach_olga", "provider_paula"])
def test_staff_without_a_patient_record_get_404(client, request, who, paul):
    read(request.getfixturevalue("care_manager_alice"), paul)
    client.force_login(request.getfixturevalue(who))
    assert client.get(URL).status_code == 404


def test_a_patient_sees_who_read_their_record_by_name_and_role_never_by_email(
    client, in_english, paul, petra, patient_paul, patient_petra, care_manager_alice, care_manager_bob, provider_paula
):
    now = timezone.now()
    read(care_manager_alice, paul, at=now - dt.timedelta(hours=3))
    read(provider_paula, paul, resource="observations", channel="api", at=now - dt.timedelta(hours=2))
    read(care_manager_bob, petra, at=now - dt.timedelta(hours=1))  # Petra's record: never on Paul's page
    access_log_record(actor=patient_paul, patient=paul, resource="record", channel="api")  # Paul's own read

    client.force_login(patient_paul)
    response = client.get(URL)
    assert response.status_code == 200
    assert shown(response) == [
        ("Paula Test", "Measurements and test results", "REST API"),
        ("Alice Test", "Record: identity and contact details", "Admin"),
    ]
    assert [row["roles"] for row in response.context["rows"]] == [["Provider"], ["Care manager"]]
    page = response.content.decode()
    assert "Alice Test" in page and "Care manager" in page
    assert "alice@salus.test" not in page and "paula@salus.test" not in page
    assert "Bob" not in page and "MRN-PETRA" not in page


def test_each_patient_sees_only_their_own_rows(
    client, in_english, paul, petra, patient_paul, patient_petra, care_manager_alice, care_manager_bob
):
    read(care_manager_alice, paul)
    read(care_manager_bob, petra, resource="notes")
    client.force_login(patient_petra)
    assert shown(client.get(URL)) == [("Bob Test", "Clinical notes", "Admin")]


def test_reads_older_than_twelve_months_are_not_listed(client, paul, patient_paul, care_manager_alice):
    now = timezone.now()
    recent = read(care_manager_alice, paul, at=now - dt.timedelta(days=360))
    read(care_manager_alice, paul, at=now - dt.timedelta(days=370))
    client.force_login(patient_paul)
    rows = client.get(URL).context["rows"]
    assert [row["at"] for row in rows] == [recent.created_at]


def test_times_are_in_the_patients_time_zone(client, paul, patient_paul, care_manager_alice):
    paul.time_zone = "America/New_York"
    paul.save()
    entry = read(care_manager_alice, paul, at=timezone.now() - dt.timedelta(days=2))
    client.force_login(patient_paul)
    page = client.get(URL).content.decode()
    local = entry.created_at.astimezone(ZoneInfo("America/New_York"))
    assert f'datetime="{local.isoformat()}"' in page
    assert "America/New_York" in page


def test_a_read_by_a_background_task_is_named_as_such(client, in_english, paul, patient_paul):
    read(None, paul, resource="export", channel="task")
    client.force_login(patient_paul)
    assert shown(client.get(URL)) == [("Salus (automatic task)", "Data download", "Background task")]


def test_no_reads_says_so(client, paul, patient_paul):
    client.force_login(patient_paul)
    page = client.get(URL).content.decode()
    assert "Personne d’autre n’a ouvert votre dossier au cours des 12 derniers mois." in page  # Paul reads French


def test_pages_hold_25_reads_newest_first(client, paul, patient_paul, care_manager_alice):
    now = timezone.now()
    entries = [read(care_manager_alice, paul, at=now - dt.timedelta(minutes=n)) for n in range(30)]
    client.force_login(patient_paul)
    first = client.get(URL).context
    second = client.get(URL, {"page": "2"}).context
    assert [r["at"] for r in first["rows"]] == [e.created_at for e in entries[:25]]
    assert [r["at"] for r in second["rows"]] == [e.created_at for e in entries[25:]]
    assert client.get(URL, {"page": "not-a-number"}).status_code == 200  # falls back to the first page


def test_the_nav_links_to_the_page_for_patients_only(client, patient_paul, care_manager_alice):
    client.force_login(patient_paul)
    assert f'href="{URL}"' in client.get("/portal/").content.decode()
    client.force_login(care_manager_alice)
    assert f'href="{URL}"' not in client.get("/accounts/password/change/").content.decode()


def test_the_query_count_does_not_grow_with_the_rows(
    client, paul, patient_paul, care_manager_alice, provider_paula, front_desk_fay, django_assert_num_queries
):
    client.force_login(patient_paul)
    readers = [care_manager_alice, provider_paula, front_desk_fay]
    for n in (3, 40):
        for i in range(n):
            read(readers[i % 3], paul, channel=("admin", "api")[i % 2])
        # 1 session, 1 user, 1 the user's patient record (language middleware), 1 the patient record
        # (access check), 1 count, 1 page of reads with their readers, 1 the readers' roles
        with django_assert_num_queries(7):
            response = client.get(URL)
        assert len(response.context["rows"]) == min(25, response.context["page"].paginator.count)


def test_dates_and_labels_are_in_the_patients_language(client, paul, patient_paul, care_manager_alice):
    entry = read(care_manager_alice, paul, channel="api", at=timezone.now() - dt.timedelta(days=2))
    client.force_login(patient_paul)  # Paul reads French
    response = client.get(URL)
    with translation.override("fr"), timezone.override(ZoneInfo(paul.time_zone)):
        expected = formats.date_format(timezone.localtime(entry.created_at), "DATETIME_FORMAT")
    assert expected in response.content.decode()
    assert response.context["rows"][0]["channel"] == "API REST"
