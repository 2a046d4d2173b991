"""Segments, campaigns and journeys. Nothing imports this app: it reacts to outbox events."""
