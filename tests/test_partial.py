"""Partial approval (roster/partial.py): withhold records with errors or chosen ones, archive
nothing, waive an issue with a reason; dependants follow; the guards judge what merges."""

from __future__ import annotations

import json

import pytest

from mgi_roster import parameters
from mgi_roster.entities import BY_NAME
from mgi_roster.errors import InputError, MergeRefused
from mgi_roster.parameters import Parameters
from mgi_roster.roster import merge, partial, sql
from mgi_roster.roster.partial import Selection, Waiver
from tests.support import DISTRICT_ID, hex_id, small_district, student, synced


def sid(n: int) -> str:
    return student(n)["id"]


def roster(con, entity: str = "students") -> dict[str, dict]:
    e = BY_NAME[entity]
    cur = con.execute(f"SELECT * FROM ({sql.current(e)})", {"district": DISTRICT_ID})
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    return {sql_id(e, r): r for r in rows}


def sql_id(entity, row: dict) -> str:
    return ":".join(str(row[k]) for k in entity.key)


def enrollment(section_n: int, student_n: int) -> str:
    return f"{hex_id('5e', section_n)}:{sid(student_n)}:student"


@pytest.fixture
def day2_with_errors(seeded_db):
    """The seeded district (10 students) on a day 2 with: student 3's grade changed (clean),
    student 4 with an impossible birth date (error), student 11 added without a last name
    (error) and enrolled, student 12 added (clean) and enrolled, student 7 withdrawn."""
    day2 = small_district(10)
    day2.find("students", sid(3))["roles"]["student"]["grade"] = "4"
    day2.find("students", sid(4))["roles"]["student"]["dob"] = "2/30/2016"
    day2.students = [s for s in day2.students if s["id"] != sid(7)]
    day2.sections[0]["students"].remove(sid(7))
    day2.students.append(student(11, name={"first": "First11"}))
    day2.students.append(student(12))
    day2.sections[0]["students"] += [sid(11), sid(12)]
    result = synced(seeded_db, day2)
    assert result.issues["error"] == 2, result.issues
    return seeded_db, result.run_id


def test_errors_block_a_whole_approval(day2_with_errors):
    con, run_id = day2_with_errors
    with pytest.raises(MergeRefused, match="exclude-errors"):
        merge.approve(con, run_id, by="Ana")


def test_exclude_errors_merges_every_clean_record_and_none_with_an_error(day2_with_errors):
    con, run_id = day2_with_errors
    before = roster(con)
    result = merge.approve(con, run_id, by="Ana", selection=Selection(exclude_errors=True))
    after = roster(con)
    assert after[sid(3)]["grade"] == "4"  # clean update merged
    assert sid(12) in after  # clean addition merged
    assert after[sid(7)]["archived"]  # clean archive merged
    assert after[sid(4)]["dob"] == before[sid(4)]["dob"] == "2/11/2016"  # withheld: as it was
    assert sid(11) not in after  # withheld addition
    enrolled = roster(con, "enrollments")
    assert enrollment(1, 12) in enrolled
    assert enrollment(1, 11) not in enrolled  # the withheld student's enrollment is withheld
    assert result.withheld == {"error": 2, "dependant": 1}
    assert result.counts["students"]["added"] == 1
    assert result.counts["students"]["updated"] == 1

    withheld = {(w["record_id"], w["reason"]) for w in partial.withheld_of(con, run_id)}
    assert withheld == {
        (sid(4), "error"),
        (sid(11), "error"),
        (enrollment(1, 11), "dependant"),
    }
    (detail,) = con.execute(
        "SELECT detail FROM audit WHERE run_id = ? AND action = 'approve'", [run_id]
    ).fetchone()
    detail = json.loads(detail)
    assert detail["partial"]["exclude_errors"] is True
    named = {(w["record_id"], w["reason"], w["detail"]) for w in detail["withheld"]}
    assert (sid(4), "error", "dob_date") in named
    assert (enrollment(1, 11), "dependant", f"students {sid(11)}") in named


def test_a_waiver_needs_a_reason_and_is_audited_with_who_and_why(day2_with_errors):
    con, run_id = day2_with_errors
    with pytest.raises(InputError, match="needs a reason"):
        merge.approve(
            con, run_id, by="Ana", selection=Selection(waivers=(Waiver("dob_date", None, " "),))
        )
    with pytest.raises(InputError, match="no nonexistent_check issue"):
        merge.approve(
            con,
            run_id,
            selection=Selection(waivers=(Waiver("nonexistent_check", None, "because"),)),
        )
    waiver = Waiver.parse(f"dob_date:{sid(4)}", "Birth date confirmed with the family")
    # The waiver alone leaves student 11's error: still blocked.
    with pytest.raises(MergeRefused, match="1 error"):
        merge.approve(con, run_id, by="Ana", selection=Selection(waivers=(waiver,)))
    result = merge.approve(
        con,
        run_id,
        by="Ana",
        selection=Selection(exclude_errors=True, waivers=(waiver,)),
    )
    assert roster(con)[sid(4)]["dob"] == "2/30/2016"  # merged despite its issue
    assert result.withheld == {"error": 1, "dependant": 1}
    (actor, detail) = con.execute(
        "SELECT actor, detail FROM audit WHERE run_id = ? AND action = 'waive'", [run_id]
    ).fetchone()
    assert actor == "Ana"
    assert json.loads(detail) == {
        "check": "dob_date",
        "record_id": sid(4),
        "reason": "Birth date confirmed with the family",
    }


def test_exclude_chosen_records_and_no_archive(day2_with_errors):
    con, run_id = day2_with_errors
    selection = Selection(exclude_errors=True, exclude=(sid(3),), no_archive=True)
    merge.approve(con, run_id, by="Ana", selection=selection)
    after = roster(con)
    assert after[sid(3)]["grade"] == "3"  # excluded: as it was
    assert not after[sid(7)]["archived"]  # nothing archived
    assert enrollment(1, 7) in roster(con, "enrollments")
    reasons = {w["record_id"]: w["reason"] for w in partial.withheld_of(con, run_id)}
    assert reasons[sid(3)] == "excluded"
    assert reasons[sid(7)] == "no_archive"
    assert reasons[enrollment(1, 7)] in ("no_archive", "dependant")


def test_an_unknown_record_cannot_be_excluded(day2_with_errors):
    con, run_id = day2_with_errors
    with pytest.raises(InputError, match="no change or issue of record nope"):
        merge.approve(con, run_id, selection=Selection(exclude_errors=True, exclude=("nope",)))


def test_a_withheld_section_keeps_its_old_enrollments(seeded_db):
    day2 = small_district(10)
    day2.sections[0]["students"].remove(sid(2))  # leaves the section
    day2.sections[0]["name"] = "Math 1 (renamed)"
    run_id = synced(seeded_db, day2).run_id
    section_id = day2.sections[0]["id"]
    merge.approve(seeded_db, run_id, selection=Selection(exclude=(section_id,)))
    assert roster(seeded_db, "sections")[section_id]["name"] == "Math 1"
    assert enrollment(1, 2) in roster(seeded_db, "enrollments")
    assert not roster(seeded_db, "enrollments")[enrollment(1, 2)]["archived"]


def test_the_guards_judge_what_is_merged(fresh_db):
    parameters.save(fresh_db, DISTRICT_ID, Parameters(archive_threshold_pct=10))
    seed_run = synced(fresh_db, small_district(10)).run_id
    merge.approve(fresh_db, seed_run)
    day2 = small_district(10)
    day2.students = day2.students[:7]  # 3 of 10 withdrawn: 30 % archived, above 10 %
    day2.sections[0]["students"] = day2.sections[0]["students"][:7]
    result = synced(fresh_db, day2)
    assert result.status == "held"
    with pytest.raises(MergeRefused, match="held by its guards"):
        merge.approve(fresh_db, result.run_id)
    run = merge.load_run(fresh_db, result.run_id)
    found = partial.plan(fresh_db, run, Selection(no_archive=True))
    assert found.guards == []
    assert merge.approval_blockers(fresh_db, run, plan=found) == []
    merged = merge.approve(fresh_db, result.run_id, selection=Selection(no_archive=True))
    assert merged.counts["students"]["archived"] == 0
    assert not any(r["archived"] for r in roster(fresh_db).values())


def test_the_plan_says_what_will_and_will_not_merge(day2_with_errors):
    con, run_id = day2_with_errors
    found = partial.plan(con, merge.load_run(con, run_id), Selection(exclude_errors=True))
    assert found.unresolved_errors == 0
    assert found.summary() == (
        "5 changes will merge; 2 records withheld for errors; "
        "1 record withheld with a withheld record they depend on."
    )
    assert {w.sentence() for w in found.withheld if w.reason == "dependant"} == {
        f"withheld with student {sid(11)}, which was withheld"
    }
    # Nothing was written: the plan is a preview.
    assert con.execute("SELECT count(*) FROM run_withheld").fetchone()[0] == 0
