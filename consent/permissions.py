"""Who may see and record which patient's consents: yes/no rules about users, no queries of consents.
The permission-aware reads built on them live in `consent.selectors`.

- A patient sees and signs their own consents (portal, /api/v1/me/consents/).
- Staff whose role opens patient records (care team, front desk, administrators) see and record
  the consents of exactly the patients they may open (`patients_for_user`); anything else is a 404.
- Outreach staff and administrators see consent *rates* (counts per purpose), never one person's
  consent; event planners see neither.
- Consent templates and the ledger are for administrators.
"""

from accounts.roles import Role
from accounts.selectors import user_roles
from patients.permissions import user_may_open_patients


def user_is_administrator(user) -> bool:
    return bool(user.is_authenticated and user.is_active and (user.is_superuser or Role.ADMINISTRATOR in user_roles(user=user)))


def user_may_see_consents(user) -> bool:
    """Whether the user's role opens individual patients' consents at all (staff side)."""
    return bool(user.is_authenticated and user.is_staff and user_may_open_patients(user))


def user_may_see_consent_rates(user) -> bool:
    """Counts per purpose: administrators and outreach staff (who check consent before sending)."""
    return bool(user.is_authenticated and user.is_active and user.is_staff) and (
        user_is_administrator(user) or Role.OUTREACH in user_roles(user=user)
    )
