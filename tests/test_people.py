"""Is this the same person? Re-keys, students added by hand and their links, All Records
Processing off for class memberships, duplicate people: each with a district that has the case
and one that does not (small districts served like Clever)."""

from __future__ import annotations

import json

import pytest

from mgi_roster import parameters, store
from mgi_roster.entities import BY_NAME
from mgi_roster.errors import InputError, MergeRefused
from mgi_roster.parameters import Parameters
from mgi_roster.review import people
from mgi_roster.review.validation import checks, duplicates, findings
from mgi_roster.roster import exports, manual, merge, sql
from mgi_roster.staging import runfile
from mgi_roster.store import execute
from tests.support import (
    DISTRICT_ID,
    District,
    hex_id,
    school,
    section,
    small_district,
    student,
    synced,
    teacher,
)

SCHOOL = school(1)["id"]


def sid(n: int) -> str:
    return student(n)["id"]


def changes(con, run_id: int, entity: str | None = None) -> set[tuple]:
    rows = con.execute(
        "SELECT entity, record_id, change, field, before, after FROM changes WHERE run_id = ?",
        [run_id],
    ).fetchall()
    return {r for r in rows if entity is None or r[0] == entity}


def rows_of(con, entity: str, version: int | None = None) -> dict[str, tuple]:
    """id -> (archived, first name) of the roster as of `version` (None: now)."""
    found = execute(
        con,
        f"SELECT {sql.record_id(BY_NAME[entity], 't')}, archived, "
        f"{'first_name' if entity in ('students', 'teachers') else 'NULL'} "
        f"FROM ({sql.as_of(BY_NAME[entity], version)}) t",
        {"district": DISTRICT_ID, "version": version},
    ).fetchall()
    return {r[0]: r[1:] for r in found}


def history(con, entity: str, record_id: str) -> list[tuple]:
    return con.execute(
        f"SELECT valid_from, valid_to, archived FROM {sql.roster_table(BY_NAME[entity])} "
        "WHERE district_id = ? AND id = ? ORDER BY valid_from",
        [DISTRICT_ID, record_id],
    ).fetchall()


def seeded(con, params: Parameters | None = None, students: int = 6) -> District:
    parameters.save(con, DISTRICT_ID, params or Parameters())
    day1 = small_district(students)
    merge.approve(con, synced(con, day1).run_id, by="day one")
    return day1


def rekeyed(day: District, n: int, new_n: int, **over) -> District:
    """`day` with student n sent under a new Clever id (an SIS migration), same person."""
    out = day.copy()
    new_id = hex_id("57", new_n)
    out.students = [student(n, id=new_id, **over) if s["id"] == sid(n) else s for s in out.students]
    for x in out.sections:
        x["students"] = [new_id if s == sid(n) else s for s in x["students"]]
    return out


# --- re-keys ----------------------------------------------------------------------------------


def test_a_rekeyed_student_is_one_change_and_keeps_its_history(fresh_db):
    day1 = seeded(fresh_db)
    new_id = hex_id("57", 300)
    result = synced(fresh_db, rekeyed(day1, 3, 300))
    assert changes(fresh_db, result.run_id) == {
        ("students", new_id, "rekeyed", "id", sid(3), new_id)
    }
    assert result.changes["students"]["rekeyed"] == 1
    assert result.changes["students"]["archived"] == result.changes["students"]["added"] == 0
    assert result.changes["enrollments"]["archived"] == 0  # memberships follow the id
    csv = exports.export(fresh_db, result.run_id, "changes", "csv")
    assert f"rekeyed,id,{sid(3)},{new_id}" in csv

    merged = merge.approve(fresh_db, result.run_id, by="Ana")
    # The new id's history holds the old rows; the as-of view of version 1 follows the new id.
    assert history(fresh_db, "students", new_id) == [(1, 2, False), (2, None, False)]
    assert history(fresh_db, "students", sid(3)) == []
    assert new_id in rows_of(fresh_db, "students", 1)
    assert sid(3) not in rows_of(fresh_db, "students", 1)
    enrolled = rows_of(fresh_db, "enrollments", 1)
    section_id = day1.sections[0]["id"]
    assert f"{section_id}:{new_id}:student" in enrolled
    assert f"{section_id}:{new_id}:student" in rows_of(fresh_db, "enrollments")

    # Undo reverses the re-key exactly.
    merge.undo(fresh_db, DISTRICT_ID, by="Ana")
    assert history(fresh_db, "students", sid(3)) == [(1, None, False)]
    assert history(fresh_db, "students", new_id) == []
    assert f"{section_id}:{sid(3)}:student" in rows_of(fresh_db, "enrollments")
    assert merged.version == 2


def test_a_student_who_leaves_and_one_who_arrives_are_not_a_rekey(fresh_db):
    day1 = seeded(fresh_db)
    day2 = day1.copy()
    day2.students = [s for s in day2.students if s["id"] != sid(3)]
    day2.students.append(student(7))
    day2.sections[0]["students"] = [s for s in day2.sections[0]["students"] if s != sid(3)]
    day2.sections[0]["students"].append(sid(7))
    result = synced(fresh_db, day2)
    kinds = {(r[1], r[2]) for r in changes(fresh_db, result.run_id, "students")}
    assert kinds == {(sid(3), "archived"), (sid(7), "added")}
    assert people.matches(fresh_db, result.run_id) == []


def test_a_rekeyed_teacher_keeps_sections_and_memberships(fresh_db):
    day1 = seeded(fresh_db)
    day2 = day1.copy()
    new_id = hex_id("7e", 90)
    day2.teachers = [teacher(1, id=new_id)]
    day2.sections[0]["teacher"] = new_id
    day2.sections[0]["teachers"] = [new_id]
    result = synced(fresh_db, day2)
    assert changes(fresh_db, result.run_id) == {
        ("teachers", new_id, "rekeyed", "id", teacher(1)["id"], new_id)
    }
    merge.approve(fresh_db, result.run_id)
    assert new_id in rows_of(fresh_db, "teachers", 1)


def test_two_candidates_wait_for_a_person_to_choose(fresh_db):
    parameters.save(fresh_db, DISTRICT_ID, Parameters())
    day1 = small_district(4)
    # Students 3 and 4 share a name and a date of birth (SIS ids and state ids differ).
    for n in (3, 4):
        day1.find("students", sid(n))["name"] = {"first": "Ana", "last": "Lee"}
    merge.approve(fresh_db, synced(fresh_db, day1).run_id)
    day2 = day1.copy()
    day2.students = [s for s in day2.students if s["id"] not in (sid(3), sid(4))]
    new = student(9, name={"first": "Ana", "last": "Lee"})
    day2.students.append(new)
    day2.sections[0]["students"] = [sid(1), sid(2), new["id"]]
    result = synced(fresh_db, day2)
    found = people.matches(fresh_db, result.run_id)
    assert {(m.old_id, m.new_id, m.status) for m in found} == {
        (sid(3), new["id"], "proposed"),
        (sid(4), new["id"], "proposed"),
    }
    assert "rekeyed" not in {r[2] for r in changes(fresh_db, result.run_id)}
    with pytest.raises(MergeRefused, match="re-key"):
        merge.approve(fresh_db, result.run_id)

    people.decide(fresh_db, result.run_id, old_id=sid(4), new_id=new["id"], same=True, by="Ana")
    students = {(r[1], r[2]) for r in changes(fresh_db, result.run_id, "students")}
    assert students == {(new["id"], "rekeyed"), (sid(3), "archived")}
    merge.approve(fresh_db, result.run_id, confirm_guards=True)  # 1 of 4 archived: a guard
    assert history(fresh_db, "students", new["id"])[0][0] == 1  # student 4's history


# --- students added by hand -------------------------------------------------------------------


def add_by_hand(con, **over) -> str:
    fields = {"first_name": "Mia", "last_name": "Hand", "school": SCHOOL, "grade": "3"}
    fields.update(over)
    return manual.add(con, DISTRICT_ID, manual.NewStudent(**fields), by="Ana").record_id


@pytest.mark.parametrize("all_records", [True, False])
def test_a_student_added_by_hand_survives_syncs(fresh_db, all_records):
    day1 = seeded(fresh_db, Parameters(all_records_processing=all_records))
    record_id = add_by_hand(fresh_db, dob="2016-02-11", state_id="HAND1")
    assert record_id.startswith("manual-")
    audit = fresh_db.execute("SELECT action, actor FROM audit ORDER BY logged_at").fetchall()
    assert ("add_student", "Ana") in audit
    for _day in (2, 3):
        result = synced(fresh_db, day1)
        assert not {r for r in changes(fresh_db, result.run_id) if r[1] == record_id}
        assert people.matches(fresh_db, result.run_id) == []
        merge.approve(fresh_db, result.run_id)
    assert rows_of(fresh_db, "students")[record_id] == (False, "Mia")


def test_adding_by_hand_refuses_what_it_cannot_place(fresh_db):
    seeded(fresh_db)
    with pytest.raises(InputError, match="school"):
        add_by_hand(fresh_db, school="nope")
    with pytest.raises(InputError, match="grade"):
        add_by_hand(fresh_db, grade="Grade 3")
    with pytest.raises(InputError, match="date of birth"):
        add_by_hand(fresh_db, dob="31/12/2016")


def test_a_matching_synced_student_is_proposed_as_a_link_and_linking_keeps_history(fresh_db):
    day1 = seeded(fresh_db)
    record_id = add_by_hand(fresh_db, state_id="ST7")
    day2 = day1.copy()
    day2.students.append(student(7))  # state id ST7
    day2.sections[0]["students"].append(sid(7))
    result = synced(fresh_db, day2)
    [match] = people.matches(fresh_db, result.run_id)
    assert (match.kind, match.old_id, match.new_id, match.status, match.bases) == (
        "link",
        record_id,
        sid(7),
        "proposed",
        ["state_id"],
    )
    with pytest.raises(MergeRefused, match="link"):
        merge.approve(fresh_db, result.run_id)

    people.decide(fresh_db, result.run_id, old_id=record_id, new_id=sid(7), same=True, by="Ana")
    assert ("students", sid(7), "linked", "id", record_id, sid(7)) in changes(
        fresh_db, result.run_id
    )
    merge.approve(fresh_db, result.run_id, by="Ana")
    # The synced id carries the hand-added version, then the synced one; no duplicate.
    assert [v[0] for v in history(fresh_db, "students", sid(7))] == [2, 3]
    assert record_id not in rows_of(fresh_db, "students")
    manual_now = fresh_db.execute(
        "SELECT manual FROM roster_students WHERE id = ? AND valid_to IS NULL", [sid(7)]
    ).fetchone()
    assert manual_now == (False,)


def test_keep_both_adds_the_synced_student_beside_the_one_added_by_hand(fresh_db):
    day1 = seeded(fresh_db)
    record_id = add_by_hand(fresh_db, first_name="First7", last_name="Last7", dob="2016-02-11")
    day2 = day1.copy()
    day2.students.append(student(7, roles__student__dob="02/11/2016"))  # the same day
    day2.sections[0]["students"].append(sid(7))
    result = synced(fresh_db, day2)
    [match] = people.matches(fresh_db, result.run_id)
    assert match.bases == ["name_dob"]
    people.decide(fresh_db, result.run_id, old_id=record_id, new_id=sid(7), same=False)
    assert ("students", sid(7), "added", None, None, None) in changes(fresh_db, result.run_id)
    merge.approve(fresh_db, result.run_id)
    assert {record_id, sid(7)} <= set(rows_of(fresh_db, "students"))


def test_a_synced_student_who_matches_nobody_is_simply_added(fresh_db):
    day1 = seeded(fresh_db)
    add_by_hand(fresh_db, state_id="HAND1", dob="1/1/2015")
    day2 = day1.copy()
    day2.students.append(student(7))
    day2.sections[0]["students"].append(sid(7))
    result = synced(fresh_db, day2)
    assert people.matches(fresh_db, result.run_id) == []
    merge.approve(fresh_db, result.run_id)


def test_undo_removes_a_student_added_by_hand(fresh_db):
    seeded(fresh_db)
    record_id = add_by_hand(fresh_db)
    merge.undo(fresh_db, DISTRICT_ID)
    assert record_id not in rows_of(fresh_db, "students")


# --- All Records Processing and class memberships ---------------------------------------------


def _moved_and_gone(day1: District) -> District:
    """Student 2 moves from section 1 to a new section 2; student 5 is absent from the sync."""
    day2 = day1.copy()
    day2.students = [s for s in day2.students if s["id"] != sid(5)]
    day2.sections[0]["students"] = [sid(n) for n in (1, 3, 4, 6)]
    day2.sections.append(section(2, students=[2]))
    return day2


@pytest.mark.parametrize("all_records", [True, False])
def test_memberships_of_present_students_follow_the_sync(fresh_db, all_records):
    day1 = seeded(fresh_db, Parameters(all_records_processing=all_records))
    result = synced(fresh_db, _moved_and_gone(day1))
    s1, s2 = day1.sections[0]["id"], section(2, students=[])["id"]
    found = {(r[1], r[2]) for r in changes(fresh_db, result.run_id, "enrollments")}
    gone = "archived" if all_records else "absent"
    assert found == {
        (f"{s1}:{sid(2)}:student", "archived"),  # present student: follows the sync
        (f"{s2}:{sid(2)}:student", "added"),
        (f"{s2}:{teacher(1)['id']}:teacher", "added"),
        (f"{s1}:{sid(5)}:student", gone),  # absent student: archived only with ARP
    }
    assert (sid(5), gone) in {(r[1], r[2]) for r in changes(fresh_db, result.run_id)}
    merge.approve(fresh_db, result.run_id, confirm_guards=True)
    live = {k for k, (archived, _) in rows_of(fresh_db, "enrollments").items() if not archived}
    assert f"{s1}:{sid(2)}:student" not in live
    assert (f"{s1}:{sid(5)}:student" in live) is not all_records
    assert rows_of(fresh_db, "students")[sid(5)][0] is all_records


# --- duplicate people -------------------------------------------------------------------------


def issues(con, run_id: int) -> set[tuple]:
    return set(
        con.execute(
            """SELECT "check", severity, record_id FROM issues WHERE run_id = ?
               AND "check" LIKE 'duplicate_%'""",
            [run_id],
        ).fetchall()
    )


def test_duplicate_people_in_one_sync(fresh_db):
    parameters.save(fresh_db, DISTRICT_ID, Parameters())
    district = small_district(6)
    district.find("students", sid(2))["roles"]["student"]["state_id"] = "ST1"
    district.find("students", sid(4))["roles"]["student"]["student_number"] = "1003"
    district.find("students", sid(6))["name"] = {"first": "first5 ", "last": "LAST5"}
    result = synced(fresh_db, district)
    assert issues(fresh_db, result.run_id) == {
        ("duplicate_state_id", "error", sid(1)),
        ("duplicate_state_id", "error", sid(2)),
        ("duplicate_student_number", "warning", sid(3)),
        ("duplicate_student_number", "warning", sid(4)),
        ("duplicate_name_dob", "warning", sid(5)),
        ("duplicate_name_dob", "warning", sid(6)),
    }
    message = fresh_db.execute(
        """SELECT params FROM issues WHERE run_id = ? AND "check" = 'duplicate_state_id'
           AND record_id = ?""",
        [result.run_id, sid(1)],
    ).fetchone()
    assert sid(2) in message[0]


def test_a_clean_district_has_no_duplicate_people(fresh_db):
    parameters.save(fresh_db, DISTRICT_ID, Parameters())
    result = synced(fresh_db, small_district(6))
    assert issues(fresh_db, result.run_id) == set()


def test_duplicates_against_the_roster_but_not_a_rekey(fresh_db):
    day1 = seeded(fresh_db, Parameters(all_records_processing=False))
    add_by_hand(fresh_db, state_id="ST2")  # stays in the roster: student 2 duplicates it
    result = synced(fresh_db, rekeyed(day1, 3, 300))  # a re-key is not a duplicate
    assert issues(fresh_db, result.run_id) == {("duplicate_state_id", "error", sid(2))}


# --- the command line -------------------------------------------------------------------------


def test_students_on_the_command_line(file_db, capsys):
    import json

    from mgi_roster import cli

    path, con = file_db
    day1 = seeded(con)
    con.close()

    def run(*argv: str) -> dict:
        capsys.readouterr()
        assert cli.main(["--db", str(path), *argv, "--json"]) == 0
        return json.loads(capsys.readouterr().out)

    added = run("students", "add", "--district", DISTRICT_ID, "--first", "Mia", "--last",
                "Hand", "--school", SCHOOL, "--grade", "3", "--state-id", "ST7", "--by", "Ana")  # fmt: skip
    record_id = added["record_id"]
    from mgi_roster import store

    day2 = day1.copy()
    day2.students.append(student(7))
    day2.sections[0]["students"].append(sid(7))
    with store.opened(path) as c:
        run_id = synced(c, day2).run_id
    [match] = run("students", "matches", "--run", str(run_id))["matches"]
    assert (match["kind"], match["status"]) == ("link", "proposed")
    found = run("students", "link", "--run", str(run_id), "--manual", record_id, "--synced", sid(7))
    assert found["matches"][0]["status"] == "accepted"
    capsys.readouterr()
    assert cli.main(["--db", str(path), "export", "--run", str(run_id), "--what", "changes"]) == 0
    assert f"linked,id,{record_id},{sid(7)}" in capsys.readouterr().out
    assert cli.main(["--db", str(path), "students", "add", "--district", DISTRICT_ID, "--first",
                     "X", "--last", "Y", "--school", "nope", "--grade", "3"]) == 2  # fmt: skip


# --- the pages --------------------------------------------------------------------------------


def test_add_by_hand_then_link_on_the_pages(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from mgi_roster import store
    from tests.support import REPO

    path = tmp_path / "mgi.duckdb"
    monkeypatch.setenv("MGI_DB", str(path))
    monkeypatch.setattr("mgi_roster.settings.SECRETS_FILE", tmp_path / "no-secrets.toml")
    with store.opened(path) as con:
        day1 = seeded(con)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.session_state["district_id"] = DISTRICT_ID
    at.run()
    at.switch_page("app_pages/students.py").run()
    at.text_input(key="hand_first").input("Mia")
    at.text_input(key="hand_last").input("Hand")
    at.text_input(key="hand_state_id").input("ST7")
    at.selectbox(key="hand_grade").select("3")
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Added student manual-" in str(s.value) for s in at.success), [
        str(e.value) for e in at.error
    ]
    with store.opened(path) as con:
        [hand] = manual.listed(con, DISTRICT_ID)
        day2 = day1.copy()
        day2.students.append(student(7))
        day2.sections[0]["students"].append(sid(7))
        run_id = synced(con, day2).run_id
    at.switch_page("app_pages/changes.py").run()
    assert not at.exception, [e.value for e in at.exception]
    next(b for b in at.button if b.label == "Same person").click().run()
    assert not at.exception, [e.value for e in at.exception]
    with store.opened(path) as con:
        [match] = people.matches(con, run_id)
        assert (match.old_id, match.status) == (hand["record_id"], "accepted")


def test_duplicate_people_are_found_within_a_runs_memory_among_many_namesakes(tmp_path):
    """200,000 students in a run's file, thousands sharing a name and date of birth with
    another, checked under 40 MB: a list of every pair, ordered in memory, ran out (as a run's
    128 MB did on a million demo students); the records sharing a key are picked by an
    aggregation that spills."""
    path = tmp_path / "run.duckdb"
    con = store.connect(path)
    runfile.tune(con, path)
    con.execute(
        """INSERT INTO stg_students (run_id, district_id, id, first_name, last_name, dob, school)
           SELECT 1, 'd', 's' || i, 'First' || (hash(i) % 50), 'Last' || (hash(i + 1) % 50),
                  ((hash(i + 2) % 12) + 1) || '/' || ((hash(i + 3) % 28) + 1) || '/2015', 'sch'
           FROM range(200000) t(i)"""
    )
    for entity in checks.VALIDATED:
        findings.find_duplicates(con, 1, entity)
    con.execute("SET memory_limit = '40MB'")
    values = {"run": 1, "district": "d", "all_records": True}
    for statement in duplicates.statements():
        con.execute(statement, findings.bind(statement, values))
    con.execute("SET memory_limit = '1GB'")
    found = con.execute(
        """SELECT count(*) FROM issues WHERE "check" = 'duplicate_name_dob'"""
    ).fetchone()
    shared = con.execute(
        """SELECT count(*) FROM (SELECT first_name, last_name, dob FROM stg_students
           GROUP BY ALL HAVING count(*) > 1) g JOIN stg_students s USING (first_name, last_name, dob)"""
    ).fetchone()
    assert found is not None and shared is not None and found[0] == shared[0] > 30_000
    others = [
        [o["id"] for o in json.loads(row[0])["others"]]
        for row in con.execute(
            """SELECT params FROM issues WHERE "check" = 'duplicate_name_dob' LIMIT 1000"""
        ).fetchall()
    ]
    assert all(0 < len(ids) <= 5 and ids == sorted(ids) for ids in others)
    con.close()
