"""Validation: each check on a small district that trips it and one that does not, garbage that
must never raise, the requirements following the District Parameters, and the real recorded
Clever district.

Districts are Clever-shaped JSON pages staged by the real `staging.stage_page`, so the checks
see exactly what a sync would give them.
"""

from __future__ import annotations

import copy
import json
from datetime import date
from typing import Any

import duckdb
import pytest

from mgi_roster import store, views
from mgi_roster.entities import BY_NAME, ENTITIES
from mgi_roster.parameters import Parameters, ScreeningClassRule
from mgi_roster.review import validation
from mgi_roster.review.validation import CHECKS, messages, schemas, validate
from mgi_roster.roster import exports
from mgi_roster.staging import pages as staging
from tests import recorded
from tests.support import sampled

DISTRICT_ID = "5d000000000000000000000d"
DELETE = object()  # an override that removes the key


def oid(prefix: str, n: int) -> str:
    return f"{prefix}{n:0{24 - len(prefix)}x}"


SCHOOL = oid("5c", 1)
T1, T2 = oid("7e", 1), oid("7e", 2)
S1, S2, S3, S4 = (oid("57", n) for n in range(1, 5))
X1, X2 = oid("5e", 1), oid("5e", 2)
TERM = oid("7a", 1)
THIS_YEAR = date.today().year
C1, C2 = oid("c0", 1), oid("c0", 2)


def _student(sid: str, first: str, last: str, sis: str, grade: str, dob: str) -> dict[str, Any]:
    return {
        "id": sid,
        "district": DISTRICT_ID,
        "email": f"{sis}@schule.example.org",
        "name": {"first": first, "middle": "", "last": last},
        "created": "2024-08-01T00:00:00.000Z",
        "roles": {
            "student": {
                "sis_id": sis,
                "student_number": sis,
                "state_id": f"ST{sis}",
                "school": SCHOOL,
                "schools": [SCHOOL],
                "grade": grade,
                "dob": dob,
                "gender": "F",
                "race": "Two or More Races",
                "hispanic_ethnicity": "Y",
                "ell_status": "N",
                "graduation_year": "2031",
                "credentials": {"district_username": f"u{sis}"},
                "enrollments": [],
                "ext": {"gifted_status": ""},
            }
        },
    }


def _teacher(tid: str, first: str, last: str, sis: str) -> dict[str, Any]:
    return {
        "id": tid,
        "district": DISTRICT_ID,
        "email": f"{sis.lower()}@schule.example.org",
        "name": {"first": first, "last": last},
        "roles": {
            "teacher": {
                "sis_id": sis,
                "teacher_number": sis,
                "title": "Maestra",
                "school": SCHOOL,
                "schools": [SCHOOL],
                "credentials": {"district_username": sis.lower()},
            }
        },
    }


def _section(
    xid: str, name: str, sis: str, teacher: str, students: list[str], **fields: Any
) -> dict[str, Any]:
    return {
        "id": xid,
        "district": DISTRICT_ID,
        "name": name,
        "sis_id": sis,
        "school": SCHOOL,
        "teacher": teacher,
        "teachers": [teacher],
        "students": students,
        "term_id": TERM,
        "grade": "3",
        "period": "1",
        "section_number": "",
        "ext": {"classroom": "A1"},
        **fields,
    }


def make_district(**overrides: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """A clean district with names from many scripts (no issue at all under any parameters that
    cover both sections), as records per entity.

    Overrides are per entity: {"students": {0: {"roles.student.grade": "Grade 3"}}} patches the
    first student (dotted paths; DELETE removes a key), and a list replaces the records."""
    district = {
        "schools": [
            {
                "id": SCHOOL,
                "district": DISTRICT_ID,
                "name": "Escuela Primaria Peña",
                "sis_id": "S-01",
                "school_number": "01",
                "low_grade": "Kindergarten",
                "high_grade": "5",
                "location": {"address": "1 Calle Mayor", "city": "Añasco", "zip": "00610"},
                "principal": {"name": "Siobhán O'Connor", "email": "soconnor@schule.example.org"},
                "ext": {"charter_school": "N"},
            }
        ],
        "teachers": [
            _teacher(T1, "Siobhán", "O'Connor", "T-1"),
            _teacher(T2, "陳", "大文", "T-2"),
        ],
        "students": [
            _student(S1, "Zoë", "García-López", "100234", "3", "2/11/2015"),
            _student(S2, "José", "O'Connor", "100235", "Kindergarten", "02/03/2019"),
            _student(S3, "Мария", "Иванова", "100236", "5", "12/31/2013"),
            _student(S4, "محمد", "علي", "100237", "1", "7/4/2017"),
        ],
        "sections": [
            _section(X1, "Math 3 - O'Connor - 1", "SEC-1", T1, [S1, S2], subject="math", course=C1),
            _section(
                X2,
                "Lectura 5 - 陳 - 2",
                "SEC-2",
                T2,
                [S3, S4],
                subject="english/language arts",
                course=C2,
            ),
        ],
        "terms": [
            {
                "id": TERM,
                "district": DISTRICT_ID,
                "name": "2024–25",
                "start_date": f"{THIS_YEAR - 1}-08-15",  # a current term, whenever tests run
                "end_date": f"{THIS_YEAR + 1}-06-13",
            }
        ],
        "courses": [
            {"id": C1, "district": DISTRICT_ID, "name": "Math 3", "number": "M3"},
            {"id": C2, "district": DISTRICT_ID, "name": "Lectura 5", "number": "L5"},
        ],
    }
    for entity, override in overrides.items():
        if isinstance(override, list):
            district[entity] = override
            continue
        for index, changes in override.items():
            for path, value in changes.items():
                patch(district[entity][index], path, value)
    return district


def patch(record: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        record = record.setdefault(part, {})
    if value is DELETE:
        record.pop(last, None)
    else:
        record[last] = value


def page(records: list[Any], endpoint: str) -> str:
    items = [
        {"data": r, "uri": f"/v3.0/{endpoint}/{r.get('id') if isinstance(r, dict) else ''}"}
        for r in records
    ]
    return json.dumps({"data": items, "links": [{"rel": "self", "uri": f"/v3.0/{endpoint}"}]})


ENDPOINTS = {
    "schools": "schools",
    "teachers": "users",
    "students": "users",
    "sections": "sections",
    "terms": "terms",
    "courses": "courses",
}


@pytest.fixture
def con():
    con = store.connect(":memory:")
    yield con
    con.close()


def new_run(con, district_id: str = DISTRICT_ID) -> int:
    row = con.execute(
        "INSERT INTO runs (district_id, status) VALUES (?, 'staged') RETURNING run_id",
        [district_id],
    ).fetchone()
    return int(row[0])


def stage(con, district: dict[str, list[Any]], district_id: str = DISTRICT_ID) -> int:
    run_id = new_run(con, district_id)
    for entity, records in district.items():
        staging.stage_page(
            con, BY_NAME[entity], run_id, district_id, page(records, ENDPOINTS[entity])
        )
    return run_id


def issues(con, run_id: int) -> list[dict[str, Any]]:
    """The run's issue rows, each with its sentence rendered (rows store facts, not sentences)."""
    cursor = con.execute("SELECT * FROM issues WHERE run_id = ? ORDER BY rowid", [run_id])
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        assert row["message"] is None and row["params"] is not None, row
        row["message"] = messages.render(messages.Finding.of(row))
    return rows


KNOWN = {(c.name, c.entity) for c in CHECKS}


def check(con, district, params: Parameters | None = None) -> list[dict[str, Any]]:
    """Stage and validate a district; every issue must keep the contract's invariants."""
    run_id = stage(con, district)
    found = validate(con, run_id, DISTRICT_ID, params or Parameters())
    rows = issues(con, run_id)
    assert found == {
        "error": sum(r["severity"] == "error" for r in rows),
        "warning": sum(r["severity"] == "warning" for r in rows),
    }
    for row in rows:
        assert (row["check"], row["entity"]) in KNOWN, row
        assert row["run_id"] == run_id and row["district_id"] == DISTRICT_ID
        assert row["message"].endswith(".") and "None" not in row["message"], row["message"]
        assert len(row["message"]) < 700, row["message"]
        assert not any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in row["message"])
        assert row["value"] is None or len(row["value"]) <= validation.VALUE_CHARS + 1
    return rows


def only(rows: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [r for r in rows if r["check"] == name]


def one(rows: list[dict[str, Any]], name: str) -> dict[str, Any]:
    found = only(rows, name)
    assert len(found) == 1, rows
    return found[0]


def assert_issue(row, *, severity: str, entity: str, record_id: str | None, field: str) -> None:
    assert (row["severity"], row["entity"], row["record_id"], row["field"]) == (
        severity,
        entity,
        record_id,
        field,
    ), row


BY_CLASS = ScreeningClassRule(subjects=("math", "english/language arts"))
ALL_RULES = Parameters(
    district_requirements=tuple(
        {"entity": e, "field": f}
        for e, f in [
            ("students", "state_id"),
            ("students", "dob"),
            ("teachers", "email"),
            ("sections", "teacher"),
        ]
    ),
    distribute_by_class=True,
    screening_class_rule=BY_CLASS,
)


def by_class(rule: ScreeningClassRule = BY_CLASS, **more: Any) -> Parameters:
    return Parameters(distribute_by_class=True, screening_class_rule=rule, **more)


def requiring(entity: str, field: str, severity: str = "error") -> Parameters:
    return Parameters(
        district_requirements=({"entity": entity, "field": field, "severity": severity},)
    )


def one_form_per_class(**overrides: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """make_district with each section's students in one grade form (3 and 5)."""
    students = {1: {"roles.student.grade": "3"}, 3: {"roles.student.grade": "5"}}
    students.update(overrides.pop("students", {}))
    return make_district(students=students, **overrides)


# --- clean data ------------------------------------------------------------------------------


@pytest.mark.parametrize("params", [Parameters(), ALL_RULES], ids=["default", "all-rules"])
def test_a_clean_district_in_many_scripts_raises_no_issue(con, params):
    assert check(con, one_form_per_class(), params) == []


def test_the_check_table_covers_every_rule_and_the_models_match_the_entities():
    rules = {r.rule for r in ALL_RULES.requirements()}
    assert rules <= set(validation.CHECK_NAMES)
    assert all(c.severity in ("error", "warning") and c.description for c in CHECKS)
    assert len({(c.name, c.entity) for c in CHECKS}) == len(CHECKS)
    for name, schema in schemas.SCHEMAS.items():
        entity = BY_NAME[name]
        assert set(schema.columns) == {c.name for c in entity.columns if c.kind != "list"}
        assert schema.strict
        # every pandera check reports under a name of the check table
        for column in schema.columns.values():
            for pandera_check in column.checks:
                name_ = schemas.PANDERA_NAMES.get(pandera_check.name, pandera_check.name)
                assert (name_, name) in KNOWN, (name, column.name, pandera_check.name)


# --- field checks (pandera) ------------------------------------------------------------------

FIELD_TRIPS = [
    # (entity, index, changes, check, severity, field, words the message must contain)
    ("students", 0, {"name.last": DELETE}, "required", "error", "last_name", ["Zoë", "100234", "last name is missing"]),
    ("students", 0, {"name.first": ""}, "required", "error", "first_name", ["100234", "first name"]),
    ("students", 1, {"roles.student.sis_id": None}, "required", "error", "sis_id", ["José O'Connor", "SIS id is missing"]),
    # a student's missing school: the MGI's requirement of a screened student (required_school)
    ("teachers", 0, {"roles.teacher.sis_id": DELETE}, "required", "warning", "sis_id", ["Siobhán O'Connor", T1]),
    ("teachers", 1, {"name.last": ""}, "required", "error", "last_name", ["陳", "T-2"]),
    ("schools", 0, {"sis_id": ""}, "required", "warning", "sis_id", ["Escuela Primaria Peña"]),
    ("schools", 0, {"name": DELETE}, "required", "error", "name", ["S-01", "name is missing"]),
    ("sections", 0, {"name": ""}, "required", "error", "name", ["SEC-1"]),
    ("sections", 1, {"school": DELETE}, "required", "error", "school", ["Lectura 5 - 陳 - 2", "SEC-2"]),
    ("students", 0, {"roles.student.grade": "Grade 3"}, "enum", "error", "grade", ['Student Zoë García-López (SIS id 100234): grade "Grade 3" is not one of Clever\'s grades. Fix the grade in the SIS (', "Kindergarten"]),
    ("students", 0, {"roles.student.grade": "kindergarten"}, "enum", "error", "grade", ['"kindergarten"']),
    ("students", 0, {"roles.student.grade": "0"}, "enum", "error", "grade", ['"0"']),
    ("students", 0, {"roles.student.gender": "Female"}, "enum", "error", "gender", ["M, F or X"]),
    ("students", 0, {"roles.student.race": "White"}, "enum", "error", "race", ["Caucasian"]),
    ("students", 0, {"roles.student.hispanic_ethnicity": "yes"}, "enum", "error", "hispanic_ethnicity", ["Y or N"]),
    ("students", 0, {"roles.student.ell_status": "y"}, "enum", "error", "ell_status", ["ELL status"]),
    ("sections", 0, {"subject": "Math"}, "enum", "error", "subject", ["english/language arts", "SEC-1"]),
    ("sections", 0, {"grade": "K"}, "enum", "error", "grade", ['"K"']),
    ("schools", 0, {"low_grade": "K"}, "enum", "error", "low_grade", ["low grade"]),
    ("schools", 0, {"high_grade": "Grade 5"}, "enum", "error", "high_grade", ["high grade"]),
    ("students", 0, {"roles.student.dob": "2011-02-11"}, "dob_format", "error", "dob", ["M/D/YYYY", "100234"]),
    ("students", 0, {"roles.student.dob": "2/11/07"}, "dob_format", "error", "dob", ['"2/11/07"']),
    ("students", 0, {"roles.student.dob": "٢/١١/٢٠٠٧"}, "dob_format", "error", "dob", ["M/D/YYYY"]),
    ("students", 0, {"roles.student.dob": "2/30/2014"}, "dob_date", "error", "dob", ['"2/30/2014" is not a real calendar date']),
    ("students", 0, {"roles.student.dob": "13/1/2014"}, "dob_date", "error", "dob", ["real calendar date"]),
    ("students", 0, {"roles.student.dob": "2/29/2015"}, "dob_date", "error", "dob", ["real calendar date"]),
    ("students", 0, {"roles.student.dob": "0/10/2014"}, "dob_date", "error", "dob", ["real calendar date"]),
    ("students", 0, {"roles.student.dob": "1/1/2999"}, "dob_plausible", "warning", "dob", ["in the future"]),
    ("students", 0, {"roles.student.dob": "1/1/1890"}, "dob_plausible", "warning", "dob", ["100 years ago"]),
    ("students", 0, {"email": "zoe.example.org"}, "email_format", "warning", "email", ['"@"', "Zoë"]),
    ("students", 0, {"email": "zoe@@example.org"}, "email_format", "warning", "email", ["email"]),
    ("teachers", 0, {"email": "@example.org"}, "email_format", "warning", "email", ["O'Connor"]),
    ("schools", 0, {"principal.email": "soconnor@"}, "email_format", "warning", "principal_email", ["principal email"]),
    ("students", 0, {"roles.student.graduation_year": "31"}, "graduation_year", "warning", "graduation_year", ['"31"']),
    ("terms", 0, {"start_date": "08/15/2024"}, "term_dates", "warning", "start_date", ["YYYY-MM-DD", "2024–25"]),
    ("terms", 0, {"end_date": "2025-02-30"}, "term_dates", "warning", "end_date", ['"2025-02-30"']),
    ("students", 0, {"name.first": "Z" * 300}, "long_value", "warning", "first_name", ["300 characters", "255"]),
    ("courses", 0, {"name": "Ä" * 256}, "long_value", "warning", "name", ["256 characters"]),
    ("students", 0, {"name.last": "García\tLópez"}, "control_characters", "warning", "last_name", ["García\ufffdLópez", "control characters"]),
    ("teachers", 1, {"roles.teacher.credentials.district_username": "t-2\u0007"}, "control_characters", "warning", "district_username", ["district username"]),
    ("sections", 0, {"name": "Math\n3"}, "control_characters", "warning", "name", ["Math\ufffd3"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("entity", "index", "changes", "name", "severity", "field", "words"),
    sampled(FIELD_TRIPS, key=lambda t: t[3]),  # each check once in the gate
    ids=[f"{t[3]}-{t[0]}-{t[5]}-{i}" for i, t in enumerate(FIELD_TRIPS)],
)
def test_field_check_trips(con, entity, index, changes, name, severity, field, words):
    district = make_district(**{entity: {index: changes}})
    record_id = district[entity][index]["id"]
    rows = check(con, district)
    row = next(r for r in rows if r["field"] == field and r["record_id"] == record_id)
    assert row["check"] == name
    assert_issue(row, severity=severity, entity=entity, record_id=record_id, field=field)
    for word in words:
        assert word in row["message"], row["message"]
    assert "in the SIS" in row["message"]
    if name == "required":
        assert row["value"] is None
    # the issue carries the record's name, SIS id and school for the Validation page's filters
    if field != "school":
        assert row["school"] == (None if entity in ("terms", "courses") else SCHOOL)


FIELD_NEAR_MISSES = [
    ("students", 0, {"name.middle": DELETE}),  # optional
    ("teachers", 0, {"email": DELETE}),  # optional without Teacher Administered
    ("students", 0, {"roles.student.gender": ""}),  # NULL is missing, not wrong
    ("students", 0, {"roles.student.race": DELETE, "roles.student.ell_status": None}),
    ("students", 0, {"roles.student.gender": "X", "roles.student.race": "Hawaiian or Other Pacific Islander"}),
    ("students", 0, {"roles.student.grade": "Ungraded"}),
    ("students", 0, {"roles.student.dob": "02/11/2015"}),  # zero-padded is fine
    ("students", 0, {"roles.student.dob": "2/29/2016"}),  # a leap day
    ("students", 0, {"roles.student.dob": ""}),
    ("students", 0, {"roles.student.graduation_year": ""}),
    ("students", 0, {"email": "zoë.garcía@schüle.example.org"}),
    ("sections", 0, {"subject": "", "grade": "Other"}),
    ("sections", 1, {"subject": "interventions/online learning"}),
    ("schools", 0, {"low_grade": "InfantToddler", "high_grade": "PostGraduate"}),
    ("terms", 0, {"start_date": "2024-08-15T00:00:00.000Z", "end_date": "2025-06-13T00:00:00.000Z"}),
    ("terms", 0, {"start_date": DELETE, "name": ""}),
    ("students", 0, {"name.first": "Z" * 255}),
    ("students", 0, {"name.first": "Zoë 🦊", "name.last": "Nguyễn-Đặng"}),
]  # fmt: skip


@pytest.mark.parametrize(("entity", "index", "changes"), sampled(FIELD_NEAR_MISSES, keep=4))
def test_field_check_near_misses_are_clean(con, entity, index, changes):
    assert check(con, make_district(**{entity: {index: changes}})) == []


def test_one_bad_cell_failing_two_checks_is_one_issue(con):
    long_grade = "Grade " + "3" * 300  # not a grade, and too long
    tabbed_name = "Zo\x01ë" * 100  # control characters, and too long
    rows = check(
        con,
        make_district(students={0: {"roles.student.grade": long_grade, "name.first": tabbed_name}}),
    )
    assert sorted((r["field"], r["check"]) for r in rows) == [
        ("first_name", "control_characters"),
        ("grade", "enum"),
    ]
    grade = next(r for r in rows if r["field"] == "grade")
    assert grade["value"] == long_grade[:200] + "…"
    assert "…" in grade["message"] and long_grade not in grade["message"]


def test_issue_rows_carry_name_sis_id_and_school(con):
    rows = check(con, make_district(students={2: {"roles.student.grade": "Grade 5"}}))
    row = one(rows, "enum")
    assert row["record_id"] == S3
    assert row["record_name"] == "Мария Иванова"
    assert row["sis_id"] == "100236"
    assert row["school"] == SCHOOL
    assert row["value"] == "Grade 5"
    assert row["message"].startswith("Student Мария Иванова (SIS id 100236): grade")


def test_a_record_without_name_or_sis_id_is_named_by_its_clever_id(con):
    rows = check(
        con,
        make_district(students={0: {"name": DELETE, "roles.student.sis_id": DELETE}}),
    )
    assert {r["field"] for r in only(rows, "required")} == {"first_name", "last_name", "sis_id"}
    assert all(r["message"].startswith(f"Student with Clever id {S1}:") for r in rows)


def test_a_missing_clever_id_is_reported_without_a_record_id(con):
    rows = check(con, make_district(courses={1: {"id": ""}}))
    row = next(r for r in rows if r["check"] == "required")
    assert_issue(row, severity="error", entity="courses", record_id=None, field="id")
    assert "Course Lectura 5" in row["message"]


# --- garbage never raises ----------------------------------------------------------------------

GARBAGE: list[Any] = [
    {"nested": {"object": [1, 2, 3]}},
    [1, "two", None],
    20070211,
    3.5e300,
    True,
    "x" * 10_000,
    "\u0000\u0001\u001b[31m red \u007f\u0085",
    "🦊🏳️‍🌈👩‍👩‍👧" * 50,
    "\u202eevil\u202c \u200b\ufeff",
    "e\u0301\u0301\u0301",
    "' OR 1=1; DROP TABLE issues; --",
    '"; "\\',
    "\ud7ff\ue000\U0010fffd",
]


@pytest.mark.parametrize(
    "garbage",
    sampled(GARBAGE, key=lambda g: type(g).__name__),
    ids=[f"garbage-{i}" for i in range(len(GARBAGE))],
)
def test_garbage_values_become_issues_never_exceptions(con, garbage):
    paths = {
        "students": ["id", "email", "name.first", "name.last", "roles.student.sis_id",
                     "roles.student.grade", "roles.student.dob", "roles.student.gender",
                     "roles.student.school", "roles.student.schools", "roles.student.graduation_year",
                     "roles.student.credentials.district_username", "name"],
        "teachers": ["name.first", "email", "roles.teacher.school", "roles.teacher.sis_id"],
        "schools": ["name", "low_grade", "high_grade", "principal"],
        "sections": ["name", "subject", "grade", "teacher", "teachers", "students", "term_id", "course"],
        "terms": ["start_date", "end_date", "name"],
        "courses": ["number", "name"],
    }  # fmt: skip
    overrides = {entity: {0: dict.fromkeys(fields, garbage)} for entity, fields in paths.items()}
    district = make_district(**overrides)
    rows = check(con, district, ALL_RULES)
    assert rows  # every garbage value is something to report


def test_garbage_records_and_pages_never_raise(con):
    district = make_district()
    district["sections"] += ["not a record", 42, None, {"data": {}}, {}]
    district["schools"] += [[], {"id": {"$oid": "x"}, "name": {"en": "School"}}]
    district["terms"] += [
        {"id": oid("7a", 9), "start_date": "2025-06-13", "end_date": "2024-08-15"}
    ]
    rows = check(con, district, ALL_RULES)
    assert only(rows, "required")
    bad_term = next(r for r in only(rows, "term_dates") if r["record_id"] == oid("7a", 9))
    assert "starts on 2025-06-13, after it ends (2024-08-15)" in bad_term["message"]


def test_huge_values_are_truncated_in_value_and_message(con):
    huge = "Ω" * 10_000
    rows = check(
        con, make_district(students={0: {"roles.student.grade": huge, "name.first": huge}})
    )
    assert {r["check"] for r in rows} == {"enum", "long_value"}
    for row in rows:
        assert len(row["value"]) == 201 and row["value"].endswith("…")
        assert huge[:100] not in row["message"]
    assert "10000 characters" in one(rows, "long_value")["message"]


# --- cross-table checks (SQL) ------------------------------------------------------------------


def test_unique_id_reports_every_copy(con):
    district = make_district()
    district["students"].append(copy.deepcopy(district["students"][0]))
    rows = check(con, district)
    found = only(rows, "unique_id")
    assert len(found) == 2
    for row in found:
        assert_issue(row, severity="error", entity="students", record_id=S1, field="id")
        assert "Zoë García-López" in row["message"] and "2 times" in row["message"]
    assert not only(rows, "duplicate_sis_id")  # the same record twice, not two records


def test_unique_id_is_per_entity(con):
    # a teacher and a student may not share a Clever id in practice, but that is not unique_id
    district = make_district(courses={1: {"id": TERM}})
    district["sections"][1]["course"] = TERM
    assert not only(check(con, district), "unique_id")


@pytest.mark.parametrize("entity", ["students", "teachers"])
def test_duplicate_sis_id_names_the_other_record(con, entity):
    role = entity[:-1]
    district = make_district(
        **{entity: {1: {f"roles.{role}.sis_id": "DUP-1"}, 0: {f"roles.{role}.sis_id": "DUP-1"}}}
    )
    rows = only(check(con, district), "duplicate_sis_id")
    first, second = district[entity][0], district[entity][1]
    assert {r["record_id"] for r in rows} == {first["id"], second["id"]}
    for row in rows:
        assert_issue(
            row, severity="error", entity=entity, record_id=row["record_id"], field="sis_id"
        )
        other = second if row["record_id"] == first["id"] else first
        assert f"(Clever id {other['id']})" in row["message"]
        assert other["name"]["last"] in row["message"]
        assert "fix the duplicate in the SIS" in row["message"]


def test_duplicate_sis_id_lists_at_most_five_others(con):
    students = [
        _student(oid("57", n), f"Kid{n}", "Same", "SAME", "3", "1/1/2015") for n in range(1, 10)
    ]
    district = make_district(students=students)
    district["sections"][0]["students"] = [s["id"] for s in students]
    district["sections"][1]["students"] = [s["id"] for s in students]
    rows = only(check(con, district), "duplicate_sis_id")
    assert len(rows) == 9
    assert all("and 3 more" in r["message"] for r in rows)


def test_a_student_and_a_teacher_may_share_an_sis_id(con):
    district = make_district(teachers={0: {"roles.teacher.sis_id": "100234"}})
    assert check(con, district) == []


@pytest.mark.parametrize(
    ("entity", "index", "path", "severity", "words"),
    [
        ("students", 0, "roles.student.school", "error", "primary school"),
        ("sections", 1, "school", "error", "the section's school"),
        ("teachers", 0, "roles.teacher.school", "warning", "primary school"),
    ],
)
def test_unknown_school(con, entity, index, path, severity, words):
    ghost = oid("5c", 99)
    district = make_district(**{entity: {index: {path: ghost}}})
    row = one(check(con, district), "unknown_school")
    record_id = district[entity][index]["id"]
    assert_issue(row, severity=severity, entity=entity, record_id=record_id, field="school")
    assert row["value"] == ghost and words in row["message"] and ghost in row["message"]


def test_unknown_teacher_is_one_row_per_section_and_teacher(con):
    ghost = oid("7e", 99)
    district = make_district(sections={0: {"teacher": ghost, "teachers": [ghost, T2]}})
    row = one(check(con, district), "unknown_teacher")
    assert_issue(row, severity="warning", entity="sections", record_id=X1, field="teacher")
    assert "Math 3 - O'Connor - 1" in row["message"] and ghost in row["message"]


def test_unknown_co_teacher(con):
    ghost = oid("7e", 99)
    district = make_district(sections={0: {"teachers": [T1, ghost]}})
    row = one(check(con, district), "unknown_teacher")
    assert_issue(row, severity="warning", entity="sections", record_id=X1, field="teachers")


def test_unshared_student_is_a_sharing_warning_per_section_and_student(con):
    ghosts = [oid("57", 98), oid("57", 99)]
    district = make_district(
        sections={0: {"students": [S1, S2, *ghosts]}, 1: {"students": [S3, S4, ghosts[0]]}}
    )
    rows = only(check(con, district), "unshared_student")
    assert sorted((r["record_id"], r["value"]) for r in rows) == sorted(
        [(X1, ghosts[0]), (X1, ghosts[1]), (X2, ghosts[0])]
    )
    for row in rows:
        assert_issue(
            row, severity="warning", entity="sections", record_id=row["record_id"], field="students"
        )
        assert "sharing settings in Clever" in row["message"]
    assert not only(check(con, make_district()), "unshared_student")


def test_empty_section(con):
    district = make_district(sections={1: {"students": []}})
    rows = check(con, district)
    assert_issue(
        one(rows, "empty_section"),
        severity="warning",
        entity="sections",
        record_id=X2,
        field="students",
    )
    assert "Lectura 5" in one(rows, "empty_section")["message"]
    # its former students now sit in no section
    assert {r["record_id"] for r in only(rows, "student_without_section")} == {S3, S4}


def test_a_section_whose_students_are_all_unshared_is_not_empty(con):
    district = make_district(sections={1: {"students": [oid("57", 99)]}})
    rows = check(con, district)
    assert not only(rows, "empty_section") and only(rows, "unshared_student")


def test_student_without_section(con):
    district = make_district(sections={0: {"students": [S2]}})
    row = one(check(con, district), "student_without_section")
    assert_issue(row, severity="warning", entity="students", record_id=S1, field="sections")
    assert "Zoë García-López" in row["message"]


def test_section_without_teacher(con):
    district = make_district(sections={1: {"teacher": DELETE, "teachers": []}})
    row = one(check(con, district), "section_without_teacher")
    assert_issue(row, severity="warning", entity="sections", record_id=X2, field="teacher")
    assert "SEC-2" in row["message"] and "primary teacher in the SIS" in row["message"]


def test_section_with_teachers_but_no_primary(con):
    district = make_district(sections={1: {"teacher": ""}})
    row = one(check(con, district), "section_without_teacher")
    assert "none as primary" in row["message"]


@pytest.mark.parametrize("grade", ["6", "PreKindergarten", "PostGraduate"])
def test_grade_outside_school_span(con, grade):
    row = one(
        check(con, make_district(students={0: {"roles.student.grade": grade}})),
        "grade_outside_school_span",
    )
    assert_issue(row, severity="warning", entity="students", record_id=S1, field="grade")
    assert "Escuela Primaria Peña (Kindergarten–5)" in row["message"]


def test_grade_span_message_never_pastes_a_bad_span(con):
    district = make_district(
        schools={0: {"low_grade": "X" * 500}}, students={0: {"roles.student.grade": "9"}}
    )
    rows = check(con, district)
    assert "(…–5)" in one(rows, "grade_outside_school_span")["message"]
    assert one(rows, "enum")["field"] == "low_grade"
    assert all("X" * 61 not in r["message"] for r in rows)


@pytest.mark.parametrize(
    "changes",
    [
        {"students": {0: {"roles.student.grade": "Kindergarten"}, 1: {"roles.student.grade": "5"}}},
        {"students": {0: {"roles.student.grade": "Ungraded"}, 1: {"roles.student.grade": "Other"}}},
        {
            "students": {0: {"roles.student.grade": "9"}},
            "schools": {0: {"low_grade": DELETE, "high_grade": ""}},
        },
        {
            "students": {0: {"roles.student.grade": "12"}},
            "schools": {0: {"high_grade": "Ungraded"}},
        },
    ],
    ids=["bounds", "ungraded", "no-span", "open-span"],
)
def test_grade_within_or_without_span_is_fine(con, changes):
    assert not only(check(con, make_district(**changes)), "grade_outside_school_span")


@pytest.mark.parametrize(
    ("name", "column", "target"),
    [("unknown_term", "term_id", "terms"), ("unknown_course", "course", "courses")],
)
def test_unknown_term_and_course(con, name, column, target):
    ghost = oid("99", 1)
    rows = check(con, make_district(sections={1: {column: ghost}}))
    row = one(rows, name)
    assert_issue(row, severity="warning", entity="sections", record_id=X2, field=column)
    assert ghost in row["message"]
    # a district that sends no terms (or courses) at all: nothing to compare with
    assert not only(
        check(con, make_district(**{target: [], "sections": {1: {column: ghost}}})), name
    )


# --- problems this sync would create -----------------------------------------------------------


def seed_roster(con, *, sections: list[tuple[str, str | None]] = (), enrollments=()) -> None:
    for section_id, teacher in sections:
        con.execute(
            "INSERT INTO roster_sections (district_id, id, name, teacher, valid_from) VALUES (?, ?, 'x', ?, 1)",
            [DISTRICT_ID, section_id, teacher],
        )
    for section_id, user_id, role in enrollments:
        con.execute(
            "INSERT INTO roster_enrollments (district_id, section_id, user_id, role, valid_from) VALUES (?, ?, ?, ?, 1)",
            [DISTRICT_ID, section_id, user_id, role],
        )


def test_loses_only_teacher(con):
    seed_roster(con, sections=[(X2, T2)], enrollments=[(X2, T2, "teacher")])
    rows = check(con, make_district(sections={1: {"teacher": DELETE, "teachers": []}}))
    row = one(rows, "loses_only_teacher")
    assert_issue(row, severity="warning", entity="sections", record_id=X2, field="teacher")
    assert "Lectura 5 - 陳 - 2" in row["message"]
    assert not only(rows, "section_without_teacher")  # one row for one section


def test_no_loss_when_the_roster_had_no_teacher_or_the_sync_keeps_one(con):
    seed_roster(con, sections=[(X1, T1)], enrollments=[(X1, T1, "teacher")])
    assert check(con, make_district()) == []
    rows = check(con, make_district(sections={1: {"teacher": DELETE, "teachers": []}}))
    assert not only(rows, "loses_only_teacher") and only(rows, "section_without_teacher")


def test_archived_or_closed_roster_rows_are_not_the_current_roster(con):
    seed_roster(con, sections=[(X2, T2)])
    con.execute("UPDATE roster_sections SET archived = true")
    rows = check(con, make_district(sections={1: {"teacher": DELETE, "teachers": []}}))
    assert not only(rows, "loses_only_teacher")


def test_loses_all_enrollments(con):
    seed_roster(con, enrollments=[(X1, S1, "student")])
    rows = check(con, make_district(sections={0: {"students": [S2]}}))
    row = one(rows, "loses_all_enrollments")
    assert_issue(row, severity="warning", entity="students", record_id=S1, field="sections")
    assert "Zoë García-López" in row["message"]
    assert not only(rows, "student_without_section")


def test_no_loss_when_the_student_keeps_a_section(con):
    seed_roster(con, enrollments=[(X1, S1, "student")])
    rows = check(
        con, make_district(sections={0: {"students": [S2]}, 1: {"students": [S1, S3, S4]}})
    )
    assert rows == []


def test_another_districts_roster_is_not_compared(con):
    con.execute(
        "INSERT INTO roster_enrollments (district_id, section_id, user_id, role, valid_from) VALUES ('other', ?, ?, 'student', 1)",
        [X1, S1],
    )
    rows = check(con, make_district(sections={0: {"students": [S2]}}))
    assert not only(rows, "loses_all_enrollments") and only(rows, "student_without_section")


# --- the MGI's requirements and the district's (District Parameters) ----------------------------


def test_students_without_email_or_username_raise_no_issue_under_default_parameters(con):
    """Students test with access codes, never a login (help.mhs.com/mgi/test-administration)."""
    no_login = {"email": DELETE, "roles.student.credentials": DELETE}
    district = make_district(students=dict.fromkeys(range(4), no_login))
    assert check(con, district) == []


def test_a_screened_student_without_a_grade_is_an_mgi_error(con):
    rows = check(con, make_district(students={0: {"roles.student.grade": ""}}))
    row = one(rows, "required_grade")
    assert_issue(row, severity="error", entity="students", record_id=S1, field="grade")
    assert "grade form" in row["message"] and "in the SIS" in row["message"]
    assert [r for r in rows if r["record_id"] == S1] == [row]  # not also the field check


def test_a_student_without_a_grade_in_a_school_not_taking_part_is_no_error(con):
    params = Parameters(screened_schools=(oid("5c", 9),))
    rows = check(con, make_district(students={0: {"roles.student.grade": ""}}), params)
    assert not [r for r in rows if r["severity"] == "error"]


def test_a_screened_student_without_a_school_is_an_mgi_error(con):
    district = make_district(
        students={0: {"roles.student.school": DELETE, "roles.student.schools": []}}
    )
    row = one(check(con, district), "required_school")
    assert_issue(row, severity="error", entity="students", record_id=S1, field="school")
    assert "one school" in row["message"]


@pytest.mark.parametrize("grade", ["11", "12", "Ungraded", "PreKindergarten"])
def test_a_student_whose_grade_has_no_form_is_not_screened_and_never_an_error(con, grade):
    district = make_district(
        students={0: {"roles.student.grade": grade, "roles.student.school": DELETE}},
        sections={0: {"students": [S2]}},
    )
    rows = check(con, district, by_class())
    assert not [r for r in rows if r["record_id"] == S1 and r["severity"] == "error"], rows


def test_a_grade_outside_the_screened_grades_is_not_screened(con):
    district = make_district(students={0: {"roles.student.school": DELETE}})
    assert not only(check(con, district, Parameters(screened_grades=("K", "1"))), "required_school")


DISTRICT_CASES = [
    # (entity, field, index, changes)
    ("students", "state_id", 2, {"roles.student.state_id": ""}),
    ("students", "dob", 3, {"roles.student.dob": DELETE}),
    ("students", "email", 1, {"email": DELETE}),
    ("teachers", "email", 1, {"email": ""}),
    ("sections", "teacher", 0, {"teacher": DELETE, "teachers": []}),
]  # fmt: skip


@pytest.mark.parametrize(("entity", "field", "index", "changes"), sampled(DISTRICT_CASES, keep=2),
                         ids=[f"{c[0]}.{c[1]}" for c in DISTRICT_CASES])  # fmt: skip
@pytest.mark.parametrize("severity", ["error", "warning"])
def test_district_requirements_report_at_the_districts_severity(
    con, entity, field, index, changes, severity
):
    district = make_district(**{entity: {index: changes}})
    record_id = district[entity][index]["id"]
    rows = check(con, district, requiring(entity, field, severity))
    row = one(rows, "district_requirement")
    assert_issue(row, severity=severity, entity=entity, record_id=record_id, field=field)
    assert "district requirement, not the MGI's" in row["message"]
    assert [r for r in rows if (r["record_id"], r["field"]) == (record_id, field)] == [row]
    assert not only(check(con, make_district(**{entity: {index: changes}})), "district_requirement")


def test_a_file_of_the_earlier_version_reports_its_measures_as_district_requirements(con):
    params = Parameters.from_dict({"testing_measures": ["student_application", "state_reporting"]})
    rows = check(con, make_district(students={0: {"roles.student.state_id": ""}}), params)
    row = one(rows, "district_requirement")
    assert "Zoë García-López (SIS id 100234)" in row["message"]
    assert "State Reporting" not in row["message"] and "district requirement" in row["message"]


# --- Test Distribution by Class: screening classes ------------------------------------------


@pytest.mark.parametrize(
    "rule",
    [
        ScreeningClassRule(subjects=("math",)),
        ScreeningClassRule(course_numbers=("M3",)),
        ScreeningClassRule(name_contains="MATH"),
    ],
    ids=["subject", "course-number", "name"],
)
def test_screening_class_coverage(con, rule):
    rows = check(con, one_form_per_class(), by_class(rule))
    found = only(rows, "screening_class_coverage")
    assert sorted(r["record_id"] for r in found) == sorted([S3, S4])
    for row in found:
        assert_issue(
            row, severity="error", entity="students", record_id=row["record_id"], field="sections"
        )
        assert "no current screening class" in row["message"]
    assert "Мария Иванова" in next(r["message"] for r in found if r["record_id"] == S3)


@pytest.mark.parametrize(
    "rule",
    [
        ScreeningClassRule(subjects=("math", "english/language arts")),
        ScreeningClassRule(course_numbers=("M3", "L5")),
        ScreeningClassRule(name_contains=" 5 - 陳", subjects=("math",)),
        ScreeningClassRule(name_contains="lectura", course_numbers=("M3",)),  # a course name
        ScreeningClassRule(subjects=("math", "english/language arts"), periods=("1",)),
    ],
    ids=["subjects", "course-numbers", "name-or-subject", "course-name", "period"],
)
def test_screening_class_coverage_met(con, rule):
    assert check(con, one_form_per_class(), by_class(rule)) == []


def test_a_rule_narrowed_by_period_grade_or_term_leaves_the_others_out(con):
    for narrowed in (
        ScreeningClassRule(subjects=("math", "english/language arts"), periods=("2",)),
        ScreeningClassRule(subjects=("math", "english/language arts"), grades=("4",)),
        ScreeningClassRule(subjects=("math", "english/language arts"), terms=("Spring",)),
    ):
        rows = check(con, one_form_per_class(), by_class(narrowed))
        assert len(only(rows, "screening_class_coverage")) == 4, narrowed


def test_a_rule_naming_a_term_by_name_or_id_matches_it(con):
    for term in ("2024–25", TERM):
        rule = ScreeningClassRule(subjects=("math", "english/language arts"), terms=(term,))
        assert check(con, one_form_per_class(), by_class(rule)) == []


def test_only_sections_of_a_current_term_are_screening_classes(con):
    past = {"start_date": "2019-08-15", "end_date": "2020-06-13"}
    rows = check(con, one_form_per_class(terms={0: past}), by_class())
    assert len(only(rows, "screening_class_coverage")) == 4


def test_screening_coverage_is_off_without_distribution_by_class(con):
    rows = check(con, make_district(sections={1: {"subject": "science"}}))
    assert not only(rows, "screening_class_coverage")


def test_a_student_in_no_section_is_reported_once_under_coverage(con):
    seed_roster(con, enrollments=[(X1, S1, "student")])
    district = one_form_per_class(sections={0: {"students": [S2]}})
    rows = check(con, district, by_class(ScreeningClassRule(subjects=("math",))))
    mine = [r for r in rows if r["record_id"] == S1]
    assert [r["check"] for r in mine] == ["screening_class_coverage"]
    assert "no section" in mine[0]["message"] and "remove all" in mine[0]["message"]


def test_a_student_in_two_screening_classes_is_an_error_naming_both(con):
    district = one_form_per_class(sections={1: {"students": [S1, S3, S4]}})
    rows = check(con, district, by_class())
    row = one(rows, "screening_class_several")
    assert_issue(row, severity="error", entity="students", record_id=S1, field="sections")
    assert "Math 3 - O'Connor - 1" in row["message"] and "Lectura 5 - 陳 - 2" in row["message"]
    assert "2 current screening classes" in row["message"]


def test_a_student_in_one_screening_class_and_other_sections_is_fine(con):
    district = one_form_per_class(sections={1: {"subject": "science", "students": [S1, S3, S4]}})
    rule = ScreeningClassRule(subjects=("math",))
    rows = check(con, district, by_class(rule))
    assert not only(rows, "screening_class_several")


def _crowd(n: int) -> dict[str, list[dict[str, Any]]]:
    """One screening class (X1) of n grade-3 students."""
    district = one_form_per_class()
    base = district["students"][0]
    crowd = []
    for i in range(n):
        s = copy.deepcopy(base)
        s["id"] = oid("58", i + 1)
        s["roles"]["student"]["sis_id"] = s["roles"]["student"]["student_number"] = f"9{i:04d}"
        crowd.append(s)
    district["students"] = crowd
    district["sections"] = [district["sections"][0]]
    district["sections"][0]["students"] = [s["id"] for s in crowd]
    return district


def test_a_screening_class_of_more_than_75_students_does_not_fit_a_test_plan(con):
    rows = check(con, _crowd(76), by_class())
    row = one(rows, "screening_class_size")
    assert_issue(row, severity="error", entity="sections", record_id=X1, field="students")
    assert "76 students" in row["message"] and "75" in row["message"]


def test_a_screening_class_of_75_students_fits(con):
    assert not only(check(con, _crowd(75), by_class()), "screening_class_size")


def test_a_screening_class_of_another_school_is_an_error(con):
    other = oid("5c", 2)
    district = one_form_per_class()
    district["schools"].append({**district["schools"][0], "id": other, "sis_id": "S-02"})
    district["sections"].append(
        _section(
            oid("5e", 3),
            "Math 3 - far away",
            "SEC-3",
            T1,
            [S3],
            subject="science",
            course=C1,
            school=other,
        )  # fmt: skip
    )
    rule = ScreeningClassRule(subjects=("math", "english/language arts"), course_numbers=("M3",))
    rows = check(con, district, by_class(rule))
    row = one(rows, "screening_class_school")
    assert_issue(row, severity="error", entity="students", record_id=S3, field="sections")
    assert "Math 3 - far away" in row["message"]


def test_screening_classes_of_the_students_own_school_raise_no_school_error(con):
    assert not only(check(con, one_form_per_class(), by_class()), "screening_class_school")


def test_a_screening_class_that_mixes_grade_forms_is_a_warning(con):
    rows = check(con, make_district(), by_class())  # X1: grades 3 and K
    found = {r["record_id"]: r for r in only(rows, "screening_class_grades")}
    assert set(found) == {X1, X2}
    assert_issue(found[X1], severity="warning", entity="sections", record_id=X1, field="grade")
    assert "(3, K)" in found[X1]["message"] or "(K, 3)" in found[X1]["message"]


def test_a_screening_class_of_one_grade_form_is_fine(con):
    assert not only(check(con, one_form_per_class(), by_class()), "screening_class_grades")


def test_a_student_not_screened_needs_no_screening_class(con):
    district = one_form_per_class(
        students={0: {"roles.student.grade": "11"}}, sections={0: {"students": [S2]}}
    )
    rows = check(con, district, by_class())
    assert not [r for r in rows if r["record_id"] == S1 and r["severity"] == "error"]


# --- the contract around the checks ------------------------------------------------------------


def test_validate_replaces_the_runs_earlier_issues_and_leaves_other_runs_alone(con):
    first = stage(con, make_district(students={0: {"roles.student.grade": "Grade 3"}}))
    second = stage(con, make_district(students={1: {"roles.student.gender": "male"}}))
    assert validate(con, first, DISTRICT_ID, Parameters()) == {"error": 1, "warning": 0}
    assert validate(con, second, DISTRICT_ID, Parameters()) == {"error": 1, "warning": 0}
    assert validate(con, first, DISTRICT_ID, Parameters()) == {"error": 1, "warning": 0}
    assert len(issues(con, first)) == 1 and issues(con, second)[0]["record_id"] == S2


def test_validate_runs_inside_the_callers_transaction(con):
    run_id = stage(con, make_district(students={0: {"roles.student.grade": "Grade 3"}}))
    with pytest.raises(RuntimeError), store.transaction(con):
        validate(con, run_id, DISTRICT_ID, Parameters())
        raise RuntimeError("later step fails")
    assert issues(con, run_id) == []


def test_small_windows_give_the_same_issues(con, monkeypatch):
    """Rows are validated a window at a time: window edges must not change any finding."""
    district = make_district(
        students={
            0: {"roles.student.grade": "Grade 3", "roles.student.dob": "2/30/2014"},
            2: {"name.first": "M\u0000ария", "roles.student.gender": "female"},
            3: {"roles.student.sis_id": ""},
        },
        teachers={1: {"email": "nope"}},
    )
    district["students"].append(copy.deepcopy(district["students"][0]))

    def found(rows):
        return sorted((r["record_id"], r["field"], r["check"], r["message"]) for r in rows)

    whole = found(check(con, district))
    monkeypatch.setattr(schemas, "CHUNK_ROWS", 1)
    assert found(check(con, district)) == whole
    assert len([r for r in whole if r[2] == "dob_date"]) == 2


def test_an_empty_run_has_no_issues(con):
    run_id = new_run(con)
    assert validate(con, run_id, DISTRICT_ID, ALL_RULES) == {"error": 0, "warning": 0}


def test_every_staged_entity_is_covered(con):
    assert {e.name for e in validation.VALIDATED} == {e.name for e in ENTITIES if e.endpoint}


def test_the_schemas_are_the_entity_declarations():
    """A rule declared on a field (entities.py) is a check of its schema, and nothing else is."""
    formats = {f: {name for name, _ in checks} for f, checks in schemas.FORMATS.items()}
    for entity in validation.VALIDATED:
        schema = schemas.SCHEMAS[entity.name]
        for column in entity.columns:
            if column.kind == "list":
                assert column.name not in schema.columns
                continue
            found = {
                schemas.PANDERA_NAMES.get(c.name, c.name)
                for c in schema.columns[column.name].checks
            }
            expected = {"long_value"} | formats.get(column.format, set())
            expected |= {"enum"} if column.vocabulary else set()
            expected |= {"control_characters"} if column.plain else set()
            assert found == expected, (entity.name, column.name)
            assert schema.columns[column.name].nullable == (column.required is None)
            if column.required:
                assert schemas.REQUIRED[(entity.name, column.name)] == column.required


# --- rendering: issues are data, sentences are rendered -----------------------------------------


def _cases(spec: validation.CheckSpec) -> list[str]:
    return [""] if isinstance(spec.sentence, str) else list(spec.sentence)


EVERY_CASE = [(spec, case) for spec in CHECKS for case in _cases(spec)]


@pytest.mark.parametrize(
    ("spec", "case"), EVERY_CASE, ids=[f"{s.name}-{s.entity}-{c}" for s, c in EVERY_CASE]
)
def test_every_check_renders_every_case_as_a_sentence(spec, case):
    entity = BY_NAME[spec.entity]
    field = next(
        (c.name for c in entity.columns if c.vocabulary), entity.columns[1].name
    )  # a field with words to look up
    params = {
        "case": case,
        "count": 2,
        "length": 300,
        "others": [{"id": "57b", "name": "Ana Ruiz"}, {"id": "57c", "name": None}],
        "more": 3,
        "school": "Escuela Peña",
        "low": "Kindergarten",
        "high": None,
        "rule": "screening classes are sections with subject math",
        "end": "2024-08-15",
    }
    finding = messages.Finding(
        spec.name, spec.entity, field, "x\ty", "57a", "Zoë García", "1001", params
    )
    text = messages.render(finding)
    assert text.startswith(f"{entity.word} Zoë García (SIS id 1001): "), text
    assert text.endswith(".") and "{" not in text and "None" not in text, text
    assert "\t" not in text  # control characters are made visible
    if not isinstance(spec.sentence, str):  # the case picks its own sentence
        assert spec.template(case) == spec.sentence[case]
        others = [spec.template(c) for c in spec.sentence if c != case]
        assert spec.template(case) not in others


def test_a_label_names_the_record_as_best_it_can():
    def label(**fields: Any) -> str:
        return messages.label(messages.Finding("required", "students", **fields))

    assert label(record_name="Zoë", sis_id="1", record_id="57a") == "Student Zoë (SIS id 1)"
    assert label(record_name="Zoë", record_id="57a") == "Student Zoë (Clever id 57a)"
    assert label(record_name="Zoë") == "Student Zoë (no Clever id)"
    assert label(record_name="  ", sis_id="1") == "Student with SIS id 1"  # blank is no name
    assert label(record_id="57a") == "Student with Clever id 57a"
    assert label() == "Student without a Clever id"
    assert label(record_name="Z\x07" + "o" * 100, sis_id="S" * 50) == (
        "Student Z\ufffd" + "o" * 58 + "… (SIS id " + "S" * 40 + "…)"
    )


def test_a_row_written_before_issues_were_data_shows_its_stored_message():
    old = messages.Finding("required", "students", "grade", stored="Student 1: no grade.")
    assert old.legacy and messages.render(old) == "Student 1: no grade."
    unknown = messages.Finding("a_newer_check", "students", record_id="57a", params={})
    assert messages.render(unknown) == "Student with Clever id 57a: check a_newer_check failed."


def test_the_migration_keeps_old_issue_rows_readable(tmp_path):
    """A store written before issues were data: its rows keep their message and show it; new
    rows leave `message` NULL and keep params."""
    path = str(tmp_path / "old.duckdb")
    con = duckdb.connect(path)
    for statements in store.MIGRATIONS[:3]:
        for statement in statements:
            con.execute(statement)
    con.execute("INSERT INTO meta VALUES ('schema_version', '3')")
    assert new_run(con) == 1
    con.execute(
        """INSERT INTO issues (run_id, district_id, entity, record_id, field, "check", severity,
           value, message, record_name) VALUES (1, ?, 'students', ?, 'grade', 'enum', 'error',
           'Grade 3', 'Student Zoë (SIS id 1): grade "Grade 3" is wrong.', 'Zoë')""",
        [DISTRICT_ID, S1],
    )
    con.close()
    with store.opened(path) as con:
        page = views.issues_page(con, 1).frame
        assert page.loc[0, "message"] == 'Student Zoë (SIS id 1): grade "Grade 3" is wrong.'
        columns, rows = exports.rows(con, 1, "issues")
        assert dict(zip(columns, rows[0], strict=True))["message"] == page.loc[0, "message"]
        run_id = stage(con, make_district(students={0: {"roles.student.grade": "Grade 3"}}))
        validate(con, run_id, DISTRICT_ID, Parameters())
        [(message, params)] = con.execute(
            "SELECT message, params FROM issues WHERE run_id = ?", [run_id]
        ).fetchall()
        assert message is None and json.loads(params) == {}
        assert (
            views.issues_page(con, run_id)
            .frame.loc[0, "message"]
            .startswith('Student Zoë García-López (SIS id 100234): grade "Grade 3" is not one of')
        )


def test_exports_render_messages_and_carry_the_facts(con):
    district = make_district(
        students={0: {"roles.student.sis_id": "DUP"}, 1: {"roles.student.sis_id": "DUP"}}
    )
    run_id = stage(con, district)
    validate(con, run_id, DISTRICT_ID, Parameters())
    found = json.loads(exports.export(con, run_id, "issues", "json"))
    assert {r["check"] for r in found} == {"duplicate_sis_id"}
    first = next(r for r in found if r["record_id"] == S1)
    assert first["params"]["others"] == [{"id": S2, "name": "José O'Connor"}]
    assert first["message"] == (
        'Student Zoë García-López (SIS id DUP): SIS id "DUP" is also used by José O\'Connor '
        f"(Clever id {S2}). Each student needs its own SIS id: fix the duplicate in the SIS."
    )
    assert (first["record_name"], first["sis_id"]) == ("Zoë García-López", "DUP")
    csv_text = exports.export(con, run_id, "issues", "csv")
    assert first["message"].replace('"', '""') in csv_text


# --- the real recorded Clever district ---------------------------------------------------------

RECORDED_DISTRICT = "58da8a43cc70ab00017a1a87"


def test_the_recorded_clever_district_validates_with_sharing_findings_only_as_warnings(con):
    run_id = new_run(con, RECORDED_DISTRICT)
    for cassette, entity in (
        ("client__users_next", "students"),
        ("client__sections_next", "sections"),
        ("client__schools", "schools"),
        ("client__terms", "terms"),
        ("client__courses_next", "courses"),
    ):
        for interaction in recorded.interactions(cassette):
            body = json.dumps(interaction["response"]["body"])
            staging.stage_page(con, BY_NAME[entity], run_id, RECORDED_DISTRICT, body)
    found = validate(con, run_id, RECORDED_DISTRICT, Parameters())
    rows = issues(con, run_id)
    assert found["warning"] == len(rows) and found["error"] == 0

    students = {r["id"] for r in recorded.records("client__users_next")}
    named = {
        (s["id"], u)
        for s in recorded.records("client__sections_next")
        for u in s["students"]
        if u not in students
    }
    sharing = only(rows, "unshared_student")
    assert {(r["record_id"], r["value"]) for r in sharing} == named
    assert {r["severity"] for r in sharing} == {"warning"}
    assert all("sharing settings in Clever" in r["message"] for r in sharing)
    dobs = {r["roles"]["student"]["dob"] for r in recorded.records("client__users_next")}
    assert "2/11/2007" in dobs and any(len(d.split("/")[0]) == 1 for d in dobs)
    assert not [r for r in rows if r["check"].startswith("dob")]
