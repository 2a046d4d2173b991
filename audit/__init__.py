"""Tamper-evident records: hash chains over append-only tables (the access log, the consent
ledger), their verification, and the audit report. A base layer: it knows no domain."""
