"""Presentation mode's masks (mgi_roster.masking): pure functions over the tables the pages show,
on hand-made frames and on the issues and changes a real sync writes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import responses

from mgi_roster import parameters, store, views
from mgi_roster.entities import BY_NAME, ENTITIES
from mgi_roster.masking import (
    EMAIL_FIELDS,
    HIDDEN,
    HIDDEN_FIELDS,
    NAME_FIELDS,
    PEOPLE,
    SENSITIVE_FIELDS,
    USERNAME_FIELDS,
    Masker,
)
from mgi_roster.parameters import Parameters
from mgi_roster.review import validation
from mgi_roster.review.validation import messages
from mgi_roster.roster import exports
from mgi_roster.sync import run_sync
from tests.builders import DISTRICT_ID, SETTINGS, District, school, section, serve, student, teacher

ROOT = Path(__file__).resolve().parent.parent
KEY = b"test-key"
M = Masker(KEY)


def test_tokens_are_deterministic_under_one_key_and_differ_under_another():
    assert M.value("last_name", "García") == M.value("last_name", "García")
    assert M.value("last_name", "García") != M.value("last_name", "Garcia")
    assert Masker(b"other").value("last_name", "García") != M.value("last_name", "García")
    assert M.record("students", "57aa") == M.record("students", "57aa")
    assert M.record("students", "57aa").startswith("Student ·")
    assert M.record("teachers", "7e01").startswith("Teacher ·")


def test_roster_columns_are_masked_and_everything_else_kept():
    frame = pd.DataFrame(
        {
            "id": ["57a", "57b", "57c"],
            "sis_id": ["1001", "1002", "1003"],
            "first_name": ["Zoë", "Zoë", None],
            "last_name": ["García", "Lee", "Ng"],
            "email": ["zoe@example.org", None, "ng@example.org"],
            "district_username": ["zgarcia", "zlee", None],
            "grade": ["3", "4", "5"],
            "dob": ["2/11/2016", None, "1/1/2015"],
            "gender": ["F", "M", "X"],
            "race": ["Asian", None, "Unknown"],
            "hispanic_ethnicity": ["Y", "N", None],
            "ell_status": ["N", "Y", "N"],
            "schools": [["5c1"], ["5c1"], []],
        }
    )
    masked = M.frame(frame)
    assert list(masked.columns) == list(frame.columns) and len(masked) == 3
    assert frame.loc[0, "first_name"] == "Zoë"  # the input is not changed
    for column in ("id", "sis_id", "grade"):
        assert masked[column].tolist() == frame[column].tolist()
    assert masked.loc[0, "schools"] == ["5c1"]
    first = masked["first_name"].tolist()
    assert first[0] == first[1] != "Zoë" and first[0].startswith("First ·") and pd.isna(first[2])
    assert masked["last_name"].nunique() == 3  # rows stay distinguishable
    assert masked.loc[0, "email"].endswith("@masked.invalid") and pd.isna(masked.loc[1, "email"])
    assert "zgarcia" not in masked.to_string()
    for column in ("dob", "gender", "race", "hispanic_ethnicity", "ell_status"):
        shown = masked[column].dropna().tolist()
        assert shown and set(shown) == {HIDDEN}, column
    assert masked["dob"].isna().tolist() == frame["dob"].isna().tolist()  # missing stays missing


def test_changes_mask_before_and_after_of_personal_fields_only():
    frame = pd.DataFrame(
        {
            "entity": ["students", "students", "students", "sections"],
            "change": ["updated", "updated", "added", "updated"],
            "record": ["Zoë García", "Zoë García", "Ana Ruiz", "Math 3"],
            "field": ["last_name", "grade", None, "name"],
            "before": ["García", "3", None, "Math"],
            "after": ["García-López", "4", None, "Math 3"],
            "record_id": ["57a", "57a", "57b", "5e1"],
        }
    )
    masked = M.frame(frame)
    assert masked["record"].tolist()[:3] == [
        M.record("students", "57a"),
        M.record("students", "57a"),
        M.record("students", "57b"),
    ]
    assert masked.loc[3, "record"] == "Math 3"  # a section is not a person
    before, after = masked.loc[0, "before"], masked.loc[0, "after"]
    assert before != after and before.startswith("Last ·") and "García" not in before + after
    assert (masked.loc[1, "before"], masked.loc[1, "after"]) == ("3", "4")
    assert masked.loc[3, "after"] == "Math 3"


def issue_frame(rows: list[dict]) -> pd.DataFrame:
    """Issues as views.issues_page shows them: their fields, and the message rendered from
    them (a row without params was written before issues were data: its message is stored)."""
    columns = ["severity", "check", "entity", "record", "message", "field", "value", "SIS id"]
    columns += ["record_id", "params"]
    frame = pd.DataFrame(
        [{c: r.get(c, "{}" if c == "params" else None) for c in columns} for r in rows],
        columns=columns,
    )
    frame["message"] = [messages.render(f) for f in messages.frame_findings(frame)]
    return frame


def test_issue_messages_are_rendered_from_masked_fields():
    frame = issue_frame(
        [
            {
                "entity": "students",
                "record": "Zoë García",
                "SIS id": "1001",
                "record_id": "57a",
                "check": "dob_date",
                "field": "dob",
                "value": "2/30/2010",
            },
            {
                "entity": "teachers",
                "record": "Ann Lee",
                "record_id": "7e1",
                "check": "email_format",
                "field": "email",
                "value": "ann.lee.example.org",
            },
            {
                "entity": "students",
                "record": None,
                "SIS id": "1003",
                "record_id": "57c",
                "check": "required",
                "field": "grade",
            },
            {
                "entity": "schools",
                "record": "Bayview Elementary",
                "SIS id": "S1",
                "record_id": "5c1",
                "check": "email_format",
                "field": "principal_email",
                "value": "office@@bayview.org",
            },
            {
                "entity": "sections",
                "record": "Math for ms.lee@bayview.org",
                "record_id": "5e1",
                "check": "control_characters",
                "field": "name",
                "value": "Math\tfor ms.lee@bayview.org",
            },
        ]
    )
    assert frame.loc[0, "message"] == (
        'Student Zoë García (SIS id 1001): date of birth "2/30/2010" is not a real calendar date. '
        "Fix the date of birth in the SIS."
    )
    masked = M.frame(frame)
    text = masked.to_string()
    for secret in ("Zoë", "García", "2/30/2010", "Ann Lee", "ann.lee.example.org", "@bayview"):
        assert secret not in text
    token = M.record("students", "57a").split(" ", 1)[1]
    assert masked.loc[0, "message"] == (
        f'Student {token} (SIS id 1001): date of birth "{HIDDEN}" is not a real calendar date. '
        "Fix the date of birth in the SIS."
    )
    assert masked.loc[0, "record"] == f"Student {token}"
    assert masked.loc[1, "message"].startswith(f"Teacher {M.record('teachers', '7e1')[8:]} (")
    assert f'"{M.value("email", "ann.lee.example.org")}"' in masked.loc[1, "message"]
    assert masked.loc[2, "message"] == frame.loc[2, "message"]  # no name to hide
    assert masked.loc[2, "message"].startswith("Student with SIS id 1003: grade is missing.")
    assert masked.loc[3, "record"] == "Bayview Elementary"  # a school is not a person
    assert masked.loc[3, "message"].startswith("School Bayview Elementary (SIS id S1): principal")
    # Emails in any field, personal or not (a section's name, its value), are masked too.
    assert masked.loc[4, "message"].startswith("Section Math for user·")


def test_a_duplicate_sis_id_message_names_the_others_by_token():
    others = [{"id": "57b", "name": "Ana Ruiz"}, {"id": "57c", "name": None}]
    frame = issue_frame(
        [
            {
                "entity": "students",
                "record": "Zoë García",
                "SIS id": "1001",
                "record_id": "57a",
                "check": "duplicate_sis_id",
                "field": "sis_id",
                "value": "1001",
                "params": json.dumps({"others": others, "more": 2}),
            }
        ]
    )
    assert frame.loc[0, "message"] == (
        'Student Zoë García (SIS id 1001): SIS id "1001" is also used by Ana Ruiz (Clever id 57b); '
        "(Clever id 57c) and 2 more. Each student needs its own SIS id: fix the duplicate in the SIS."
    )
    masked = M.frame(frame)
    shown = masked.loc[0, "message"]
    assert "Ana Ruiz" not in shown and "Zoë" not in shown
    assert f"{M.record('students', '57b')} (Clever id 57b)" in shown
    assert shown.endswith(
        "(Clever id 57c) and 2 more. Each student needs its own SIS id: fix the duplicate in the SIS."
    )
    assert "Ana Ruiz" not in masked.loc[0, "params"]  # the data behind it is masked too
    assert json.loads(masked.loc[0, "params"])["others"][0]["id"] == "57b"


@pytest.mark.parametrize(
    "message",
    [
        "Student Zoë García said something validation never writes",
        'Student Zoë García (SIS id 1001): SIS id "1001" is also used by Ana Ruiz, in words.',
        "Zoë García: a message that does not start with its label",
    ],
)
def test_a_stored_message_without_its_fields_is_hidden_whole(message):
    """Rows written before issues were data keep only their sentence: nothing says which of its
    words are personal, so presentation mode shows none of them."""
    row = {"entity": "students", "record": "Zoë García", "record_id": "57a", "message": message}
    frame = issue_frame([{**row, "params": None}])
    assert frame.loc[0, "message"] == message  # shown as stored
    hidden = f"{M.record('students', '57a')}: details hidden in presentation mode."
    assert M.frame(frame).loc[0, "message"] == hidden
    # A table of issues without their params (not one views gives) is hidden the same way.
    assert M.frame(frame.drop(columns="params")).loc[0, "message"] == hidden


def test_a_name_holding_label_words_does_not_leak():
    name = "Evil (SIS id 9): Secretname"
    frame = issue_frame(
        [
            {
                "entity": "students",
                "record": name,
                "SIS id": "1001",
                "record_id": "57a",
                "check": "control_characters",
                "field": "first_name",
                "value": "Evil\x01",
            }
        ]
    )
    assert "Secretname" in frame.loc[0, "message"]
    shown = M.frame(frame).loc[0, "message"]
    assert "Secretname" not in shown and "Evil" not in shown


EVERY_CASE = [
    (spec, case)
    for spec in validation.CHECKS
    for case in ([""] if isinstance(spec.sentence, str) else spec.sentence)
]


@pytest.mark.parametrize(
    ("spec", "case"), EVERY_CASE, ids=[f"{s.name}-{s.entity}-{c}" for s, c in EVERY_CASE]
)
def test_every_check_renders_masked_from_masked_fields(spec, case):
    """Whatever a check says, its masked sentence holds no personal value: the record's name,
    a personal field's value, the other records it names."""
    entity = BY_NAME[spec.entity]
    personal = [c.name for c in entity.columns if c.mask is not None]
    field = personal[0] if personal else entity.columns[1].name
    params = {
        "case": case,
        "others": [{"id": "57b", "name": "Ana Secretname"}],
        "school": "Escuela office@school.example.org",
        "rule": "screening classes are sections with subject math",
    }
    finding = messages.Finding(
        spec.name, spec.entity, field, "Zoë.Value", "57a", "Zoë Secretname", "1001", params
    )
    shown = M.message(finding)
    assert shown.endswith(".") and "{" not in shown
    assert "office@" not in shown
    if personal:
        assert "Zoë.Value" not in shown, shown
    if entity.person:
        assert "Secretname" not in shown and "Zoë" not in shown, shown
        assert shown.startswith(f"{M.record(spec.entity, '57a')} (SIS id 1001): ")
    else:
        assert shown.startswith(f"{entity.word} Zoë Secretname (SIS id 1001): ")


def test_masking_follows_the_entity_declarations():
    assert NAME_FIELDS == {
        "first_name": "First",
        "middle_name": "Middle",
        "last_name": "Last",
        "principal_name": "Principal",
    }
    assert set(EMAIL_FIELDS) == {"email", "principal_email"}
    assert set(USERNAME_FIELDS) == {"district_username"}
    assert set(HIDDEN_FIELDS) == {"dob", "gender", "race", "hispanic_ethnicity", "ell_status"}
    assert PEOPLE == {"students": "Student", "teachers": "Teacher"}
    for entity in ENTITIES:
        for column in entity.columns:
            assert (column.name in SENSITIVE_FIELDS) == (column.mask is not None), column


def test_emails_are_masked_in_any_text_cell():
    frame = pd.DataFrame(
        {
            "run": [1, 2],
            "decided by": ["dana@example.org", "Dana"],
            "message": ["Rejected by dana@example.org.", "Merged, then undone by Dana."],
        }
    )
    masked = M.frame(frame)
    assert "dana@example.org" not in masked.to_string()
    assert masked.loc[0, "decided by"] == M.value("email", "dana@example.org")
    assert masked.loc[0, "message"] == f"Rejected by {M.value('email', 'dana@example.org')}."
    assert masked.loc[1, "decided by"] == "Dana"  # a typed reviewer name is not roster data


def test_empty_frames_pass_through():
    empty = pd.DataFrame(columns=["entity", "record", "message"])
    assert M.frame(empty).empty


# --- on what a real sync writes -------------------------------------------------------------


HOSTILE_FIRST = ["Zoë", "Zo\te", "Ana", "Mia", "Léa", "Kai"]
HOSTILE_LAST = ["García-López", "O'Brien", "Nguyen", "Okafor", "Dubois", "X" * 300]


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, int]:
    """A district whose students break every personal-field check: bad dates of birth, genders,
    races, emails, control characters, a 300-character name, and a shared SIS id."""
    students = [
        student(
            1,
            name={"first": HOSTILE_FIRST[0], "last": HOSTILE_LAST[0]},
            roles__student__dob="2/30/2010",
        ),
        student(
            2,
            name={"first": HOSTILE_FIRST[1], "last": HOSTILE_LAST[1]},
            roles__student__gender="Female",
        ),
        student(
            3,
            name={"first": HOSTILE_FIRST[2], "last": HOSTILE_LAST[2]},
            email="ana.nguyen.example.org",
        ),
        student(
            4,
            name={"first": HOSTILE_FIRST[3], "last": HOSTILE_LAST[3]},
            roles__student__sis_id="1001",
        ),
        student(
            5,
            name={"first": HOSTILE_FIRST[4], "last": HOSTILE_LAST[4]},
            roles__student__race="Martian",
        ),
        student(
            6, name={"first": HOSTILE_FIRST[5], "last": HOSTILE_LAST[5]}, roles__student__grade=None
        ),
    ]
    district = District(
        schools=[school(1)],
        students=students,
        teachers=[teacher(1, name={"first": "Tess", "last": "Worthington"}, email="tess@@x")],
        sections=[section(1, students=[1, 2, 3, 4, 5, 6])],
    )
    path = str(tmp_path_factory.mktemp("masking") / "mgi.duckdb")
    with (
        store.opened(path) as con,
        responses.RequestsMock(assert_all_requests_are_fired=False) as rsps,
    ):
        parameters.save(con, DISTRICT_ID, Parameters())
        serve(district, rsps)
        result = run_sync(con, DISTRICT_ID, settings=SETTINGS)
        assert result.run_id is not None
    return path, int(result.run_id)


def personal_values(district_names: bool = True) -> list[str]:
    values = ["Worthington", "Tess", "tess@@x", "2/30/2010", "Female", "Martian"]
    values += ["ana.nguyen.example.org", "student1@example.org", "s1", "X" * 60]
    values += [v for v in HOSTILE_LAST if len(v) < 100] + ["Zoë", "Zo\ufffde", "Zo\te"]
    return values


def assert_no_personal_values(frame: pd.DataFrame) -> None:
    cells = [str(v) for v in frame.astype(object).to_numpy().ravel() if v is not None]
    for value in personal_values():
        if len(value) <= 3:  # short usernames: whole cells only
            assert value not in cells, value
        else:
            leaks = [c for c in cells if value in c]
            assert not leaks, (value, leaks[:2])


def test_the_issues_of_a_real_sync_show_no_personal_values_masked(synced):
    path, run_id = synced
    with store.opened(path) as con:
        issues = views.issues_page(con, run_id, page_size=1000).frame
        columns, rows = exports.rows(con, run_id, "issues")
    people = issues[issues["entity"].isin(["students", "teachers"])]
    assert {"dob_date", "enum", "email_format", "duplicate_sis_id", "long_value"} <= set(
        people["check"]
    )
    assert any("Worthington" in m for m in people["message"])  # unmasked, they are there
    masked = M.frame(issues)
    assert_no_personal_values(masked)
    # Known shapes are rewritten, not hidden whole: the presenter can still say what is wrong.
    assert not masked["message"].str.contains("details hidden").any()
    assert masked["message"].str.contains("Fix the date of birth in the SIS").any()
    export = M.frame(pd.DataFrame(rows, columns=list(columns)))
    assert_no_personal_values(export)
    assert not export["message"].str.contains("details hidden").any()


def test_the_changes_of_a_real_sync_show_no_personal_values_masked(synced):
    path, run_id = synced
    with store.opened(path) as con:
        changes = views.changes_page(con, run_id, page_size=1000).frame
        roster = views.roster_page(con, DISTRICT_ID, "students").frame
    assert any("Worthington" in str(r) for r in changes["record"])
    assert_no_personal_values(M.frame(changes))
    assert_no_personal_values(M.frame(roster))


# --- every table a page shows goes through the one helper ------------------------------------


def test_pages_show_tables_only_through_ui_table():
    pattern = re.compile(r"\bst\.(dataframe|table|data_editor|download_button)\(")
    offenders = [
        p.name
        for p in [*ROOT.joinpath("app_pages").glob("*.py"), ROOT / "app.py"]
        if pattern.search(p.read_text())
    ]
    assert offenders == []
