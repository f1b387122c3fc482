"""Test-plan readiness: students grouped by school x grade form (x screening class), the plans
each group needs, and the students who cannot be placed, with the reason."""

from __future__ import annotations

import copy

import pytest

from mgi_roster import store
from mgi_roster.parameters import Parameters, ScreeningClassRule
from mgi_roster.review import readiness
from mgi_roster.review.readiness import Group, Unplaceable
from tests.test_validation import (  # the validation tests' district builder
    S1,
    S2,
    S3,
    S4,
    SCHOOL,
    X1,
    make_district,
    oid,
    one_form_per_class,
    stage,
)


@pytest.fixture
def con():
    con = store.connect(":memory:")
    yield con
    con.close()


def test_students_are_grouped_by_school_and_grade_form(con):
    run_id = stage(con, make_district())
    found = readiness.of_run(con, run_id, Parameters())
    assert found.groups == [
        Group(SCHOOL, "K", None, 1, 1),
        Group(SCHOOL, "1", None, 1, 1),
        Group(SCHOOL, "3", None, 1, 1),
        Group(SCHOOL, "5", None, 1, 1),
    ]
    assert found.unplaceable == [] and found.not_screened == 0


def test_a_group_of_more_than_75_needs_a_plan_per_75(con):
    district = make_district()
    base = district["students"][0]
    district["students"] = []
    for i in range(151):
        s = copy.deepcopy(base)
        s["id"] = oid("58", i + 1)
        district["students"].append(s)
    found = readiness.of_run(con, stage(con, district), Parameters())
    assert found.groups == [Group(SCHOOL, "3", None, 151, 3)]


def test_unplaceable_students_and_the_not_screened(con):
    district = make_district(
        students={
            0: {"roles.student.grade": "11"},  # not screened
            1: {"roles.student.grade": ""},  # no grade
            2: {"roles.student.grade": "Ungraded"},  # a grade without a form
            3: {"roles.student.school": ""},  # no school
        }
    )
    found = readiness.of_run(con, stage(con, district), Parameters())
    assert found.groups == []
    assert found.not_screened == 1
    assert sorted(found.unplaceable, key=lambda u: u.record_id) == [
        Unplaceable(S2, "no grade"),
        Unplaceable(S3, "grade without a form"),
        Unplaceable(S4, "no school"),
    ]


def test_a_school_not_taking_part_is_not_screened(con):
    params = Parameters(screened_schools=(oid("5c", 9),))
    found = readiness.of_run(con, stage(con, make_district()), params)
    assert found.groups == [] and found.not_screened == 4


def test_by_class_a_group_is_a_class_and_a_student_without_one_cannot_be_placed(con):
    params = Parameters(
        distribute_by_class=True, screening_class_rule=ScreeningClassRule(subjects=("math",))
    )
    found = readiness.of_run(con, stage(con, one_form_per_class()), params)
    assert found.groups == [Group(SCHOOL, "3", X1, 2, 1)]
    assert found.unplaceable == [
        Unplaceable(S3, "no screening class"),
        Unplaceable(S4, "no screening class"),
    ]
    assert found.to_dict()["groups"][0] == {
        "school_id": SCHOOL,
        "grade": "3",
        "class_id": X1,
        "students": 2,
        "plans": 1,
    }
    assert S1 not in {u.record_id for u in found.unplaceable}


def test_the_readiness_command_for_a_staged_run_and_for_the_roster(tmp_path, capsys):
    import json

    from mgi_roster import demo
    from mgi_roster.cli import main

    db, district = str(tmp_path / "mgi.duckdb"), demo.DEMO_DISTRICT_ID
    params = tmp_path / "params.json"
    params.write_text("{}")
    assert (
        main(["--db", db, "parameters", "set", "--district", district, "--file", str(params)]) == 0
    )
    capsys.readouterr()
    assert main(["--db", db, "sync", "--district", district, "--json"]) == 0
    synced = json.loads(capsys.readouterr().out)
    assert synced["issues"]["error"] == 0  # default parameters: no login, email or username errors
    run_id = synced["run_id"]
    assert (
        main(["--db", db, "readiness", "--district", district, "--run", str(run_id), "--json"]) == 0
    )
    staged = json.loads(capsys.readouterr().out)
    assert staged["groups"] and {"school_id", "grade", "class_id", "students", "plans"} == set(
        staged["groups"][0]
    )
    assert all(g["class_id"] is None and g["grade"] in "K123456789" for g in staged["groups"])
    assert all(set(u) == {"record_id", "reason"} for u in staged["unplaceable"])
    assert main(["--db", db, "approve", "--run", str(run_id), "--json"]) == 0
    capsys.readouterr()
    assert main(["--db", db, "readiness", "--district", district, "--json"]) == 0
    roster = json.loads(capsys.readouterr().out)
    assert roster["groups"] == staged["groups"] and roster["not_screened"] == staged["not_screened"]


# --- the screening class rule's preview -------------------------------------------------------


def _rule(**fields) -> Parameters:
    return Parameters(screening_class_rule=ScreeningClassRule(**fields))


def test_the_preview_counts_matched_sections_and_the_students_they_cover(con):
    run_id = stage(con, make_district())
    seen = readiness.preview_of_run(con, run_id, _rule(subjects=("math",)))
    assert (seen.sections, seen.matched) == (2, 1)
    assert seen.sample == [
        readiness.SampleSection(X1, "Math 3 - O'Connor - 1", SCHOOL, "3", 2),
    ]
    assert (seen.screened, seen.covered, seen.not_covered) == (4, 2, 2)
    assert seen.message is None
    assert seen.to_dict()["sample"][0]["students"] == 2


def test_a_rule_that_matches_nothing_says_so(con):
    run_id = stage(con, make_district())
    seen = readiness.preview_of_run(con, run_id, _rule(name_contains="Chemistry"))
    assert (seen.matched, seen.covered, seen.sample) == (0, 0, [])
    assert "matches none of the 2 sections" in (seen.message or "")


def test_an_empty_rule_matches_nothing_and_says_what_to_name(con):
    seen = readiness.preview_of_run(con, stage(con, make_district()), Parameters())
    assert seen.matched == 0
    assert "names no subject, course number, name or class type" in (seen.message or "")


def test_a_rule_that_matches_every_section_says_so(con):
    run_id = stage(con, make_district())
    seen = readiness.preview_of_run(con, run_id, _rule(subjects=("math", "english/language arts")))
    assert (seen.matched, seen.covered, seen.not_covered) == (2, 4, 0)
    assert "matches every one of the 2 sections" in (seen.message or "")


def test_the_preview_narrows_by_period_grade_and_term(con):
    run_id = stage(con, make_district())
    both = ("math", "english/language arts")
    assert readiness.preview_of_run(con, run_id, _rule(subjects=both, periods=("2",))).matched == 0
    assert readiness.preview_of_run(con, run_id, _rule(subjects=both, grades=("3",))).matched == 2
    assert (
        readiness.preview_of_run(con, run_id, _rule(subjects=both, terms=("2024–25",))).matched == 2
    )
    assert readiness.preview_of_run(con, run_id, _rule(subjects=both, terms=("2019",))).matched == 0


def test_a_section_of_a_past_term_is_not_matched(con):
    district = make_district(terms={0: {"start_date": "2019-08-15", "end_date": "2020-06-13"}})
    seen = readiness.preview_of_run(con, stage(con, district), _rule(subjects=("math",)))
    assert seen.matched == 0 and seen.covered == 0


def test_a_student_in_a_matched_class_of_another_school_is_not_covered(con):
    district = make_district(students={0: {"roles.student.school": oid("5c", 9)}})
    seen = readiness.preview_of_run(con, stage(con, district), _rule(subjects=("math",)))
    assert seen.matched == 1 and seen.covered == 1  # S2 only: S1 is of another school


def test_the_preview_command_for_a_file_and_for_the_saved_parameters(tmp_path, capsys):
    import json

    from mgi_roster import demo
    from mgi_roster.cli import main

    db, district = str(tmp_path / "mgi.duckdb"), demo.DEMO_DISTRICT_ID
    params = tmp_path / "params.json"
    params.write_text("{}")
    assert (
        main(["--db", db, "parameters", "set", "--district", district, "--file", str(params)]) == 0
    )
    assert main(["--db", db, "sync", "--district", district, "--json"]) == 0
    capsys.readouterr()
    assert main(["--db", db, "parameters", "preview", "--district", district, "--json"]) == 0
    saved = json.loads(capsys.readouterr().out)
    assert saved["matched"] == 0 and "names no subject" in saved["message"]
    assert saved["run_id"] is not None and saved["sections"] > 0
    rule = tmp_path / "rule.json"
    rule.write_text(json.dumps({"screening_class_rule": {"name_contains": "a"}}))
    assert (
        main(["--db", db, "parameters", "preview", "--district", district, "--file", str(rule)])
        == 0
    )
    out = capsys.readouterr().out
    assert "section" in out and "screened student" in out


def test_the_views_name_schools_and_list_the_sample_the_plans_and_the_unplaceable(con):
    from mgi_roster import views

    district = make_district(students={1: {"roles.student.grade": ""}})
    run_id = stage(con, district)
    schools = readiness.schools(con, "ignored", run_id)
    assert schools == {SCHOOL: "Escuela Primaria Peña"}
    seen = readiness.preview_of_run(con, run_id, _rule(subjects=("math",)))
    sample = views.preview_table(seen, schools)
    assert sample.to_dict("records") == [
        {
            "section": "Math 3 - O'Connor - 1",
            "school": "Escuela Primaria Peña",
            "grade": "3",
            "students": 2,
            "section_id": X1,
        }
    ]
    found = readiness.of_run(con, run_id, Parameters())
    plans = views.plans_table(found, schools)
    assert set(plans["school"]) == {"Escuela Primaria Peña"} and plans["plans"].sum() == 3
    assert views.unplaceable_table(found).to_dict("records") == [
        {"record_id": S2, "reason": "no grade"}
    ]


def test_the_notes_of_stored_parameters_of_the_earlier_version(con):
    from mgi_roster import views

    assert views.parameters_notes(con, "d" * 24) == []
    con.execute(
        "INSERT INTO parameters (district_id, body, saved_at) VALUES (?, ?, now())",
        ["d" * 24, '{"testing_measures": ["teacher_administered"]}'],
    )
    [note] = views.parameters_notes(con, "d" * 24)
    assert "'teacher_administered' is not an MGI measure" in note


def test_the_unplaceable_are_named_and_the_plans_summed_per_school_and_form(con):
    from mgi_roster import views

    district = make_district(students={1: {"roles.student.grade": "Ungraded"}})
    run_id = stage(con, district)
    found = readiness.of_run(con, run_id, Parameters())
    people = readiness.students(con, "ignored", run_id, [u.record_id for u in found.unplaceable])
    schools = readiness.schools(con, "ignored", run_id)
    [row] = views.unplaceable_table(found, people, schools).to_dict("records")
    assert row == {
        "record_id": S2,
        "reason": "grade without a form",
        "first_name": "José",
        "last_name": "O'Connor",
        "school": "Escuela Primaria Peña",
        "grade": "Ungraded",
    }
    summed = views.plans_by_school_grade(views.plans_table(found, schools))
    assert summed["grade"].tolist() == ["1", "3", "5"] and summed["students"].sum() == 3
