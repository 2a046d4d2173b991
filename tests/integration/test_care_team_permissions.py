"""Care-team membership grants and revokes guardian object permissions, in the membership's transaction."""

import threading

import pytest
from django.db import connections, transaction

from accounts.models import User
from notifications.models import OutboxItem
from patients.models import CareTeamMember, PatientUserObjectPermission
from patients.selectors import patients_for_user
from patients.services import care_team_member_add, care_team_member_end
from tests.factories import PatientFactory

pytestmark = pytest.mark.integration


class _Abandoned(Exception):
    """Raised to roll a transaction back."""


def _visible(user, patient) -> bool:
    # A fresh user: Django and guardian cache permissions on the instance.
    return patients_for_user(user=User.objects.get(pk=user.pk)).filter(pk=patient.pk).exists()


def _object_permissions(user, patient) -> set[str]:
    return set(
        PatientUserObjectPermission.objects.filter(user=user, content_object=patient).values_list(
            "permission__codename", flat=True
        )
    )


def test_membership_opens_the_patient_and_ending_it_closes_it(committed_db, admin_ada, care_manager_alice):
    patient = PatientFactory()
    assert not _visible(care_manager_alice, patient)

    # When Alice joins the care team as care manager
    member = care_team_member_add(actor=admin_ada, patient=patient, user=care_manager_alice, role="care_manager")

    # Then she sees and may change the patient
    assert _object_permissions(care_manager_alice, patient) == {"view_patient", "change_patient"}
    assert list(patients_for_user(user=User.objects.get(pk=care_manager_alice.pk))) == [patient]

    # When her membership ends
    care_team_member_end(actor=admin_ada, member=member)

    # Then she no longer sees the patient
    assert _object_permissions(care_manager_alice, patient) == set()
    assert not _visible(care_manager_alice, patient)


def test_ending_one_of_two_memberships_keeps_what_the_other_grants(committed_db, admin_ada, care_manager_alice):
    patient = PatientFactory()
    as_manager = care_team_member_add(actor=admin_ada, patient=patient, user=care_manager_alice, role="care_manager")
    care_team_member_add(actor=admin_ada, patient=patient, user=care_manager_alice, role="provider")

    care_team_member_end(actor=admin_ada, member=as_manager)

    assert _object_permissions(care_manager_alice, patient) == {"view_patient"}
    assert _visible(care_manager_alice, patient)


def test_membership_rolled_back_leaves_no_permission_behind(committed_db, admin_ada, care_manager_alice):
    patient = PatientFactory()

    # When the transaction that added Alice rolls back
    with pytest.raises(_Abandoned), transaction.atomic():
        care_team_member_add(actor=admin_ada, patient=patient, user=care_manager_alice, role="care_manager")
        assert _visible(care_manager_alice, patient)
        raise _Abandoned

    # Then neither the membership, nor its permissions, nor its event remain
    assert not CareTeamMember.objects.filter(patient=patient).exists()
    assert _object_permissions(care_manager_alice, patient) == set()
    assert not _visible(care_manager_alice, patient)
    assert not OutboxItem.objects.filter(patient_id=patient.pk).exists()


def test_other_connections_see_the_grant_only_once_it_is_committed(committed_db, admin_ada, care_manager_alice):
    patient = PatientFactory()
    added, may_commit = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def add_in_open_transaction() -> None:
        try:
            with transaction.atomic():
                care_team_member_add(actor=admin_ada, patient=patient, user=care_manager_alice, role="care_manager")
                added.set()
                if not may_commit.wait(timeout=30):
                    raise TimeoutError("the test did not let the transaction commit")
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            errors.append(exc)
            added.set()
        finally:
            connections.close_all()

    # Given Alice being added in a transaction still open on another connection
    adder = threading.Thread(target=add_in_open_transaction)
    adder.start()
    try:
        assert added.wait(timeout=30)
        assert not errors
        # Then this connection does not see her access yet
        assert not _visible(care_manager_alice, patient)
    finally:
        may_commit.set()
        adder.join(timeout=30)
    assert not adder.is_alive()
    assert not errors

    # And sees it once the other transaction has committed
    assert _visible(care_manager_alice, patient)
