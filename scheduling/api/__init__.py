"""The scheduling REST API: services, practitioners, locations, free slots and appointments."""
