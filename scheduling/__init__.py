"""Practitioners, availability, appointments and virtual visits (built on patients and consent)."""
