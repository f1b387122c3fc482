"""views: the paged, filtered reads behind the pages.

Most tests seed a few hundred rows by hand (fast, exact); one slow test checks that a
million-row table is answered a page at a time; one shared demo database checks the reads on
real sync output.
"""

from __future__ import annotations

import json
import time

import duckdb
import pytest

from mgi_roster import demo, districts, parameters, store, sync, views
from mgi_roster.parameters import Parameters
from mgi_roster.roster import merge
from mgi_roster.settings import CleverSettings
from tests.support import DISTRICT_ID

D = DISTRICT_ID
RUN = 7
SCHOOLS = {"5c01": "Alder Creek", "5c02": "Bayview"}


@pytest.fixture
def staged_run(fresh_db: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A staged run with 251 issues and 300 changes over two schools, written by hand: exact
    counts to page, filter and search by (a real sync could not plant them so precisely)."""
    con = fresh_db
    con.execute(
        "INSERT INTO runs (run_id, district_id, status, errors, warnings, counts, changes) VALUES (?, ?, 'staged', 50, 200, ?, ?)",
        [
            RUN,
            D,
            json.dumps({"schools": 2, "students": 300}),
            json.dumps({"students": {"added": 200, "updated": 100, "unchanged": 0}}),
        ],
    )
    for school_id, name in SCHOOLS.items():
        con.execute(
            "INSERT INTO stg_schools (run_id, district_id, id, name) VALUES (?, ?, ?, ?)",
            [RUN, D, school_id, name],
        )
    con.execute(
        """INSERT INTO issues (run_id, district_id, entity, record_id, field, "check", severity, value, message, school, record_name, sis_id)
           SELECT $run, $district, 'students', printf('st%04d', i), 'grade',
                  CASE WHEN i % 5 = 0 THEN 'required_grade' ELSE 'grade_outside_school_span' END,
                  CASE WHEN i % 5 = 0 THEN 'error' ELSE 'warning' END,
                  NULL, 'Fix it in the SIS.', CASE WHEN i % 2 = 0 THEN '5c01' ELSE '5c02' END,
                  printf('Student %d', i), printf('S%d', 1000 + i)
           FROM range(250) t(i)""",
        {"run": RUN, "district": D},
    )
    # One record whose name holds LIKE wildcards and SQL, to check searches bind and escape.
    con.execute(
        """INSERT INTO issues (run_id, district_id, entity, record_id, "check", severity, message, school, record_name, sis_id)
           VALUES (?, ?, 'students', 'st9999', 'required_login', 'error', 'No login.', '5c01', '100%_sure''; DROP TABLE issues; --', 'X_1')""",
        [RUN, D],
    )
    con.execute(
        """INSERT INTO changes (run_id, district_id, entity, record_id, change, field, before, after, school, record_name)
           SELECT $run, $district, 'students', printf('st%04d', i),
                  CASE WHEN i < 200 THEN 'added' ELSE 'updated' END,
                  CASE WHEN i < 200 THEN NULL ELSE 'grade' END,
                  CASE WHEN i < 200 THEN NULL ELSE '3' END,
                  CASE WHEN i < 200 THEN NULL ELSE '4' END,
                  CASE WHEN i % 2 = 0 THEN '5c01' ELSE '5c02' END, printf('Student %d', i)
           FROM range(300) t(i)""",
        {"run": RUN, "district": D},
    )
    return con


def test_issues_come_a_page_at_a_time_with_the_filtered_total(staged_run):
    first = views.issues_page(staged_run, RUN, page=1, page_size=20)
    assert first.total == 251
    assert len(first.frame) == 20
    assert first.pages(20) == 13
    last = views.issues_page(staged_run, RUN, page=13, page_size=20)
    assert len(last.frame) == 11
    assert views.issues_page(staged_run, RUN, page=99, page_size=20).frame.empty


def test_issue_pages_are_stable_and_do_not_overlap(staged_run):
    seen = []
    for page in range(1, 14):
        seen += (
            views.issues_page(staged_run, RUN, page=page, page_size=20).frame["record_id"].tolist()
        )
    assert len(seen) == len(set(seen)) == 251
    again = views.issues_page(staged_run, RUN, page=3, page_size=20).frame["record_id"].tolist()
    assert again == seen[40:60]


def test_errors_come_first(staged_run):
    frame = views.issues_page(staged_run, RUN, page_size=60).frame
    severities = frame["severity"].tolist()
    assert severities == sorted(severities, key=lambda s: s != "error")
    assert severities[0] == "error"


def test_issue_filters_combine(staged_run):
    errors = views.issues_page(staged_run, RUN, views.IssueFilter(severities=("error",)))
    assert errors.total == 51
    in_alder = views.issues_page(
        staged_run, RUN, views.IssueFilter(severities=("error",), schools=("5c01",))
    )
    assert in_alder.total == 26  # i % 10 == 0 (25) + the planted one
    assert set(in_alder.frame["school"]) == {"Alder Creek"}
    by_check = views.issues_page(staged_run, RUN, views.IssueFilter(checks=("required_grade",)))
    assert by_check.total == 50


def test_issue_search_matches_name_sis_id_or_record_id_case_insensitively(staged_run):
    assert views.issues_page(staged_run, RUN, views.IssueFilter(search="student 12")).total == 11
    assert views.issues_page(staged_run, RUN, views.IssueFilter(search="s1042")).total == 1
    assert views.issues_page(staged_run, RUN, views.IssueFilter(search="ST0100")).total == 1


def test_search_wildcards_are_literal_and_sql_stays_data(staged_run):
    assert views.issues_page(staged_run, RUN, views.IssueFilter(search="100%_")).total == 1
    assert views.issues_page(staged_run, RUN, views.IssueFilter(search="%")).total == 1
    assert views.issues_page(staged_run, RUN, views.IssueFilter(search="X_1")).total == 1
    assert (
        views.issues_page(
            staged_run, RUN, views.IssueFilter(search="'; DROP TABLE issues; --")
        ).total
        == 1
    )
    assert (
        views.issues_page(staged_run, RUN, views.IssueFilter(entities=("x') OR 1=1 --",))).total
        == 0
    )
    assert views.issue_totals(staged_run, RUN) == {"error": 51, "warning": 200}


def test_issue_options_and_counts_by_check(staged_run):
    options = views.issue_options(staged_run, RUN)
    assert options.entities == ("students",)
    assert set(options.checks) == {"required_grade", "grade_outside_school_span", "required_login"}
    assert options.schools == (("5c01", "Alder Creek"), ("5c02", "Bayview"))
    by_check = views.issues_by_check(staged_run, RUN)
    assert by_check.iloc[0]["check"] == "grade_outside_school_span"
    assert by_check["issues"].sum() == 251


def test_changes_page_filters_by_kind_school_and_search(staged_run):
    added = views.changes_page(
        staged_run, RUN, views.ChangeFilter(changes=("added",)), page_size=25
    )
    assert added.total == 200 and len(added.frame) == 25
    assert added.frame["field"].isna().all()
    updated = views.changes_page(staged_run, RUN, views.ChangeFilter(changes=("updated",)))
    assert updated.total == 100
    assert updated.frame.iloc[0][["field", "before", "after"]].tolist() == ["grade", "3", "4"]
    bayview = views.changes_page(
        staged_run, RUN, views.ChangeFilter(changes=("updated",), schools=("5c02",))
    )
    assert bayview.total == 50 and set(bayview.frame["school"]) == {"Bayview"}
    assert views.changes_page(staged_run, RUN, views.ChangeFilter(search="student 299")).total == 1
    assert views.change_options(staged_run, RUN).schools == (
        ("5c01", "Alder Creek"),
        ("5c02", "Bayview"),
    )


def test_change_count_tables(staged_run):
    changes = {
        "students": {"added": 200, "updated": 100, "archived": 0, "restored": 0, "unchanged": 5}
    }
    table = views.change_counts_table(changes)
    assert table.iloc[0]["entity"] == "Students"
    assert table.iloc[0]["added"] == 200 and table.iloc[0]["unchanged"] == 5
    long = views.changes_by_entity(changes)
    assert set(long["change"]) == {"added", "updated"}
    assert views.changes_by_entity({}).empty


def _roster_student(
    con,
    sid: str,
    name: str,
    school: str,
    grade: str | None,
    valid_from: int,
    valid_to=None,
    archived=False,
):
    con.execute(
        """INSERT INTO roster_students (district_id, id, sis_id, first_name, last_name, school, grade, archived, valid_from, valid_to)
           VALUES (?, ?, ?, ?, 'Doe', ?, ?, ?, ?, ?)""",
        [D, sid, f"S-{sid}", name, school, grade, archived, valid_from, valid_to],
    )


@pytest.fixture
def versioned(fresh_db: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A roster with two merge versions: version 2 changed one grade and archived one student."""
    con = fresh_db
    con.execute(
        "INSERT INTO roster_schools (district_id, id, name, valid_from) VALUES (?, '5c01', 'Alder Creek', 1)",
        [D],
    )
    _roster_student(con, "a", "Ann", "5c01", "3", 1)
    _roster_student(con, "b", "Bo", "5c01", "4", 1, valid_to=2)
    _roster_student(con, "b", "Bo", "5c01", "5", 2)
    _roster_student(con, "c", "Cy", "5c01", None, 1, valid_to=2)
    _roster_student(con, "c", "Cy", "5c01", None, 2, archived=True)
    con.execute(
        "INSERT INTO merges (version, district_id, run_id, kind, actor) VALUES (1, ?, 1, 'merge', 'Dana'), (2, ?, 2, 'merge', NULL)",
        [D, D],
    )
    return con


def test_roster_page_now_and_as_of_a_version(versioned):
    now = views.roster_page(versioned, D, "students")
    assert now.total == 3
    assert now.frame.set_index("id").loc["b", "grade"] == "5"
    then = views.roster_page(versioned, D, "students", version=1)
    assert then.frame.set_index("id").loc["b", "grade"] == "4"
    assert not then.frame["archived"].any()
    active = views.roster_page(versioned, D, "students", include_archived=False)
    assert active.total == 2
    assert views.roster_page(versioned, D, "students", search="bo doe").total == 1
    assert views.roster_page(versioned, D, "students", search="S-c").total == 1
    assert views.versions(versioned, D)[0][0] == 2
    assert views.roster_page(versioned, D, "enrollments").total == 0


def test_roster_pages_are_ordered_by_key(versioned):
    ids = [
        views.roster_page(versioned, D, "students", page=p, page_size=1).frame.iloc[0]["id"]
        for p in (1, 2, 3)
    ]
    assert ids == ["a", "b", "c"]


def test_quality_aggregates(versioned):
    assert views.roster_counts(versioned, D)["students"] == 2  # archived Cy left out
    by_school = views.students_by_school_grade(versioned, D)
    assert by_school[["school", "grade", "students"]].to_dict("records") == [
        {"school": "Alder Creek", "grade": "3", "students": 1},
        {"school": "Alder Creek", "grade": "5", "students": 1},
    ]
    completeness = views.field_completeness(versioned, D, "students").set_index("field")
    assert completeness.loc["grade", "missing"] == 0
    assert completeness.loc["email", "missing"] == 2
    assert completeness.loc["email", "missing_pct"] == 100.0
    assert views.section_sizes(versioned, D).empty
    assert views.students_per_teacher(versioned, D).empty


def test_section_sizes_and_students_per_teacher(fresh_db):
    fresh_db.execute(
        "INSERT INTO roster_sections (district_id, id, name, valid_from) VALUES (?, 's1', 'Math', 1), (?, 's2', 'Art', 1)",
        [D, D],
    )
    fresh_db.execute(
        "INSERT INTO roster_teachers (district_id, id, first_name, valid_from) VALUES (?, 't1', 'T', 1)",
        [D],
    )
    fresh_db.execute(
        """INSERT INTO roster_enrollments (district_id, section_id, user_id, role, valid_from) VALUES
           ($d, 's1', 'a', 'student', 1), ($d, 's1', 'b', 'student', 1), ($d, 's1', 't1', 'teacher', 1)""",
        {"d": D},
    )
    assert views.section_sizes(fresh_db, D).to_dict("records") == [
        {"students": 0, "sections": 1},
        {"students": 2, "sections": 1},
    ]
    assert views.students_per_teacher(fresh_db, D).to_dict("records") == [
        {"students": 2, "teachers": 1}
    ]


def test_requirements_table_follows_the_parameters():
    table = views.requirements_table(Parameters())
    assert list(table.columns) == ["measure", "entity", "field", "rule", "description"]
    assert set(table["rule"]) == {"required_school", "required_grade"}
    more = views.requirements_table(
        Parameters.from_dict(
            {
                "testing_measures": ["student_application", "state_reporting"],  # earlier version
                "distribute_by_class": True,
                "screening_class_rule": {"subjects": ["math"]},
            }
        )
    )
    assert {"district_requirement", "screening_class_coverage"} <= set(more["rule"])
    district = more[more["rule"] == "district_requirement"]
    assert set(district["field"]) == {"state_id", "dob"}
    assert (district["measure"] == "District requirement (not the MGI's)").all()


def test_runs_and_districts_tables(staged_run):
    runs = views.runs_table(staged_run, D)
    assert (
        runs.iloc[0]["run"] == RUN
        and runs.iloc[0]["added"] == 200
        and runs.iloc[0]["records"] == 302
    )
    assert views.merges_table(staged_run, D).empty
    assert views.run_choices(staged_run, D)[0][0] == RUN
    districts.ensure_demo(staged_run)
    table = views.districts_table(districts.all_districts(staged_run))
    assert table.iloc[0]["District ID"] == demo.DEMO_DISTRICT_ID
    assert views.counts_table({"students": 3, "schools": 1})["entity"].tolist() == [
        "Schools",
        "Students",
    ]


def test_an_empty_database_reads_as_empty(fresh_db):
    assert views.issues_page(fresh_db, 1).total == 0
    assert views.changes_page(fresh_db, 1).frame.empty
    assert views.issues_across_runs(fresh_db, D).empty
    assert views.sharing(fresh_db, D) == views.Sharing(None, {}, 0)
    assert views.roster_counts(fresh_db, D)["students"] == 0


def test_a_million_rows_are_read_a_page_at_a_time(fresh_db):
    fresh_db.execute("INSERT INTO runs (run_id, district_id, status) VALUES (1, ?, 'staged')", [D])
    fresh_db.execute(
        """INSERT INTO issues (run_id, district_id, entity, record_id, "check", severity, message, school, record_name, sis_id)
           SELECT 1, ?, 'students', printf('%07d', i), 'required_grade',
                  CASE WHEN i % 100 = 0 THEN 'error' ELSE 'warning' END, 'm', '5c01', printf('Name %d', i), printf('S%d', i)
           FROM range(1000000) t(i)""",
        [D],
    )
    fresh_db.execute(
        """INSERT INTO roster_students (district_id, id, first_name, last_name, grade, school, valid_from)
           SELECT ?, printf('%07d', i), 'First', printf('Last%d', i), '3', '5c01', 1 FROM range(1000000) t(i)""",
        [D],
    )
    started = time.perf_counter()
    page = views.issues_page(
        fresh_db, 1, views.IssueFilter(search="name 99999"), page=2, page_size=5
    )
    paged = views.issues_page(fresh_db, 1, page=20_000, page_size=50)
    roster = views.roster_page(fresh_db, D, "students", search="last12345", page=1)
    views.field_completeness(fresh_db, D, "students")
    elapsed = time.perf_counter() - started
    assert page.total == 11 and len(page.frame) == 5
    assert paged.total == 1_000_000 and len(paged.frame) == 50
    assert roster.total == 11
    assert elapsed < 10  # generous for shared CI machines; locally well under a second each


# --- on real sync output ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> str:
    """The demo district synced on day 1 and merged, then synced on day 2 (not merged)."""
    path = str(tmp_path_factory.mktemp("views") / "demo.duckdb")
    with store.opened(path) as con:
        districts.ensure_demo(con)
        parameters.save(con, demo.DEMO_DISTRICT_ID, Parameters())
        first = sync.run_sync(con, demo.DEMO_DISTRICT_ID, settings=CleverSettings())
        merge.approve(con, first.run_id, by="Dana")
        districts.advance_demo_day(con)
        sync.run_sync(con, demo.DEMO_DISTRICT_ID, settings=CleverSettings())
    return path


def test_reads_on_the_demo_district(demo_db):
    with store.opened(demo_db) as con:
        runs = views.runs_table(con, demo.DEMO_DISTRICT_ID)
        assert runs["status"].tolist() == ["staged", "merged"]
        day2 = int(runs.iloc[0]["run"])
        errors = views.issues_page(con, day2, views.IssueFilter(severities=("error",)))
        assert errors.total > 0
        assert errors.frame["school"].notna().any()
        updated = views.changes_page(con, day2, views.ChangeFilter(changes=("updated",)))
        assert updated.total > 0 and updated.frame["field"].notna().all()
        assert not views.changes_by_school(con, day2).empty
        assert views.roster_counts(con, demo.DEMO_DISTRICT_ID)["students"] == 1200
        sharing = views.sharing(con, demo.DEMO_DISTRICT_ID)
        assert sharing.run_id == day2 and sharing.unshared_users >= 1
        assert not views.students_by_school_grade(con, demo.DEMO_DISTRICT_ID).empty
        assert views.section_sizes(con, demo.DEMO_DISTRICT_ID)["sections"].sum() > 0
        assert views.issues_across_runs(con, demo.DEMO_DISTRICT_ID)["run"].nunique() == 2
        assert views.versions(con, demo.DEMO_DISTRICT_ID)[0][0] == 1
