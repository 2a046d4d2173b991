"""Demo data for a laptop run and for sales demos: users per role, patients with clinical facts."""
