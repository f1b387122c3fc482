"""OneRoster raw tables → staged rows (sources/oneroster/mapping.py), 1.1 and 1.2 shapes."""

from __future__ import annotations

import duckdb
import pytest

from mgi_roster import store
from mgi_roster.entities import ENTITIES
from mgi_roster.sources.oneroster import mapping
from tests.oneroster_support import DISTRICT, END, START, fill, package_11, package_12


def staged(con: duckdb.DuckDBPyConnection, entity: str) -> dict[str, dict[str, object]]:
    rel = con.execute(f"SELECT * FROM stg_{entity} WHERE run_id = 1")
    names = [d[0] for d in rel.description]
    rows = [dict(zip(names, r, strict=True)) for r in rel.fetchall()]
    key = "id" if entity != "enrollments" else "user_id"
    return {str(r[key]): r for r in rows}


@pytest.fixture
def con():
    c = store.connect(":memory:")
    yield c
    c.close()


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_a_package_stages_every_entity(con, version):
    fill(con, package_11() if version == "1.1" else package_12())
    counts = mapping.stage(con, 1, DISTRICT, version)
    assert counts == {
        "schools": 2, "terms": 1, "courses": 1, "teachers": 1, "students": 2,
        "sections": 1, "enrollments": 2,
    }  # fmt: skip
    schools = staged(con, "schools")
    assert schools["sch-1"]["name"] == "North Elementary"
    assert schools["sch-1"]["sis_id"] == "N1"
    amy = staged(con, "students")["s-1"]
    assert amy["first_name"] == "Amy" and amy["middle_name"] == "B" and amy["last_name"] == "Ames"
    assert amy["sis_id"] == "SIS-1" and amy["district_username"] == "amy"
    assert amy["state_id"] == "ST1" and amy["student_number"] == "100"
    assert amy["grade"] == "3"
    assert amy["dob"] == "2/9/2016" and amy["gender"] == "F"
    assert amy["race"] == "Caucasian" and amy["hispanic_ethnicity"] == "N"
    assert amy["schools"] == ["sch-1", "sch-2"]
    # 1.1: the first school-type org; 1.2: primaryOrgSourcedId
    assert amy["school"] == ("sch-1" if version == "1.1" else "sch-2")
    bo = staged(con, "students")["s-2"]
    assert bo["grade"] == "Kindergarten" and bo["gender"] is None
    assert bo["race"] == "Two or More Races" and bo["hispanic_ethnicity"] == "Y"
    assert "s-3" not in staged(con, "students")  # tobedeleted
    teacher = staged(con, "teachers")["t-1"]
    assert teacher["teacher_number"] == "T100" and teacher["school"] == "sch-1"
    section = staged(con, "sections")["cls-1"]
    assert section == {
        "run_id": 1, "district_id": DISTRICT, "id": "cls-1", "sis_id": None, "name": "Room 12",
        "school": "sch-1", "course": "crs-1", "term_id": "term-1", "subject": "homeroom/advisory",
        "grade": "3", "period": "1", "section_number": "HR-12", "teacher": "t-1",
        "class_type": "homeroom",
    }  # fmt: skip
    enrolled = staged(con, "enrollments")
    assert {(e["user_id"], e["role"]) for e in enrolled.values()} == {
        ("s-1", "student"),
        ("t-1", "teacher"),
    }
    term = staged(con, "terms")["term-1"]
    assert (term["name"], term["start_date"], term["end_date"]) == (
        "2025-26",
        START,
        END,
    )
    course = staged(con, "courses")["crs-1"]
    assert (course["name"], course["number"]) == ("Grade 3 Homeroom", "HR3")


def test_unknown_grade_codes_are_kept_as_sent(con):
    p = package_11()
    p["users"][1]["grades"] = "K"
    fill(con, p)
    mapping.stage(con, 1, DISTRICT, "1.1")
    assert staged(con, "students")["s-1"]["grade"] == "K"


def test_teacher_without_primary_is_the_first_teacher(con):
    p = package_11()
    p["users"].append(
        {
            "sourcedId": "t-2",
            "role": "teacher",
            "givenName": "Ann",
            "familyName": "Ash",
            "orgSourcedIds": "sch-1",
        }
    )
    p["enrollments"] = [
        {"sourcedId": "e-9", "classSourcedId": "cls-1", "userSourcedId": "t-2", "role": "teacher"},
        {"sourcedId": "e-2", "classSourcedId": "cls-1", "userSourcedId": "t-1", "role": "teacher", "primary": "false"},
    ]  # fmt: skip
    fill(con, p)
    mapping.stage(con, 1, DISTRICT, "1.1")
    assert staged(con, "sections")["cls-1"]["teacher"] == "t-2"


@pytest.mark.parametrize(
    ("orgs", "schools"),
    [
        ("sch-2", ["sch-2"]),  # one org, a school (the usual case, no aggregation)
        (" sch-2 ", ["sch-2"]),  # padded
        (DISTRICT, None),  # one org, not a school
        ("", None),
        ("sch-2,sch-1", ["sch-2", "sch-1"]),  # several: the order sent
        (f"sch-2, {DISTRICT},sch-1,sch-2", ["sch-2", "sch-1", "sch-2"]),
    ],
)
def test_a_users_schools_are_its_school_orgs_in_the_order_sent(con, orgs, schools):
    p = package_11()
    p["users"][1]["orgSourcedIds"] = orgs
    fill(con, p)
    mapping.stage(con, 1, DISTRICT, "1.1")
    amy = staged(con, "students")["s-1"]
    assert amy["schools"] == schools
    assert amy["school"] == (schools[0] if schools else None)


def _role(
    org: str | None, role_type: str = "secondary", role: str = "student"
) -> dict[str, str | None]:
    return {"userSourcedId": "s-1", "roleType": role_type, "role": role, "orgSourcedId": org}


@pytest.mark.parametrize(
    ("roles", "schools", "org"),
    [
        ([_role("sch-2", "primary")], ["sch-2"], "sch-2"),  # one school (no aggregation)
        ([_role("sch-2", "primary"), _role("sch-2")], ["sch-2"], "sch-2"),  # twice the same
        ([_role("sch-2"), _role("sch-1", "primary")], ["sch-1", "sch-2"], "sch-1"),
        ([_role("sch-2"), _role("sch-1")], ["sch-1", "sch-2"], "sch-1"),  # no primary: by org
        ([_role(DISTRICT, "primary"), _role("sch-2")], ["sch-2"], DISTRICT),
        ([_role(DISTRICT, "primary")], None, DISTRICT),  # no school
        ([_role(None), _role("sch-2")], ["sch-2"], "sch-2"),  # a missing org comes last
        ([_role("sch-2"), _role("sch-1", role="teacher")], None, None),  # a teacher (sch-1 first)
    ],
)
def test_a_users_roles_give_its_role_and_schools_in_12(con, roles, schools, org):
    p = package_12()
    p["roles"] = [r for r in p["roles"] if r["userSourcedId"] != "s-1"]
    p["roles"] += [{"sourcedId": f"r-x{i}", **r} for i, r in enumerate(roles)]
    p["users"][1]["primaryOrgSourcedId"] = ""
    fill(con, p)
    mapping.stage(con, 1, DISTRICT, "1.2")
    amy = staged(con, "students").get("s-1")
    if org is None:
        assert amy is None and staged(con, "teachers")["s-1"]["schools"] == ["sch-1", "sch-2"]
        return
    assert amy is not None and amy["schools"] == schools and amy["school"] == org


def test_an_enrollment_sent_twice_is_staged_once(con):
    p = package_11()
    again = {"classSourcedId": "cls-1", "userSourcedId": " s-1", "role": "student"}
    p["enrollments"] += [{"sourcedId": "e-4", **again}, {"sourcedId": "e-5", **again}]
    fill(con, p)
    assert mapping.stage(con, 1, DISTRICT, "1.1")["enrollments"] == 2


def test_the_package_names_its_district(con):
    fill(con, package_11())
    assert mapping.package_district(con) == DISTRICT


def test_without_a_district_org_its_only_school_names_it(con):
    p = package_11()
    p["orgs"] = [o for o in p["orgs"] if o["sourcedId"] == "sch-1"]
    fill(con, p)
    assert mapping.package_district(con) == "sch-1"


def test_each_entity_column_has_at_most_one_counterpart():
    seen = [(c.entity.name, c.column) for c in mapping.COUNTERPARTS]
    assert len(seen) == len(set(seen))
    for cp in mapping.COUNTERPARTS:
        assert cp.column in cp.entity.column_names
        assert cp.file in mapping.ALIAS
    assert {e.name for e in ENTITIES} == set(mapping.MAIN_FILE)


def _roster_student(con, sid: str, first: str) -> None:
    con.execute(
        "INSERT INTO roster_students (district_id, id, first_name, last_name, school, valid_from) "
        "VALUES (?, ?, ?, 'Old', 'sch-1', 1)",
        [DISTRICT, sid, first],
    )


def test_a_delta_file_lays_its_rows_over_the_roster(con):
    _roster_student(con, "s-1", "Amelia")  # named by the delta: replaced
    _roster_student(con, "s-3", "Cyrus")  # tobedeleted in the delta: dropped
    _roster_student(con, "s-9", "Nine")  # not named: kept as it is
    fill(con, package_11())
    modes = {"users": "delta", "orgs": "bulk"}
    mapping.stage(con, 1, DISTRICT, "1.1", modes)
    students = staged(con, "students")
    assert set(students) == {"s-1", "s-2", "s-9"}
    assert students["s-1"]["first_name"] == "Amy"
    assert students["s-9"]["first_name"] == "Nine"


def test_a_bulk_file_is_the_whole_truth(con):
    _roster_student(con, "s-9", "Nine")
    fill(con, package_11())
    mapping.stage(con, 1, DISTRICT, "1.1", {"users": "bulk"})
    assert "s-9" not in staged(con, "students")


def test_a_delta_file_that_repeats_an_enrollment_stages_it_once_over_the_roster(con):
    con.execute(
        "INSERT INTO roster_enrollments (district_id, section_id, user_id, role, valid_from) "
        "VALUES (?, 'cls-9', 's-2', 'student', 1)",
        [DISTRICT],
    )  # not named by the delta: kept
    p = package_11()
    p["enrollments"].append({"sourcedId": "e-4", "classSourcedId": "cls-1", "userSourcedId": "s-1", "role": "student"})  # fmt: skip
    fill(con, p)
    mapping.stage(con, 1, DISTRICT, "1.1", {"enrollments": "delta"})
    rows = con.execute("SELECT section_id, user_id FROM stg_enrollments ORDER BY ALL").fetchall()
    assert rows == [("cls-1", "s-1"), ("cls-1", "t-1"), ("cls-9", "s-2")]


def _enrollment_rows(con) -> list[tuple[object, ...]]:
    return con.execute("SELECT * FROM stg_enrollments ORDER BY ALL").fetchall()


ODD_ENROLLMENTS = {
    "plain": [],
    "spaces": [{"sourcedId": "e-7", "classSourcedId": "cls-1 ", "userSourcedId": "s-2", "role": "student"}],
    "empty": [{"sourcedId": "e-8", "classSourcedId": "cls-1", "userSourcedId": "  ", "role": "student"}],
    "deleted": [{"sourcedId": "e-9", "status": "tobedeleted", "classSourcedId": "cls-1", "userSourcedId": "s-2", "role": "student"}],
    "repeated": [{"sourcedId": "e-6", "classSourcedId": "cls-1", "userSourcedId": "s-1", "role": "student"}],
}  # fmt: skip


@pytest.mark.parametrize("case", list(ODD_ENROLLMENTS))
@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_enrollments_read_in_place_are_the_rows_an_insert_stages(con, monkeypatch, version, case):
    """Plain enrollments are staged as a view over their raw file (written once); any row a
    codec changes or a repeat keeps the INSERT. Either way the staged rows are the same."""
    p = package_11() if version == "1.1" else package_12()
    p["enrollments"] += ODD_ENROLLMENTS[case]
    fill(con, p)
    counts = mapping.stage(con, 1, DISTRICT, version)
    in_place = mapping._is_view(con, mapping.ENROLLMENTS)
    assert in_place == (case in ("plain", "deleted"))
    other = store.connect(":memory:")
    fill(other, p)
    monkeypatch.setattr(mapping, "READ_IN_PLACE", ())
    assert mapping.stage(other, 1, DISTRICT, version) == counts
    assert not mapping._is_view(other, mapping.ENROLLMENTS)
    assert _enrollment_rows(con) == _enrollment_rows(other)
    shape = "SELECT column_name, column_type FROM (DESCRIBE stg_enrollments)"
    assert con.execute(shape).fetchall() == other.execute(shape).fetchall()
    other.close()


def test_staging_again_replaces_the_enrollments_read_in_place(con):
    fill(con, package_11())
    mapping.stage(con, 1, DISTRICT, "1.1")
    assert mapping._is_view(con, mapping.ENROLLMENTS)
    p = package_11()
    p["enrollments"] += ODD_ENROLLMENTS["spaces"]
    fill(con, p)
    assert mapping.stage(con, 1, DISTRICT, "1.1")["enrollments"] == 3
    assert not mapping._is_view(con, mapping.ENROLLMENTS)


def test_a_staging_table_holding_rows_is_never_replaced_by_a_view(con):
    fill(con, package_11())
    con.execute("INSERT INTO stg_enrollments VALUES (9, 'other', 'cls-9', 's-9', 'student')")
    mapping.stage(con, 1, DISTRICT, "1.1")
    assert not mapping._is_view(con, mapping.ENROLLMENTS)
    assert con.execute("SELECT count(*) FROM stg_enrollments").fetchone() == (3,)
