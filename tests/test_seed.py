"""The demo seed leaves a working demo: users per role, patients with facts, consents, an audit trail."""

import pytest
from django.core.management import call_command

from accounts.models import User
from audit.chain import verify_all
from consent.models import Consent
from consent.selectors import consent_is_active
from patients.models import AccessLog, Observation, Patient


@pytest.mark.django_db
def test_seed_demo_builds_a_consistent_demo(capsys):
    call_command("seed_demo", patients=6, verbosity=0)
    out = capsys.readouterr().out
    assert "alice@salus.example" in out and "salus-demo-2026" in out
    assert Patient.objects.count() == 6
    assert User.objects.filter(groups__name="care_manager").count() == 2
    assert Observation.objects.exists()
    paul = Patient.objects.get(user__email="paul@salus.example")
    assert consent_is_active(paul, "treatment")
    assert Consent.objects.exclude(receipt_sha256="").count() == Consent.objects.count() > 0
    assert AccessLog.objects.count() >= 6
    assert verify_all() == []
    from consent.models import PrivacyRequest

    assert PrivacyRequest.objects.filter(kind="erasure", status="requested").count() == 1
    # Alice manages the even patients only.
    from patients.selectors import patients_for_user

    alice = User.objects.get(email="alice@salus.example")
    assert patients_for_user(user=alice).count() == 3

    call_command("seed_demo", patients=6, if_empty=True, verbosity=0)
    assert Patient.objects.count() == 6
