"""Patient search and the patient list's capped count, through the API.

Given the standard cast (see conftest): Alice is care manager of Paul Lefèvre (MRN-PAUL), Bob of Petra
Colombo (MRN-PETRA); Fay at the front desk sees every patient.
"""

import datetime as dt

import pytest

from patients.api.pagination import CappedCountPagination
from patients.selectors import patient_search_q, patients_for_user, patients_search
from tests.factories import PatientFactory

LIST = "/api/v1/patients/"


def ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def search(client, q, **params):
    return ids(client.get(LIST, {"q": q, **params}))


@pytest.fixture
def martins(db):
    """Patients whose names match "mart" in several ways at once, and some that do not."""
    return {
        "martin_martine": PatientFactory(family_name="Martin", given_name="Martine", birth_date=dt.date(1970, 5, 4)),
        "martinez_ana": PatientFactory(family_name="martinez", given_name="Ana", gender="male"),
        "dubois_marta": PatientFactory(family_name="Dubois", given_name="Marta"),
        "smart_john": PatientFactory(family_name="Smart", given_name="John"),
        "mrn_mart": PatientFactory(family_name="Zola", given_name="Émile", mrn="MART"),
        "abbott_martha": PatientFactory(family_name="Abbott", given_name="Martha", active=False),
    }


# --- what a search matches ---------------------------------------------------------------------


@pytest.mark.parametrize("q", ["lef", "LEF", "Lefèvre", "lefèvre", "pau", "PAUL", "lefèvre paul", "paul lef", "mrn-paul"])
def test_front_desk_finds_paul_by_name_prefix_both_names_or_mrn(api, front_desk_fay, paul, petra, q):
    assert search(api.as_user(front_desk_fay), q) == [paul.pk]


@pytest.mark.parametrize("q", ["efèvre", "MRN-PA", "paul colombo", "lefèvre petra", "zzz"])
def test_front_desk_search_does_not_match_inside_names_or_mrn_prefixes(api, front_desk_fay, paul, petra, q):
    assert search(api.as_user(front_desk_fay), q) == []


@pytest.mark.parametrize("q", ["1970-05-04", "04/05/1970", "04.05.1970"])
def test_search_by_birth_date(api, front_desk_fay, martins, q):
    assert search(api.as_user(front_desk_fay), q) == [martins["martin_martine"].pk]


def test_each_match_appears_once_in_case_insensitive_name_order(api, front_desk_fay, martins):
    # Martin Martine matches by family and given name; the MRN "MART" row by MRN only.
    expected = ["abbott_martha", "dubois_marta", "martin_martine", "martinez_ana", "mrn_mart"]
    response = api.as_user(front_desk_fay).get(LIST, {"q": "mart"})
    assert ids(response) == [martins[k].pk for k in expected]
    assert (response.json()["count"], response.json()["count_is_exact"]) == (5, True)


def test_search_combines_with_the_other_filters(api, front_desk_fay, martins):
    client = api.as_user(front_desk_fay)
    assert search(client, "mart", gender="male") == [martins["martinez_ana"].pk]
    assert search(client, "mart", active="false") == [martins["abbott_martha"].pk]
    assert search(client, "mart", born_after="1970-01-01", born_before="1970-12-31") == [martins["martin_martine"].pk]
    assert search(client, "mart", mrn="MART") == [martins["mrn_mart"].pk]


def test_search_pages_follow_one_order(api, front_desk_fay, martins):
    client = api.as_user(front_desk_fay)
    pages = [client.get(LIST, {"q": "mart", "page_size": 2, "page": n}).json() for n in (1, 2, 3)]
    assert [row["id"] for page in pages for row in page["results"]] == search(client, "mart")
    assert [bool(page["next"]) for page in pages] == [True, True, False]


def test_the_union_and_the_single_filter_agree(front_desk_fay, care_manager_alice, martins, paul):
    # Over all patients the search is a UNION of disjoint branches; over a care team one WHERE.
    everyone = patients_for_user(user=front_desk_fay)
    for q in ["mart", "MART", "martin martine", "martine martin", "lef", "mrn-paul", "1970-05-04", "x", ""]:
        union = list(patients_search(user=front_desk_fay, queryset=everyone, query=q).values_list("pk", flat=True))
        plain = set(everyone.filter(patient_search_q(q)).values_list("pk", flat=True))
        assert len(union) == len(set(union)) and set(union) == plain, q


# --- who sees what -----------------------------------------------------------------------------


def test_care_manager_searches_only_their_care_team(api, care_manager_alice, paul, petra, martins):
    client = api.as_user(care_manager_alice)
    assert search(client, "colombo") == []
    assert search(client, "mrn-petra") == []
    assert search(client, "mart") == []
    assert search(client, "lef") == [paul.pk]


def test_patient_searches_only_themself(api, patient_paul, paul, petra):
    client = api.as_user(patient_paul)
    assert search(client, "colombo") == []
    assert search(client, "lef") == [paul.pk]


@pytest.mark.parametrize("who", ["outreach_olga", "event_planner_evan"])
def test_outreach_and_event_planners_find_nobody(api, request, who, paul, martins):
    assert search(api.as_user(request.getfixturevalue(who)), "mart") == []


# --- the capped count --------------------------------------------------------------------------


@pytest.fixture
def cap_of_3(monkeypatch):
    monkeypatch.setattr(CappedCountPagination, "count_cap", 3)


def test_count_is_exact_up_to_the_cap(api, front_desk_fay, cap_of_3):
    PatientFactory.create_batch(3)
    body = api.as_user(front_desk_fay).get(LIST, {"page_size": 2}).json()
    assert (body["count"], body["count_is_exact"], bool(body["next"])) == (3, True, True)


def test_count_past_the_cap_is_flagged_and_next_pages_still_follow(api, front_desk_fay, cap_of_3):
    PatientFactory.create_batch(7)
    client = api.as_user(front_desk_fay)
    first = client.get(LIST, {"page_size": 2}).json()
    assert (first["count"], first["count_is_exact"], bool(first["next"])) == (3, False, True)
    # Page 2 ends at row 4, past the cap: the count goes to the end of the requested page.
    second = client.get(LIST, {"page_size": 2, "page": 2}).json()
    assert (second["count"], second["count_is_exact"], bool(second["next"])) == (4, False, True)
    last = client.get(LIST, {"page_size": 2, "page": 4}).json()
    assert (last["count"], last["count_is_exact"], last["next"], len(last["results"])) == (7, True, None, 1)
    assert client.get(LIST, {"page_size": 2, "page": 5}).status_code == 404


def test_search_count_past_the_cap_is_flagged(api, front_desk_fay, martins, cap_of_3):
    body = api.as_user(front_desk_fay).get(LIST, {"q": "mart", "page_size": 2}).json()
    assert (body["count"], body["count_is_exact"], len(body["results"])) == (3, False, 2)


@pytest.mark.parametrize("page", ["last", "abc", "0", "-1", "2.0", str(10**30)])
def test_pages_that_are_not_page_numbers_are_404(api, front_desk_fay, paul, page):
    assert api.as_user(front_desk_fay).get(LIST, {"page": page}).status_code == 404


def test_schema_documents_the_capped_count(api, admin_ada):
    schema = api.as_user(admin_ada).get("/api/v1/schema/", {"format": "json"}).json()
    page = schema["components"]["schemas"]["PaginatedPatientList"]
    assert page["properties"]["count_is_exact"]["type"] == "boolean"
    assert "1,000" in page["properties"]["count"]["description"]
    assert "count_is_exact" in page["required"]


# --- query budgets -----------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 15])
@pytest.mark.parametrize("q", ["", "mart", "martin martine", "1970-05-04"])
def test_front_desk_list_and_search_query_budget(api, front_desk_fay, django_assert_num_queries, martins, n, q):
    PatientFactory.create_batch(n, family_name="Martel")
    client = api.as_user(front_desk_fay)
    # 1 token + user, 2-3 global permissions (user, groups), 4 capped count, 5 page
    with django_assert_num_queries(5):
        assert client.get(LIST, {"q": q} if q else {}).status_code == 200


@pytest.mark.parametrize("n", [1, 15])
def test_care_manager_search_query_budget(api, care_manager_alice, admin_ada, django_assert_num_queries, n):
    from patients.services import care_team_member_add

    for _ in range(n):
        care_team_member_add(
            actor=admin_ada, patient=PatientFactory(family_name="Martel"), user=care_manager_alice, role="care_manager"
        )
    client = api.as_user(care_manager_alice)
    # 1 token + user, 2-3 global permissions (user, groups), 4 role names, 5 capped count, 6 page
    with django_assert_num_queries(6):
        response = client.get(LIST, {"q": "mart"})
    assert response.json()["count"] == n


# --- the admin's changelist search -------------------------------------------------------------


def test_the_admin_search_lists_matches_in_the_search_order(client, front_desk_fay, martins):
    # Case-insensitively by name (a lower-case "martinez" among the M's, not after "Zola"), as the API.
    client.force_login(front_desk_fay)
    response = client.get("/admin/patients/patient/", {"q": "mart"})
    assert response.status_code == 200
    found = [(p.family_name, p.given_name) for p in response.context["cl"].result_list]
    assert found == [
        ("Abbott", "Martha"),
        ("Dubois", "Marta"),
        ("Martin", "Martine"),
        ("martinez", "Ana"),
        ("Zola", "Émile"),  # MRN "MART"
    ]
    api_order = [(r["family_name"], r["given_name"]) for r in _api_rows(front_desk_fay, "mart")]
    assert found == api_order
    # Without a search, the list keeps its own order (and its column headers still sort).
    listed = client.get("/admin/patients/patient/").context["cl"].result_list
    assert [p.family_name for p in listed] == sorted(p.family_name for p in listed)


def _api_rows(user, q):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client.get(LIST, {"q": q}).json()["results"]
