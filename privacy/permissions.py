"""Who may ask for, decide and carry out patients' privacy rights, and change retention.

- A privacy request (a copy of one's data, an erasure) is made by the patient for themself, by
  staff who may open the patient on their behalf (a letter, a phone call), or by background work
  (an import of requests received elsewhere).
- Administrators decide erasures, run failed requests again, carry out an erasure and change
  retention rules.
- Building an export, running an approved erasure and applying retention are background work: a
  system actor (retention may also be applied by an administrator from the admin).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from accounts.permissions import user_is_administrator
from core.actors import actor_required, is_system_actor
from patients.permissions import user_is_patient_of, user_may_open_patient_record

if TYPE_CHECKING:
    from patients.models import Patient


def actor_may_ask_privacy_for(actor: Any, patient: Patient) -> bool:
    actor_required(actor)
    if is_system_actor(actor):
        return True
    if not (actor.is_authenticated and actor.is_active):
        return False
    if user_is_patient_of(actor, patient):
        return True
    return bool(actor.is_staff and user_may_open_patient_record(actor, patient))


def actor_may_decide_privacy(actor: Any) -> bool:
    """Approve or reject, run again, and carry out an erasure: administrators."""
    actor_required(actor)
    return user_is_administrator(actor)


def actor_may_run_privacy_work(actor: Any) -> bool:
    """Build an export, run an approved erasure: the workers."""
    actor_required(actor)
    return is_system_actor(actor)


def actor_may_apply_retention(actor: Any) -> bool:
    actor_required(actor)
    return is_system_actor(actor) or user_is_administrator(actor)
