"""A sync run end to end: staging from Clever pages, failures, refusals, the demo, the recordings."""

from __future__ import annotations

import pytest
import responses

from mgi_roster import demo, districts, parameters
from mgi_roster.entities import ENTITIES
from mgi_roster.errors import DistrictIdError, ParametersError, SyncRefused
from mgi_roster.parameters import Parameters
from mgi_roster.roster import merge
from mgi_roster.settings import CleverSettings
from mgi_roster.staging import runfile
from mgi_roster.sync import run_sync, start_run
from tests.support import (
    API,
    DISTRICT_ID,
    SETTINGS,
    Feed,
    recorded_body,
    recorded_interactions,
    recorded_records,
    roster_snapshot,
    serve,
    serve_events,
    small_district,
    staging_of,
    student,
)


def staged_rows(con, run_id: int) -> int:
    """Rows a run left in staging: in the main store, and in its own file if that is still there."""
    rows = sum(
        con.execute(f"SELECT count(*) FROM stg_{e.name} WHERE run_id = ?", [run_id]).fetchone()[0]
        for e in ENTITIES
    )
    path = runfile.file_of(con, run_id)
    if path is not None and path.is_file():
        with staging_of(con, run_id) as staged:
            rows += sum(
                staged.execute(f"SELECT count(*) FROM stg_{e.name}").fetchone()[0] for e in ENTITIES
            )
    return rows


def issues(con, run_id: int) -> list[tuple]:
    return con.execute(
        'SELECT entity, record_id, field, "check", severity FROM issues WHERE run_id = ?', [run_id]
    ).fetchall()


# --- refusals before a run exists -----------------------------------------------------------


def test_sync_without_parameters_is_refused_with_the_guides_order(fresh_db):
    with pytest.raises(ParametersError, match="Define them first"):
        run_sync(fresh_db, DISTRICT_ID, settings=SETTINGS)
    assert fresh_db.execute("SELECT count(*) FROM runs").fetchone() == (0,)


def test_malformed_district_id_is_refused_before_any_call(fresh_db):
    with responses.RequestsMock(), pytest.raises(DistrictIdError):
        run_sync(fresh_db, "12345", settings=SETTINGS)


def test_a_second_sync_of_the_same_district_is_refused_while_one_runs(fresh_db):
    parameters.save(fresh_db, DISTRICT_ID, Parameters())
    running = start_run(fresh_db, DISTRICT_ID, "manual")
    with pytest.raises(SyncRefused, match=f"run {running}"):
        run_sync(fresh_db, DISTRICT_ID, settings=SETTINGS)


# --- staging --------------------------------------------------------------------------------


def test_pages_stream_into_staging_with_progress(fresh_db):
    parameters.save(fresh_db, DISTRICT_ID, Parameters())
    seen = []
    with responses.RequestsMock() as rsps:
        serve(small_district(7), rsps, page_size=3)
        result = run_sync(
            fresh_db, DISTRICT_ID, settings=SETTINGS, page_size=3, progress=seen.append
        )
    assert result.status == "staged", result.message
    assert result.counts == {
        "schools": 1,
        "terms": 0,
        "courses": 0,
        "teachers": 1,
        "students": 7,
        "sections": 1,
        "enrollments": 8,
    }
    student_pages = [p for p in seen if p.entity == "students" and not p.done]
    assert [(p.pages, p.records) for p in student_pages] == [(1, 3), (2, 6), (3, 7)]
    assert [p.entity for p in seen if p.done] == [
        "schools",
        "terms",
        "courses",
        "teachers",
        "students",
        "sections",
    ]
    with staging_of(fresh_db, result.run_id) as staged:
        row = staged.execute(
            "SELECT first_name, last_name, grade, dob, school, schools, email, district_username FROM stg_students WHERE id = ?",
            [student(2)["id"]],
        ).fetchone()
    assert row == (
        "First2",
        "Last2",
        "3",
        "2/11/2016",
        student(2)["roles"]["student"]["school"],
        [row[4]],
        "student2@example.org",
        "s2",
    )


def test_missing_values_all_mean_null(fresh_db):
    parameters.save(fresh_db, DISTRICT_ID, Parameters())
    district = small_district(3)
    district.students[0]["roles"]["student"]["state_id"] = ""
    district.students[1]["roles"]["student"]["state_id"] = None
    del district.students[2]["roles"]["student"]["state_id"]
    with responses.RequestsMock() as rsps:
        serve(district, rsps)
        run_id = run_sync(fresh_db, DISTRICT_ID, settings=SETTINGS).run_id
    with staging_of(fresh_db, run_id) as staged:
        assert staged.execute(
            "SELECT count(*) FROM stg_students WHERE run_id = ? AND state_id IS NULL", [run_id]
        ).fetchone() == (3,)


def test_a_401_on_page_3_leaves_a_failed_run_and_the_roster_untouched(seeded_db):
    before = roster_snapshot(seeded_db)

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        serve(small_district(9), rsps, page_size=2, fail=("students", 3, 401))
        result = run_sync(seeded_db, DISTRICT_ID, settings=SETTINGS, page_size=2)
    assert result.status == "failed"
    assert "refused the district token" in result.message
    status = seeded_db.execute(
        "SELECT status, message FROM runs WHERE run_id = ?", [result.run_id]
    ).fetchone()
    assert status == ("failed", result.message)
    assert staged_rows(seeded_db, result.run_id) == 0
    assert issues(seeded_db, result.run_id) == []
    assert roster_snapshot(seeded_db) == before
    with pytest.raises(Exception, match="failed"):
        merge.approve(seeded_db, result.run_id)


def test_a_failed_run_does_not_block_the_next_sync(fresh_db):
    parameters.save(fresh_db, DISTRICT_ID, Parameters())
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        serve(small_district(3), rsps, fail=("schools", 1, 503))
        failed = run_sync(fresh_db, DISTRICT_ID, settings=SETTINGS, max_retries=0)
    assert failed.status == "failed" and "try again later" in failed.message
    with responses.RequestsMock() as rsps:
        serve(small_district(3), rsps)
        assert run_sync(fresh_db, DISTRICT_ID, settings=SETTINGS).status == "staged"


# --- the demo district ----------------------------------------------------------------------


def test_demo_day_one_stages_with_the_expected_counts_and_only_warnings(fresh_db):
    parameters.save(fresh_db, demo.DEMO_DISTRICT_ID, Parameters())
    result = run_sync(fresh_db, demo.DEMO_DISTRICT_ID, settings=CleverSettings())
    expected = demo.DemoDistrict(day=1).counts()
    assert result.status == "staged", result.message
    for entity in ("schools", "students", "teachers", "sections", "terms", "courses"):
        assert result.counts[entity] == expected[entity], entity
    assert result.issues["error"] == 0
    planted = demo.DemoDistrict(day=1).planted()
    found = {(e, r, c, s) for e, r, _f, c, s in issues(fresh_db, result.run_id)}
    assert ("sections", planted.empty_section, "empty_section", "warning") in found
    assert ("sections", planted.unshared_in_section, "unshared_student", "warning") in found
    for sectionless in planted.sectionless_students:
        assert ("students", sectionless, "student_without_section", "warning") in found


def test_demo_day_two_problems_have_the_right_severity(fresh_db):
    parameters.save(fresh_db, demo.DEMO_DISTRICT_ID, Parameters())
    districts.ensure_demo(fresh_db)
    districts.advance_demo_day(fresh_db)
    result = run_sync(fresh_db, demo.DEMO_DISTRICT_ID, settings=CleverSettings())
    planted = demo.DemoDistrict(day=2).planted()
    found = {(r, c): s for _e, r, _f, c, s in issues(fresh_db, result.run_id)}
    for duplicate in planted.duplicate_sis_id:
        assert found[(duplicate, "duplicate_sis_id")] == "error"
    assert found[(planted.bad_dob.record_id, "dob_date")] == "error"
    assert found[(planted.no_grade.record_id, "required_grade")] == "error"
    assert found[(planted.teacherless_section.record_id, "section_without_teacher")] == "warning"


# --- the real recorded Clever district -------------------------------------------------------

RECORDED_DISTRICT = "58da8a43cc70ab00017a1a87"


def serve_recorded(rsps: responses.RequestsMock) -> None:
    """The recorded pages, each at the URL its next link names; the last next link (beyond the
    recording) answers an empty page, as Clever does after a full page."""
    serve_events(Feed(refuse=404), rsps)  # the recording has no events for this district
    teachers = [u for u in recorded_records("client__section_users") if "teacher" in u["roles"]]
    rsps.get(
        f"{API}/v3.0/users",
        json={"data": [{"data": t} for t in teachers], "links": []},
        match=[responses.matchers.query_param_matcher({"role": "teacher"}, strict_match=False)],
    )
    for cassette, path in (
        ("client__users_next", "/users"),
        ("client__sections_next", "/sections"),
        ("client__courses_next", "/courses"),
    ):
        first, second = recorded_interactions(cassette)
        rsps.get(f"{API}/v3.0{path}?{second['request']['query']}", json=second["response"]["body"])
        last = next(
            link["uri"] for link in second["response"]["body"]["links"] if link["rel"] == "next"
        )
        rsps.get(f"{API}{last}", json={"data": [], "links": []})
        rsps.get(f"{API}/v3.0{path}", json=first["response"]["body"])
    rsps.get(f"{API}/v3.0/schools", json=recorded_body("client__schools"))
    rsps.get(f"{API}/v3.0/terms", json=recorded_body("client__terms"))


def test_the_recorded_clever_district_stages_with_sharing_findings(fresh_db):
    parameters.save(fresh_db, RECORDED_DISTRICT, Parameters())
    settings = CleverSettings(api_base=API, district_token="recorded")
    with responses.RequestsMock() as rsps:
        serve_recorded(rsps)
        result = run_sync(fresh_db, RECORDED_DISTRICT, settings=settings)
    assert result.ok, result.message
    assert result.counts["schools"] == 4
    assert result.counts["students"] == 200
    assert result.counts["teachers"] == 1
    assert result.counts["sections"] == 200
    assert result.counts["terms"] == 5
    assert result.counts["courses"] == 200
    sharing = [i for i in issues(fresh_db, result.run_id) if i[3] == "unshared_student"]
    assert sharing and {i[4] for i in sharing} == {"warning"}
    assert not [
        i for i in issues(fresh_db, result.run_id) if i[3].startswith("dob")
    ]  # "2/11/2007" is fine
    # both term date formats end up as dates
    with staging_of(fresh_db, result.run_id) as staged:
        assert staged.execute("SELECT start_date FROM stg_terms WHERE name = 'S1'").fetchone() == (
            "2012-08-01",
        )


# --- prefetching pages ----------------------------------------------------------------------


def test_prefetched_keeps_order_and_raises_in_place():
    from mgi_roster.sync import prefetched

    def pages():
        yield from range(5)
        raise RuntimeError("page 6 failed")

    got = []
    with pytest.raises(RuntimeError, match="page 6"):
        for page in prefetched(pages()):
            got.append(page)
    assert got == [0, 1, 2, 3, 4]


def test_prefetched_stops_fetching_when_the_consumer_stops():
    import itertools
    import threading

    from mgi_roster.sync import prefetched

    produced = itertools.count()
    pages = (next(produced) for _ in itertools.count())  # endless
    for page in prefetched(pages, depth=2):
        if page == 3:
            break
    assert not any(t.name == "clever-prefetch" and t.is_alive() for t in threading.enumerate())
    assert next(produced) < 10  # it stopped a few pages ahead, not at the end of the world


def test_members_the_token_cannot_see_are_counted_even_beside_a_person_without_an_id(fresh_db):
    """A staged person without an id once hid every unshared member (NOT IN a list holding
    NULL is never true)."""
    parameters.save(fresh_db, DISTRICT_ID, Parameters())
    district = small_district(3)
    district.students.append(student(4, id=""))  # a record Clever sent without its id
    district.sections[0]["students"] += [student(8)["id"], student(9)["id"]]  # not shared
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        serve(district, rsps)
        result = run_sync(fresh_db, DISTRICT_ID, settings=SETTINGS)
    assert result.ok, result.message
    row = fresh_db.execute("SELECT unshared FROM runs WHERE run_id = ?", [result.run_id])
    assert row.fetchone() == (2,)
