"""District Parameters: the JSON form, its defaults, its errors, and persistence."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mgi_roster import parameters, store
from mgi_roster.errors import ParametersError
from mgi_roster.parameters import Parameters, ScreeningClassRule

EXAMPLE = {
    "testing_measures": ["student_application"],
    "screened_grades": ["K", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
    "screened_schools": [],
    "district_requirements": [],
    "distribute_by_class": False,
    "screening_class_rule": {
        "subjects": [],
        "course_numbers": [],
        "name_contains": "",
        "periods": [],
        "grades": [],
        "terms": [],
    },
    "all_records_processing": True,
    "archive_threshold_pct": 10,
    "update_threshold_pct": 75,
}


def test_missing_keys_take_the_defaults():
    assert Parameters.from_dict({}) == Parameters.from_dict(EXAMPLE) == Parameters()


def test_round_trip_through_json():
    params = Parameters(
        testing_measures=("student_application",),
        screened_grades=("K", "3"),
        screened_schools=("5c0000000000000000000001",),
        district_requirements=({"entity": "students", "field": "dob", "severity": "warning"},),
        distribute_by_class=True,
        screening_class_rule=ScreeningClassRule(
            subjects=("math",),
            course_numbers=("101",),
            name_contains="Screen",
            periods=("1",),
            grades=("3",),
            terms=("Fall",),
        ),
        all_records_processing=False,
        archive_threshold_pct=5,
        update_threshold_pct=50.5,
    )
    assert Parameters.from_json(params.to_json()) == params


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"testing_measure": ["student_application"]}, "'testing_measure'"),
        ({"testing_measures": ["reading_fluency"]}, "'reading_fluency'"),
        ({"screened_grades": ["11"]}, "has no MGI test form"),
        ({"screened_grades": ["Grade 3"]}, "Unknown grade 'Grade 3'"),
        ({"screened_grades": []}, "screened_grades"),
        ({"screening_class_rule": {"grades": ["PreKindergarten"]}}, "screening_class_rule.grades"),
        ({"district_requirements": [{"entity": "students", "field": "shoe_size"}]}, "shoe_size"),
        (
            {
                "district_requirements": [
                    {"entity": "students", "field": "dob", "severity": "fatal"}
                ]
            },
            "error or warning",
        ),
        ({"district_requirements": [{"entity": "students", "field": "dob"}] * 2}, "twice"),
        ({"testing_measures": []}, "testing_measures"),
        ({"testing_measures": "student_application"}, "testing_measures"),
        ({"distribute_by_class": "yes"}, "distribute_by_class"),
        ({"all_records_processing": 1}, "all_records_processing"),
        ({"archive_threshold_pct": 101}, "archive_threshold_pct"),
        ({"update_threshold_pct": -1}, "update_threshold_pct"),
        ({"archive_threshold_pct": "10"}, "archive_threshold_pct"),
        ({"screening_class_rule": {"subject": ["math"]}}, "'subject'"),
        ({"screening_class_rule": {"subjects": ["Math"]}}, "'Math'"),
        ({"distribute_by_class": True}, "screening_class_rule"),
    ],
)
def test_bad_values_are_errors_naming_the_key(data, named):
    with pytest.raises(ParametersError) as err:
        Parameters.from_dict(data)
    assert named in str(err.value)


@pytest.mark.parametrize(
    ("data", "sentence"),
    [
        ([], "District Parameters must be a JSON object, like the example in the README."),
        (
            {"distribute_by_class": "yes"},
            'distribute_by_class must be true or false, not "yes".',
        ),
        (
            {"archive_threshold_pct": 101},
            "archive_threshold_pct must be a number from 0 to 100 (a percentage), not 101.",
        ),
        (
            {"testing_measures": ["student_application", 3]},
            "testing_measures must be a list of strings; item 2 is 3.",
        ),
        (
            {"screening_class_rule": {"name_contains": ["Screen"]}},
            'screening_class_rule.name_contains must be a string, not ["Screen"].',
        ),
        (  # a misspelt key is reported before the bad value it leaves beside it
            {"update_threshold_pct": "high", "archive_treshold_pct": 5},
            "Unknown District Parameter 'archive_treshold_pct'; the known ones are "
            "all_records_processing, archive_threshold_pct, distribute_by_class, "
            "district_requirements, screened_grades, screened_schools, screening_class_rule, "
            "testing_measures, update_threshold_pct.",
        ),
    ],
)
def test_messages_name_the_setting_and_what_it_must_be(data, sentence):
    with pytest.raises(ParametersError) as err:
        Parameters.from_dict(data)
    assert err.value.message == sentence


def test_built_directly_a_bad_value_is_a_parameters_error_too():
    with pytest.raises(ParametersError, match="archive_threshold_pct must be a number"):
        Parameters(archive_threshold_pct=200)
    with pytest.raises(ParametersError, match="Unknown subject 'Maths'"):
        Parameters(screening_class_rule={"subjects": ["Maths"]})


def test_parameters_are_frozen():
    with pytest.raises(ValueError, match="frozen"):
        Parameters().archive_threshold_pct = 50  # type: ignore[misc]


def test_lists_are_trimmed_and_measures_kept_once_in_order():
    params = Parameters.from_dict(
        {
            "testing_measures": [" student_application", "student_application "],
            "screening_class_rule": {"course_numbers": [" 101 ", "", "  "], "name_contains": " S "},
        }
    )
    assert params.testing_measures == ("student_application",)
    assert params.screening_class_rule == ScreeningClassRule(
        course_numbers=("101",), name_contains="S"
    )


def test_not_json_is_a_clear_error():
    with pytest.raises(ParametersError, match="not valid JSON"):
        Parameters.from_json("{testing_measures: }")


def test_the_student_application_needs_a_school_and_a_grade_with_a_form_and_no_login():
    requirements = Parameters().requirements()
    assert {(r.entity, r.field, r.rule) for r in requirements} == {
        ("students", "school", "required_school"),
        ("students", "grade", "required_grade"),
    }
    assert all(r.owner == "MGI" and "help.mhs.com" in r.source for r in requirements)
    assert not {"email", "district_username", "dob"} & {r.field for r in requirements}


def test_distribution_by_class_adds_the_screening_class_rules():
    both = Parameters.from_dict(
        {"distribute_by_class": True, "screening_class_rule": {"subjects": ["math"]}}
    )
    assert both.rules() == {
        "required_school",
        "required_grade",
        "screening_class_coverage",
        "screening_class_several",
        "screening_class_school",
        "screening_class_size",
        "screening_class_grades",
    }


def test_district_requirements_are_labelled_the_districts():
    params = Parameters.from_dict(
        {"district_requirements": [{"entity": "students", "field": "state_id"}]}
    )
    extra = [r for r in params.requirements() if r.rule == "district_requirement"]
    assert [(r.entity, r.field, r.owner, r.severity) for r in extra] == [
        ("students", "state_id", "district requirement", "error")
    ]
    assert "MGI's" in extra[0].description and "not" in extra[0].description


def test_grades_are_taken_in_either_vocabulary_as_forms():
    params = Parameters.from_dict({"screened_grades": ["KG", "03", "Kindergarten", "3", "9"]})
    assert params.screened_grades == ("K", "3", "9")


@pytest.mark.parametrize(
    ("measure", "fields"),
    [
        ("teacher_administered", {("sections", "teacher"), ("teachers", "email")}),
        ("state_reporting", {("students", "state_id"), ("students", "dob")}),
    ],
)
def test_a_file_of_the_earlier_version_loads_its_invented_measures_as_district_requirements(
    measure, fields
):
    old = {"testing_measures": ["student_application", measure], "archive_threshold_pct": 5}
    params = Parameters.from_json(json.dumps(old))
    assert params.testing_measures == ("student_application",)
    assert {(r.entity, r.field) for r in params.district_requirements} == fields
    assert params.archive_threshold_pct == 5
    _, notes = parameters.upgrade(old)
    assert len(notes) == 1 and measure in notes[0] and "district requirements" in notes[0]
    only_old = Parameters.from_dict({"testing_measures": [measure]})
    assert only_old.testing_measures == ("student_application",)


def test_persisted_per_district():
    con = store.connect(":memory:")
    assert parameters.load(con, "a" * 24) is None
    with pytest.raises(ParametersError, match="Define them first"):
        parameters.require(con, "a" * 24)
    parameters.save(con, "a" * 24, Parameters(archive_threshold_pct=3))
    parameters.save(con, "b" * 24, Parameters())
    assert parameters.require(con, "a" * 24).archive_threshold_pct == 3
    assert parameters.require(con, "b" * 24).archive_threshold_pct == 10


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=10,
)


@given(st.dictionaries(st.sampled_from([*EXAMPLE, "other"]), json_values, max_size=6))
def test_any_json_object_is_parameters_or_a_parameters_error(data):
    try:
        params = Parameters.from_dict(data)
    except ParametersError as exc:
        assert exc.message.endswith(".")
    else:
        assert Parameters.from_json(params.to_json()) == params
        assert json.loads(params.to_json()).keys() == EXAMPLE.keys()


def test_parameters_set_says_how_a_file_of_the_earlier_version_was_converted(tmp_path, capsys):
    from mgi_roster.cli import main

    old = tmp_path / "old.json"
    old.write_text(json.dumps({"testing_measures": ["state_reporting"]}))
    db = str(tmp_path / "mgi.duckdb")
    assert main(["--db", db, "parameters", "set", "--district", "d" * 24, "--file", str(old)]) == 0
    out = capsys.readouterr().out
    assert "'state_reporting' is not an MGI measure" in out and "students.state_id" in out
    current = tmp_path / "current.json"
    current.write_text("{}")
    assert (
        main(["--db", db, "parameters", "set", "--district", "d" * 24, "--file", str(current)]) == 0
    )
    assert "not an MGI measure" not in capsys.readouterr().out
