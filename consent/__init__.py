"""Consent templates, the consent ledger, signed PDF receipts and privacy rights (built on patients)."""
