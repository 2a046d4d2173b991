"""Every app that holds data on a patient has its share of an export and of an erasure."""

from django.apps import apps

from core.privacy import patient_linked_models, shares
from patients.models import Patient
from privacy.services.export import export_sections


def test_every_app_with_patient_rows_registers_a_share_that_erases_them():
    holding = {app.label for app in apps.get_app_configs() if patient_linked_models(app.label, Patient)}
    erasing = {share.app_label for share in shares() if share.erase is not None}
    assert holding, "no table points to the patient?"
    assert holding <= erasing


def test_shares_are_registered_by_their_own_apps():
    for share in shares():
        assert apps.is_installed(share.app_label) or apps.get_app_config(share.app_label)


def test_the_export_holds_each_share_s_sections_once_in_order():
    sections = export_sections()
    keys = [s.key for s in sections]
    assert len(keys) == len(set(keys))
    assert keys[0] == "patient"
    assert {"identifiers", "consents", "consent_ledger", "appointments", "messages", "privacy_requests", "access_log"} <= set(
        keys
    )
    assert [s.order for s in sections] == sorted(s.order for s in sections)


def test_erasure_runs_consents_first_and_closes_the_account_last():
    order = [share.app_label for share in shares() if share.erase is not None]
    assert order[0] == "consent"
    assert order[-1] == "accounts"
    assert order.index("notifications") > order.index("scheduling")
