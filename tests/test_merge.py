"""Diff, guards, Approve, Reject and Undo on small districts served like Clever."""

from __future__ import annotations

import pytest

from mgi_roster import parameters
from mgi_roster.entities import BY_NAME, ENTITIES
from mgi_roster.errors import MergeRefused
from mgi_roster.parameters import Parameters
from mgi_roster.roster import merge, sql, versions
from tests.support import (
    DISTRICT_ID,
    hex_id,
    roster_snapshot,
    school,
    small_district,
    student,
    synced,
)


def changes(con, run_id: int) -> set[tuple]:
    rows = con.execute(
        "SELECT entity, record_id, change, field, before, after FROM changes WHERE run_id = ?",
        [run_id],
    ).fetchall()
    return set(rows)


def current(con, entity: str = "students") -> dict[str, tuple]:
    rows = con.execute(
        f"SELECT id, archived, first_seen_run, last_seen_run FROM ({sql.as_of(BY_NAME[entity])})",
        {"district": DISTRICT_ID},
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


def sid(n: int) -> str:
    return student(n)["id"]


def test_first_sync_adds_everything_and_trips_no_guard(fresh_db):
    parameters.save(fresh_db, DISTRICT_ID, Parameters())
    result = synced(fresh_db, small_district(10))
    assert result.status == "staged"
    assert result.guards == []
    assert result.changes["students"]["added"] == 10
    assert result.changes["enrollments"]["added"] == 11  # 10 students + 1 teacher
    merged = merge.approve(fresh_db, result.run_id, by="Ana")
    assert merged.version == 1
    assert len(current(fresh_db)) == 10
    assert all(not archived for archived, *_ in current(fresh_db).values())


def test_exact_diff_on_a_two_day_district(seeded_db):
    day2 = small_district(10)  # day 1, the seeded roster, changed:
    day2.find("students", sid(3))["roles"]["student"]["grade"] = "4"
    day2.find("students", sid(5))["name"]["last"] = "Nguyễn-O'Brien"
    day2.students = [s for s in day2.students if s["id"] != sid(7)]
    day2.sections[0]["students"].remove(sid(7))
    day2.students.append(student(11))
    day2.sections[0]["students"].append(sid(11))
    section_id = day2.sections[0]["id"]

    result = synced(seeded_db, day2)
    assert changes(seeded_db, result.run_id) == {
        ("students", sid(3), "updated", "grade", "3", "4"),
        ("students", sid(5), "updated", "last_name", "Last5", "Nguyễn-O'Brien"),
        ("students", sid(7), "archived", None, None, None),
        ("students", sid(11), "added", None, None, None),
        ("enrollments", f"{section_id}:{sid(7)}:student", "archived", None, None, None),
        ("enrollments", f"{section_id}:{sid(11)}:student", "added", None, None, None),
    }
    assert result.changes["students"] == {
        "added": 1,
        "updated": 2,
        "archived": 1,
        "restored": 0,
        "unchanged": 7,
    }


def test_approve_is_atomic(seeded_db):
    day2 = small_district(12)
    run_id = synced(seeded_db, day2).run_id
    before = roster_snapshot(seeded_db)

    calls = []

    def fail_midway(progress: merge.MergeProgress) -> None:
        calls.append(progress.entity)
        if progress.entity == "sections":  # after schools, terms, courses, teachers, students
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        merge.approve(seeded_db, run_id, progress=fail_midway)
    assert "students" in calls  # students had been merged when it failed
    assert roster_snapshot(seeded_db) == before
    assert (
        seeded_db.execute("SELECT status FROM runs WHERE run_id = ?", [run_id]).fetchone()[0]
        == "staged"
    )
    assert versions.current_version(seeded_db, DISTRICT_ID) == 1


def test_approve_reports_each_entity_then_the_commit_inside_its_transaction(seeded_db):
    run_id = synced(seeded_db, small_district(11)).run_id
    reports: list[tuple[merge.MergeProgress, str]] = []

    def watch(progress: merge.MergeProgress) -> None:
        status = seeded_db.execute("SELECT status FROM runs WHERE run_id = ?", [run_id]).fetchone()
        reports.append((progress, status[0]))

    merged = merge.approve(seeded_db, run_id, progress=watch)
    steps = len(ENTITIES)
    assert [p for p, _ in reports] == [
        *(merge.MergeProgress(n, steps, e.name) for n, e in enumerate(ENTITIES, start=1)),
        merge.MergeProgress(steps, steps, None, done=True),
    ]
    # the last report comes once everything is written, before the commit makes it so
    assert [status for _, status in reports] == ["staged"] * steps + ["merged"]
    assert merged.version == 2


def test_mass_absence_is_held_until_guards_are_confirmed(seeded_db):
    day2 = small_district(10)
    missing = {sid(n) for n in (1, 2, 3, 4)}  # 40 %
    day2.students = [s for s in day2.students if s["id"] not in missing]
    day2.sections[0]["students"] = [s for s in day2.sections[0]["students"] if s not in missing]
    result = synced(seeded_db, day2)
    assert result.status == "held"
    student_guard = next(g for g in result.guards if g["entity"] == "students")
    assert student_guard == {
        "entity": "students",
        "kind": "archive",
        "pct": 40.0,
        "threshold": 10.0,
        "count": 4,
        "total": 10,
    }

    with pytest.raises(MergeRefused, match="held by its guards"):
        merge.approve(seeded_db, result.run_id)
    assert len([a for a, *_ in current(seeded_db).values() if not a]) == 10  # nothing written

    merged = merge.approve(seeded_db, result.run_id, confirm_guards=True, by="Ana")
    assert merged.version == 2
    archived = {k for k, (a, *_) in current(seeded_db).items() if a}
    assert archived == missing


def test_a_school_no_longer_shared_holds_the_run_and_is_named(fresh_db):
    parameters.save(fresh_db, DISTRICT_ID, Parameters())
    day1 = small_district(10)
    day1.schools.append(school(2, name="Lincoln Elementary"))
    for s in day1.students[8:]:
        s["roles"]["student"]["school"] = s["roles"]["student"]["schools"][0] = hex_id("5c", 2)
    merge.approve(fresh_db, synced(fresh_db, day1).run_id)

    day2 = small_district(10)  # school 2 is gone, with its two students
    day2.students = day2.students[:8]
    day2.sections[0]["students"] = day2.sections[0]["students"][:8]
    result = synced(fresh_db, day2)
    assert result.status == "held"
    school_guard = next(g for g in result.guards if g["kind"] == "school_unshared")
    assert school_guard["record_id"] == hex_id("5c", 2) and school_guard["count"] == 2
    assert "school no longer shared: Lincoln Elementary" in result.message
    with pytest.raises(MergeRefused, match="held by its guards"):
        merge.approve(fresh_db, result.run_id)


def test_present_but_invalid_student_is_never_archived(seeded_db):
    day2 = small_district(10)
    day2.find("students", sid(4))["roles"]["student"]["dob"] = "2/30/2016"  # impossible: an error
    result = synced(seeded_db, day2)
    assert result.issues["error"] >= 1
    assert ("students", sid(4), "updated", "dob", "2/11/2016", "2/30/2016") in changes(
        seeded_db, result.run_id
    )
    assert not any(c[1] == sid(4) and c[2] == "archived" for c in changes(seeded_db, result.run_id))
    with pytest.raises(MergeRefused, match="error"):
        merge.approve(seeded_db, result.run_id)


def test_warning_level_invalid_student_is_merged_not_archived(seeded_db):
    day2 = small_district(10)
    day2.find("students", sid(4))["email"] = "not-an-email"
    result = synced(seeded_db, day2)
    assert result.issues["error"] == 0
    merge.approve(seeded_db, result.run_id)
    assert current(seeded_db)[sid(4)][0] is False
    email = seeded_db.execute(
        "SELECT email FROM roster_students WHERE id = ? AND valid_to IS NULL", [sid(4)]
    ).fetchone()
    assert email == ("not-an-email",)


def test_undo_restores_the_previous_roster_exactly(seeded_db):
    after_first = roster_snapshot(seeded_db)
    day2 = small_district(8)
    day2.find("students", sid(2))["name"]["first"] = "Zoë"
    day2.students.append(student(20))
    merge.approve(seeded_db, synced(seeded_db, day2).run_id, confirm_guards=True)
    assert roster_snapshot(seeded_db) != after_first

    undone = merge.undo(seeded_db, DISTRICT_ID, by="Ana")
    assert (undone.version, undone.restored_version) == (2, 1)
    assert roster_snapshot(seeded_db) == after_first
    audit = seeded_db.execute("SELECT action, actor FROM audit ORDER BY logged_at").fetchall()
    assert audit[-1] == ("undo", "Ana")


def test_first_and_last_seen(fresh_db):
    parameters.save(fresh_db, DISTRICT_ID, Parameters())
    first = synced(fresh_db, small_district(3)).run_id
    merge.approve(fresh_db, first)
    snapshot = roster_snapshot(fresh_db)
    second = synced(fresh_db, small_district(3)).run_id  # nothing changed
    merge.approve(fresh_db, second)
    assert roster_snapshot(fresh_db) == snapshot  # an unchanged sync writes no row
    assert {v[1:] for v in current(fresh_db).values()} == {(first, second)}
    merge.undo(fresh_db, DISTRICT_ID)
    assert roster_snapshot(fresh_db) == snapshot
    assert {v[1:] for v in current(fresh_db).values()} == {(first, first)}


def test_last_seen_of_absent_records_without_all_records_processing(fresh_db):
    parameters.save(fresh_db, DISTRICT_ID, Parameters(all_records_processing=False))
    first = synced(fresh_db, small_district(3)).run_id
    merge.approve(fresh_db, first)
    second = synced(fresh_db, small_district(2)).run_id  # student 3 absent, not archived
    merge.approve(fresh_db, second)
    third = synced(fresh_db, small_district(2)).run_id
    merge.approve(fresh_db, third)
    seen = current(fresh_db)
    assert seen[sid(3)] == (False, first, first)
    assert seen[sid(1)] == (False, first, third)
    back = synced(fresh_db, small_district(3)).run_id
    merge.approve(fresh_db, back)
    assert current(fresh_db)[sid(3)] == (False, first, back)


def test_roster_as_of_a_version(fresh_db):
    parameters.save(fresh_db, DISTRICT_ID, Parameters())
    merge.approve(fresh_db, synced(fresh_db, small_district(3)).run_id)
    day2 = small_district(3)
    day2.find("students", sid(1))["roles"]["student"]["grade"] = "5"
    merge.approve(fresh_db, synced(fresh_db, day2).run_id)
    grade = "SELECT grade FROM ({}) WHERE id = $id"
    v1 = fresh_db.execute(
        grade.format(sql.as_of(ENTITIES[4], 1)),
        {"district": DISTRICT_ID, "version": 1, "id": sid(1)},
    )
    assert v1.fetchone() == ("3",)
    now = fresh_db.execute(
        grade.format(sql.as_of(ENTITIES[4])), {"district": DISTRICT_ID, "id": sid(1)}
    )
    assert now.fetchone() == ("5",)


def test_all_records_processing_off_reports_absences_and_archives_nothing(fresh_db):
    parameters.save(fresh_db, DISTRICT_ID, Parameters(all_records_processing=False))
    merge.approve(fresh_db, synced(fresh_db, small_district(10)).run_id)
    day2 = small_district(5)
    result = synced(fresh_db, day2)
    assert result.status == "staged"  # absences are not archives: no guard
    absent = {
        c[1] for c in changes(fresh_db, result.run_id) if c[0] == "students" and c[2] == "absent"
    }
    assert absent == {sid(n) for n in range(6, 11)}
    assert result.changes["students"]["archived"] == 0
    merge.approve(fresh_db, result.run_id)
    assert not any(a for a, *_ in current(fresh_db).values())
    assert len(current(fresh_db)) == 10


def test_archived_record_returning_is_restored(seeded_db):
    merge.approve(
        seeded_db, synced(seeded_db, small_district(9)).run_id
    )  # student 10 archived (10 %: no guard)
    assert current(seeded_db)[sid(10)][0] is True
    result = synced(seeded_db, small_district(10))
    assert ("students", sid(10), "restored", None, None, None) in changes(seeded_db, result.run_id)
    merge.approve(seeded_db, result.run_id)
    assert current(seeded_db)[sid(10)][0] is False


def test_approving_twice_merges_once(fresh_db):
    parameters.save(fresh_db, DISTRICT_ID, Parameters())
    run_id = synced(fresh_db, small_district(3)).run_id
    first = merge.approve(fresh_db, run_id)
    snapshot = roster_snapshot(fresh_db)
    again = merge.approve(fresh_db, run_id)
    assert again.already_merged and again.version == first.version
    assert roster_snapshot(fresh_db) == snapshot
    assert fresh_db.execute("SELECT count(*) FROM merges WHERE kind = 'merge'").fetchone() == (1,)


def test_only_the_newest_run_can_be_approved(fresh_db):
    parameters.save(fresh_db, DISTRICT_ID, Parameters())
    older = synced(fresh_db, small_district(3)).run_id
    newer = synced(fresh_db, small_district(4)).run_id
    with pytest.raises(MergeRefused, match="not the district's newest run"):
        merge.approve(fresh_db, older)
    merge.approve(fresh_db, newer)


def test_run_diffed_before_the_roster_changed_is_stale(fresh_db):
    parameters.save(fresh_db, DISTRICT_ID, Parameters())
    merge.approve(fresh_db, synced(fresh_db, small_district(3)).run_id)
    merge.approve(fresh_db, synced(fresh_db, small_district(4)).run_id)
    pending = synced(fresh_db, small_district(5)).run_id
    merge.undo(fresh_db, DISTRICT_ID)  # the roster moved under the pending run
    with pytest.raises(MergeRefused, match="roster changed"):
        merge.approve(fresh_db, pending)


def test_reject_keeps_the_run_in_history(fresh_db):
    parameters.save(fresh_db, DISTRICT_ID, Parameters())
    run_id = synced(fresh_db, small_district(3)).run_id
    merge.reject(fresh_db, run_id, by="Ana")
    status = fresh_db.execute(
        "SELECT status, decided_by FROM runs WHERE run_id = ?", [run_id]
    ).fetchone()
    assert status == ("rejected", "Ana")
    assert current(fresh_db) == {}
    with pytest.raises(MergeRefused):
        merge.approve(fresh_db, run_id)


def test_costly_quality_figures_follow_every_merge_and_undo(seeded_db):
    from mgi_roster import views
    from mgi_roster.roster import quality

    def figures() -> list[tuple[int, int]]:
        stamp = views.roster_stamp(seeded_db, DISTRICT_ID)
        cached = quality.students_per_teacher(seeded_db, DISTRICT_ID, stamp)
        seeded_db.execute("DELETE FROM quality_cache")  # the live computation must agree
        assert quality.students_per_teacher(seeded_db, DISTRICT_ID, stamp) == cached
        quality.refresh(seeded_db, DISTRICT_ID, stamp)
        return cached

    assert figures() == [(10, 1)]
    merge.approve(seeded_db, synced(seeded_db, small_district(4)).run_id, confirm_guards=True)
    assert figures() == [(4, 1)]
    merge.undo(seeded_db, DISTRICT_ID)
    assert figures() == [(10, 1)]
    assert views.students_per_teacher(seeded_db, DISTRICT_ID).values.tolist() == [[10, 1]]
