from django.urls import path

from . import views

urlpatterns = [
    path("me/", views.MeApi.as_view(), name="api-me"),
    path("patients/", views.PatientListCreateApi.as_view(), name="api-patients"),
    path("patients/<int:pk>/", views.PatientDetailApi.as_view(), name="api-patient"),
    path("patients/<int:pk>/care-team/", views.CareTeamListCreateApi.as_view(), name="api-patient-care-team"),
    path("care-team/<int:member_id>/end/", views.CareTeamMemberEndApi.as_view(), name="api-care-team-end"),
    path("patients/<int:pk>/notes/", views.NoteListCreateApi.as_view(), name="api-patient-notes"),
    path("notes/<int:note_id>/review/", views.NoteReviewApi.as_view(), name="api-note-review"),
    *[
        path(f"patients/<int:pk>/{kind}/", api.as_view(), name=f"api-patient-{kind}")
        for kind, api in views.CLINICAL_LIST_APIS.items()
    ],
]
