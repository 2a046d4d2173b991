"""Admin for privacy requests and retention rules."""
