"""High-impact changes and causes (review/impact.py), on small districts that have the case and
that do not."""

from __future__ import annotations

from datetime import date, timedelta

from mgi_roster import parameters
from mgi_roster.parameters import Parameters, ScreeningClassRule
from mgi_roster.review import impact
from mgi_roster.roster import merge
from tests.support import (
    DISTRICT_ID,
    hex_id,
    school,
    section,
    small_district,
    student,
    synced,
)


def sid(n: int) -> str:
    return student(n)["id"]


def notes(con, run_id: int) -> dict[tuple[str, str | None], tuple]:
    """(record_id, field) -> (impact, cause, unusual, student_school, student_grade)."""
    rows = con.execute(
        """SELECT record_id, field, impact, cause, unusual, student_school, student_grade
           FROM changes WHERE run_id = ?""",
        [run_id],
    ).fetchall()
    return {(r[0], r[1]): r[2:] for r in rows}


def term(n: int, start: date, end: date) -> dict:
    return {
        "id": hex_id("7a", n),
        "name": f"Term {n}",
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
    }


def seed_with(con, district, params: Parameters | None = None) -> None:
    parameters.save(con, DISTRICT_ID, params or Parameters())
    merge.approve(con, synced(con, district).run_id)


def two_schools():
    district = small_district(10)
    district.schools.append(school(2))
    return district


def test_a_school_and_a_grade_change_are_high_impact_counted_by_school_and_grade(fresh_db):
    seed_with(fresh_db, two_schools())
    day2 = two_schools()
    moved = day2.find("students", sid(2))["roles"]["student"]
    moved["school"], moved["schools"] = hex_id("5c", 2), [hex_id("5c", 2)]
    day2.find("students", sid(3))["roles"]["student"]["grade"] = "4"
    day2.find("students", sid(5))["name"]["last"] = "Renamed"
    run_id = synced(fresh_db, day2).run_id
    found = notes(fresh_db, run_id)
    assert found[(sid(2), "school")][:2] == ("school", "sis_edit")
    assert found[(sid(2), "school")][3:] == (hex_id("5c", 2), "3")
    assert found[(sid(3), "grade")][:2] == ("grade", "sis_edit")
    assert found[(sid(3), "grade")][3:] == (hex_id("5c", 1), "4")
    assert found[(sid(5), "last_name")][0] is None  # a name fix is not high impact
    counted = {(c.impact, c.school, c.grade): c.students for c in impact.counts(fresh_db, run_id)}
    assert counted == {("school", "School 2", "3"): 1, ("grade", "School 1", "4"): 1}


def test_a_run_without_such_changes_has_no_high_impact(seeded_db):
    day2 = small_district(10)
    day2.find("students", sid(5))["name"]["last"] = "Renamed"
    run_id = synced(seeded_db, day2).run_id
    assert impact.counts(seeded_db, run_id) == []
    assert {n[1] for n in notes(seeded_db, run_id).values()} == {"sis_edit"}


def test_mid_year_is_the_span_of_the_terms_under_way_less_a_month_at_each_end():
    year = (date(2025, 8, 18), date(2026, 6, 5))
    assert impact.mid_year(year, date(2026, 1, 13))
    assert not impact.mid_year(year, date(2025, 8, 25))  # the first month
    assert not impact.mid_year(year, date(2026, 5, 20))  # the last month
    assert not impact.mid_year(None, date(2026, 1, 13))  # no term says


def test_a_grade_change_mid_year_is_unusual_and_not_without_terms(fresh_db):
    today = date.today()
    with_terms = small_district(10)
    with_terms.terms = [term(1, today - timedelta(days=120), today + timedelta(days=120))]
    seed_with(fresh_db, with_terms)
    day2 = small_district(10)
    day2.terms = with_terms.terms
    day2.find("students", sid(3))["roles"]["student"]["grade"] = "4"
    run_id = synced(fresh_db, day2).run_id
    assert notes(fresh_db, run_id)[(sid(3), "grade")][2] == "mid_year_grade"
    assert impact.counts(fresh_db, run_id)[0].unusual == 1


def test_no_term_under_way_flags_nothing(seeded_db):
    day2 = small_district(10)
    day2.find("students", sid(3))["roles"]["student"]["grade"] = "4"
    run_id = synced(seeded_db, day2).run_id
    assert notes(seeded_db, run_id)[(sid(3), "grade")][2] is None


def test_most_of_a_school_up_one_grade_is_the_rollover(seeded_db):
    day2 = small_district(10)
    for n in range(1, 9):  # 8 of 10 move from grade 3 to 4
        day2.find("students", sid(n))["roles"]["student"]["grade"] = "4"
    day2.find("students", sid(9))["roles"]["student"]["grade"] = "5"  # a jump: not the rollover
    run_id = synced(seeded_db, day2).run_id
    found = notes(seeded_db, run_id)
    assert {found[(sid(n), "grade")][1] for n in range(1, 9)} == {"rollover"}
    assert found[(sid(9), "grade")][1] == "sis_edit"


def test_a_few_students_up_one_grade_are_not_a_rollover(seeded_db):
    day2 = small_district(10)
    for n in (1, 2):
        day2.find("students", sid(n))["roles"]["student"]["grade"] = "4"
    run_id = synced(seeded_db, day2).run_id
    assert notes(seeded_db, run_id)[(sid(1), "grade")][1] == "sis_edit"


def test_a_school_appearing_in_the_share_is_a_sharing_change(seeded_db):
    day2 = small_district(10)
    day2.schools.append(school(2))
    day2.students += [student(n, school_n=2) for n in (21, 22)]
    day2.sections.append(section(2, students=[21, 22], school_n=2))
    day2.students.append(student(23))  # a new student of the school already shared
    day2.sections[0]["students"].append(sid(23))
    run_id = synced(seeded_db, day2).run_id
    found = notes(seeded_db, run_id)
    assert found[(hex_id("5c", 2), None)][1] == "sharing"
    assert found[(sid(21), None)][1] == "sharing"
    assert found[(hex_id("5e", 2), None)][1] == "sharing"
    assert found[(f"{hex_id('5e', 2)}:{sid(21)}:student", None)][1] == "sharing"
    assert found[(sid(23), None)][1] == "sis_edit"


def test_a_set_of_sections_shared_with_their_students_is_a_sharing_change(seeded_db):
    day2 = small_district(10)
    for k in range(3):  # three new classes of the same school, each with two new students
        new = [30 + 2 * k, 31 + 2 * k]
        day2.students += [student(n) for n in new]
        day2.sections.append(section(10 + k, students=new))
    run_id = synced(seeded_db, day2).run_id
    found = notes(seeded_db, run_id)
    assert {found[(hex_id("5e", 10 + k), None)][1] for k in range(3)} == {"sharing"}
    assert found[(sid(30), None)][1] == "sharing"
    assert found[(f"{hex_id('5e', 10)}:{sid(30)}:student", None)][1] == "sharing"


def test_one_new_class_of_new_students_is_an_sis_edit(seeded_db):
    day2 = small_district(10)
    day2.students += [student(n) for n in (30, 31)]
    day2.sections.append(section(10, students=[30, 31]))
    run_id = synced(seeded_db, day2).run_id
    found = notes(seeded_db, run_id)
    assert found[(hex_id("5e", 10), None)][1] == "sis_edit"
    assert found[(sid(30), None)][1] == "sis_edit"


def test_sections_following_a_new_term_are_a_term_change(fresh_db):
    today = date.today()
    fall = term(1, today - timedelta(days=200), today - timedelta(days=10))
    spring = term(2, today - timedelta(days=5), today + timedelta(days=150))
    day1 = small_district(10)
    day1.terms = [fall]
    day1.sections[0]["term_id"] = fall["id"]
    seed_with(fresh_db, day1)
    day2 = small_district(10)
    day2.terms = [fall, spring]
    day2.sections = [
        section(2, students=list(range(1, 11)), term_id=spring["id"], name="Math 2 spring")
    ]
    run_id = synced(fresh_db, day2).run_id
    found = notes(fresh_db, run_id)
    assert found[(spring["id"], None)][1] == "term"
    assert found[(hex_id("5e", 2), None)][1] == "term"  # added with the new term
    assert found[(hex_id("5e", 1), None)][1] == "term"  # archived: its term ended
    assert found[(f"{hex_id('5e', 2)}:{sid(1)}:student", None)][1] == "term"


def test_a_move_into_another_screening_class_is_high_impact(fresh_db):
    params = Parameters(
        distribute_by_class=True, screening_class_rule=ScreeningClassRule(subjects=("math",))
    )
    day1 = small_district(10)
    day1.sections.append(section(3, students=[], subject="science"))
    seed_with(fresh_db, day1, params)
    day2 = small_district(10)
    day2.sections[0]["students"].remove(sid(4))
    day2.sections.append(section(2, students=[4]))  # a new math class: a screening class
    day2.sections.append(section(3, students=[5], subject="science"))  # not one
    run_id = synced(fresh_db, day2).run_id
    found = notes(fresh_db, run_id)
    assert found[(f"{hex_id('5e', 1)}:{sid(4)}:student", None)][0] == "screening_class"
    assert found[(f"{hex_id('5e', 2)}:{sid(4)}:student", None)][0] == "screening_class"
    assert found[(f"{hex_id('5e', 3)}:{sid(5)}:student", None)][0] is None
    (only,) = impact.counts(fresh_db, run_id)
    assert (only.impact, only.students, only.grade) == ("screening_class", 1, "3")
