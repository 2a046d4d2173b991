"""Patient search on PostgreSQL: the "C"-collated search index (migration 0006) answers the family-name
prefix as an index range in result order, UPPER folds accented letters, and the UNION ALL the front
desk's search becomes returns what one OR'ed WHERE returns, once each, in one order."""

import json

import pytest
from django.db import connection

from patients.selectors import SEARCH_ORDER, _search_order, patient_search_q, patients_for_user, patients_search
from tests.factories import PatientFactory

pytestmark = pytest.mark.integration

NAMES = [("Lefèvre", "Paul"), ("LEFEBVRE", "Élodie"), ("lefort", "Marc"), ("Martin", "Martine"), ("Émond", "Lef")]


@pytest.fixture
def people(db):
    rows = [PatientFactory(family_name=f, given_name=g) for f, g in NAMES * 4]
    rows += PatientFactory.create_batch(200)
    with connection.cursor() as cur:
        cur.execute("ANALYZE patients_patient")
    return rows


def _plan(qs, *, off: tuple[str, ...] = ()) -> dict:
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cur:
        for setting in off:
            cur.execute(f"SET LOCAL enable_{setting} = off")
        # On a few hundred rows a sequential scan is cheapest (at a million patients it is not, see
        # bench/RESULTS.md); the point here is what the index can serve.
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("SET LOCAL enable_bitmapscan = off")
        cur.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        return cur.fetchone()[0][0]["Plan"]


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def test_the_search_index_exists_and_replaces_the_family_pattern_index(db):
    with connection.cursor() as cur:
        cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'patients_patient'")
        indexes = dict(cur.fetchall())
    assert 'COLLATE "C"' in indexes["patient_search_name_idx"]
    assert "patient_family_upper_idx" not in indexes


def test_family_prefix_is_an_index_range_read_in_result_order(front_desk_fay, people):
    # The family-name branch of the search, as `patients_search` orders it: the "C"-collated index
    # must both bound the scan (Index Cond, not a Filter) and give the order (no Sort). At a million
    # patients PostgreSQL then merges it with the other branches and stops after one page.
    everyone = patients_for_user(user=front_desk_fay)
    branch = everyone.filter(family_name__istartswith="lef").annotate(**_search_order()).order_by(*SEARCH_ORDER)
    plan = _plan(branch[:50])
    nodes = list(_nodes(plan))
    scans = [n for n in nodes if n.get("Index Name") == "patient_search_name_idx"]
    assert scans and all("Index Cond" in n for n in scans), json.dumps(plan, indent=1)
    assert not [n for n in nodes if n["Node Type"] in ("Sort", "Incremental Sort")], json.dumps(plan, indent=1)


@pytest.mark.parametrize("q", ["lef", "LEF", "lefè", "LEFÈVRE", "élo", "ÉMOND", "lef paul", "paul lef", "mart", "martin martine"])
def test_union_matches_one_where_once_each_in_order(front_desk_fay, people, q):
    everyone = patients_for_user(user=front_desk_fay)
    found = list(patients_search(user=front_desk_fay, queryset=everyone, query=q))
    expected = everyone.filter(patient_search_q(q))
    assert sorted(p.pk for p in found) == sorted(expected.values_list("pk", flat=True)) and found, q
    keys = [(p.family_name.upper().encode(), p.given_name.upper().encode(), p.pk) for p in found]
    assert keys == sorted(keys)
    # With `rows`, each branch stops after that many rows in result order: the first rows are the same.
    for rows in (1, 3, 1000):
        first = list(patients_search(user=front_desk_fay, queryset=everyone, query=q, rows=rows)[:rows])
        assert first == found[:rows], (q, rows)


def test_accented_capitals_match_on_postgresql(api, front_desk_fay, people):
    response = api.as_user(front_desk_fay).get("/api/v1/patients/", {"q": "LEFÈVRE"})
    assert {r["family_name"] for r in response.json()["results"]} == {"Lefèvre"}
    assert response.json()["count_is_exact"] is True


def test_capped_count_on_postgresql(api, front_desk_fay, people, monkeypatch):
    from patients.api.pagination import CappedCountPagination

    monkeypatch.setattr(CappedCountPagination, "count_cap", 10)
    client = api.as_user(front_desk_fay)
    body = client.get("/api/v1/patients/", {"page_size": 5}).json()
    assert (body["count"], body["count_is_exact"], bool(body["next"])) == (10, False, True)
    body = client.get("/api/v1/patients/", {"q": "lef", "page_size": 5}).json()
    assert (body["count"], body["count_is_exact"]) == (10, False)
    body = client.get("/api/v1/patients/", {"q": "martin martine", "page_size": 5}).json()
    assert (body["count"], body["count_is_exact"]) == (4, True)


def test_care_manager_search_on_postgresql_stays_in_the_care_team(api, care_manager_alice, paul, petra, people):
    results = api.as_user(care_manager_alice).get("/api/v1/patients/", {"q": "lef"}).json()["results"]
    assert [r["id"] for r in results] == [paul.pk]


@pytest.fixture
def alices_many(people, admin_ada, care_manager_alice):
    from patients.services import care_team_member_add

    for patient in people[::3]:
        care_team_member_add(actor=admin_ada, patient=patient, user=care_manager_alice, role="care_manager")
    with connection.cursor() as cur:
        cur.execute("ANALYZE patients_patientlistentry")
    return people[::3]


def test_a_care_managers_list_page_is_read_from_their_entries_in_order(care_manager_alice, alices_many):
    # The first page: the first 50 entries of the user's (user, family, given, patient) index, no
    # Sort of every patient they see; the patients are then looked up by primary key.
    # (On a few dozen entries a merge join and a sort are cheapest; with them off, the plan left
    # must still need no sort: the index gives the order.)
    page = patients_for_user(user=care_manager_alice)[:50]
    nodes = list(_nodes(_plan(page, off=("mergejoin", "hashjoin", "sort"))))
    assert not [n for n in nodes if n["Node Type"] == "Sort"], json.dumps(nodes, default=str)[:2000]
    assert any(n.get("Index Name") == "patient_list_entry_order_idx" for n in nodes), json.dumps(nodes, default=str)[:2000]
    expected = sorted(alices_many, key=lambda p: (p.family_name, p.given_name, p.pk))[:50]
    assert list(page) == expected


def test_a_care_managers_search_filters_their_entries_before_any_patient_is_read(care_manager_alice, alices_many):
    mine = patients_for_user(user=care_manager_alice)
    found = patients_search(user=care_manager_alice, queryset=mine, query="lef")
    nodes = list(_nodes(_plan(found)))
    entry_scans = [n for n in nodes if n.get("Relation Name") == "patients_patientlistentry"]
    # The names are checked on the entry scan itself (its Filter), not after joining each patient.
    assert entry_scans and all("upper" in (n.get("Filter") or "").lower() for n in entry_scans), json.dumps(nodes, default=str)[
        :2000
    ]
    assert set(found) == {p for p in alices_many if p in set(mine.filter(patient_search_q("lef")))}


def test_the_admin_search_sorts_its_matches_instead_of_walking_the_name_index(front_desk_fay, people):
    # One OR'ed WHERE in the search order: read through the alternatives' indexes and sorted. Were
    # the order the search index's own, PostgreSQL could walk that index from "A", testing every
    # patient before the first match (a Filter, no Index Cond): 1.6 s at a million patients.
    from patients.selectors import search_sort_order

    everyone = patients_for_user(user=front_desk_fay)
    page = everyone.filter(patient_search_q("lef")).order_by(*search_sort_order())[:50]
    sql, params = page.query.sql_with_params()
    with connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        nodes = list(_nodes(cur.fetchone()[0][0]["Plan"]))
    walks = [n for n in nodes if n.get("Index Name") == "patient_search_name_idx" and "Index Cond" not in n]
    assert not walks, json.dumps(nodes, default=str)[:2000]
    assert any(n["Node Type"] == "Sort" for n in nodes)
    expected = sorted(everyone.filter(patient_search_q("lef")), key=lambda p: (p.family_name.upper(), p.given_name.upper(), p.pk))
    assert list(page) == expected[:50]
