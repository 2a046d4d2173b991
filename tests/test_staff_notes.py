"""Staff pages around notes: the notification list names the patient and the author, the note
opened from a notification can be marked reviewed there, a written note does not look editable,
and the second factor is one click away in the admin's user menu."""

import pytest

from core.actors import SystemActor
from notifications.models import OutboxItem
from notifications.services import outbox_deliver
from patients.models import ClinicalNote
from patients.services import clinical_note_create

pytestmark = pytest.mark.django_db


def _deliver_in_app():
    for item in OutboxItem.objects.filter(channel="in_app", status="pending"):
        outbox_deliver(actor=SystemActor("outbox delivery"), item_id=item.pk)


@pytest.fixture
def note_for_alice(provider_paula, care_manager_alice, paul):
    note = clinical_note_create(actor=provider_paula, patient=paul, text="Seen by video.\nBP fine.")
    _deliver_in_app()
    return note


def test_notification_list_names_patient_and_author(client, care_manager_alice, note_for_alice, paul):
    client.force_login(care_manager_alice)
    page = client.get("/admin/notifications/notification/").content.decode()
    assert "column-patient" in page and "column-author" in page
    assert str(paul) in page
    assert "Paula" in page  # the note's author


def test_notification_list_query_budget_does_not_grow(
    client, care_manager_alice, provider_paula, paul, django_assert_max_num_queries
):
    client.force_login(care_manager_alice)
    clinical_note_create(actor=provider_paula, patient=paul, text="one")
    _deliver_in_app()
    client.get("/admin/notifications/notification/")
    for text in ("two", "three", "four"):
        clinical_note_create(actor=provider_paula, patient=paul, text=text)
    _deliver_in_app()
    # session, user, count, rows, notes of the page (one query, with patient and author),
    # the care-team subquery's permission checks, ...: the same bound whatever the rows
    with django_assert_max_num_queries(14):
        client.get("/admin/notifications/notification/")


def test_notification_of_a_note_the_reader_cannot_see_names_no_patient(client, care_manager_bob, paul, provider_paula):
    from notifications.models import Notification

    note = clinical_note_create(actor=provider_paula, patient=paul, text="x")
    Notification.objects.create(user=care_manager_bob, title="x", link=f"/admin/patients/clinicalnote/{note.pk}/change/")
    client.force_login(care_manager_bob)
    page = client.get("/admin/notifications/notification/").content.decode()
    assert paul.mrn not in page


def test_note_opened_from_notification_has_mark_reviewed(client, care_manager_alice, note_for_alice):
    client.force_login(care_manager_alice)
    notification = care_manager_alice.notifications.get()
    assert notification.link == f"/admin/patients/clinicalnote/{note_for_alice.pk}/change/"
    page = client.get(notification.link).content.decode()
    review_url = f"/admin/patients/clinicalnote/{note_for_alice.pk}/review/"
    assert f'action="{review_url}"' in page and "Mark reviewed" in page
    response = client.post(review_url)
    assert response.status_code == 302 and response["Location"] == notification.link
    note_for_alice.refresh_from_db()
    assert note_for_alice.reviewed_by == care_manager_alice
    page = client.get(notification.link).content.decode()
    assert "Mark reviewed" not in page and "Reviewed on" in page


def test_mark_reviewed_refused_to_a_provider_and_hidden_from_her(client, provider_paula, note_for_alice):
    client.force_login(provider_paula)
    page = client.get(f"/admin/patients/clinicalnote/{note_for_alice.pk}/change/").content.decode()
    assert "Mark reviewed" not in page
    client.post(f"/admin/patients/clinicalnote/{note_for_alice.pk}/review/")
    note_for_alice.refresh_from_db()
    assert note_for_alice.reviewed_at is None


def test_mark_reviewed_of_an_unseen_note_is_404_and_get_is_refused(client, care_manager_bob, care_manager_alice, note_for_alice):
    client.force_login(care_manager_bob)
    assert client.post(f"/admin/patients/clinicalnote/{note_for_alice.pk}/review/").status_code == 404
    client.force_login(care_manager_alice)
    assert client.get(f"/admin/patients/clinicalnote/{note_for_alice.pk}/review/").status_code == 405
    assert client.post("/admin/patients/clinicalnote/nope/review/").status_code == 404
    assert not ClinicalNote.objects.filter(reviewed_at__isnull=False).exists()


def test_written_note_on_patient_page_is_text_not_a_box(client, care_manager_alice, note_for_alice, paul):
    client.force_login(care_manager_alice)
    page = client.get(f"/admin/patients/patient/{paul.pk}/change/").content.decode()
    assert '<div class="readonly note-text">Seen by video.<br>BP fine.</div>' in page
    assert "BP fine.</textarea>" not in page


@pytest.mark.parametrize("who", ["care_manager_alice", "front_desk_fay", "admin_ada"])
def test_admin_user_menu_links_to_two_factor(client, request, who):
    client.force_login(request.getfixturevalue(who))
    page = client.get("/admin/").content.decode()
    assert 'id="mfa-link"' in page and 'href="/accounts/2fa/"' in page
