import datetime as dt

import pytest

from consent.models import Purpose
from consent.services import consent_template_version_create

TEXTS = {
    "en": "I agree to receive care by video consultation. I can withdraw this consent at any time.",
    "fr": "J’accepte d’être soigné·e par téléconsultation. Je peux retirer ce consentement à tout moment.",
    "it": "Acconsento a ricevere cure tramite videoconsulto. Posso revocare questo consenso in qualsiasi momento.",
}
TITLES = {"en": "Virtual visits", "fr": "Téléconsultations", "it": "Visite virtuali"}


@pytest.fixture
def virtual_visit_v1(db, admin_ada):
    return consent_template_version_create(
        actor=admin_ada, purpose=Purpose.VIRTUAL_VISIT, effective_from=dt.date(2026, 1, 1), titles=TITLES, texts=TEXTS
    )


@pytest.fixture
def marketing_email_v1(db, admin_ada):
    return consent_template_version_create(
        actor=admin_ada,
        purpose=Purpose.MARKETING_EMAIL,
        effective_from=dt.date(2026, 1, 1),
        titles={"en": "News by email", "fr": "Actualités par e-mail", "it": "Notizie via e-mail"},
        texts={
            "en": "Send me news and invitations by email.",
            "fr": "Envoyez-moi des actualités par e-mail.",
            "it": "Inviatemi notizie via e-mail.",
        },
    )
