"""The patient record, care teams, clinical notes, clinical facts from EHR/PAS, and who read what."""
