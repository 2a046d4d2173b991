"""Consent templates, the consent ledger and privacy rights (built on patients)."""
