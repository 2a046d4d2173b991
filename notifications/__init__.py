"""The base layer every app writes through: the transactional outbox (domain events and outgoing
messages), channel backends (email, SMS, in-app) and staff notifications."""
