"""Domain events of the consent app, written to the outbox by its services."""

CONSENT_SIGNED = "consent.signed"
CONSENT_WITHDRAWN = "consent.withdrawn"
CONSENT_EXPIRED = "consent.expired"
