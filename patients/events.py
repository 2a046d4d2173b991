"""Domain events of the patients app, written to the outbox by its services."""

PATIENT_CREATED = "patient.created"
PATIENT_UPDATED = "patient.updated"
CARE_TEAM_MEMBER_ADDED = "patient.care_team.member_added"
CARE_TEAM_MEMBER_ENDED = "patient.care_team.member_ended"
CLINICAL_NOTE_CREATED = "patient.note.created"
CLINICAL_NOTE_REVIEWED = "patient.note.reviewed"
