"""Diff, guards, Approve, Reject and Undo on small districts served like Clever."""

from __future__ import annotations

import pytest
import responses

from mgi_roster import parameters, store
from mgi_roster.entities import BY_NAME, ENTITIES
from mgi_roster.errors import MergeRefused
from mgi_roster.parameters import Parameters
from mgi_roster.roster import merge, sql, versions
from mgi_roster.sync import SyncResult, run_sync
from tests.builders import DISTRICT_ID, SETTINGS, District, serve, small_district, student


@pytest.fixture
def con():
    con = store.connect(":memory:")
    parameters.save(con, DISTRICT_ID, Parameters())
    yield con
    con.close()


def sync(con, district: District) -> SyncResult:
    with responses.RequestsMock() as rsps:
        serve(district, rsps)
        result = run_sync(con, DISTRICT_ID, settings=SETTINGS)
    assert result.ok, result.message
    return result


def changes(con, run_id: int) -> set[tuple]:
    rows = con.execute(
        "SELECT entity, record_id, change, field, before, after FROM changes WHERE run_id = ?",
        [run_id],
    ).fetchall()
    return set(rows)


def roster_snapshot(con) -> dict[str, list[tuple]]:
    """Every roster table, whole (all versions), in a stable order."""
    return {
        e.name: con.execute(f"SELECT * FROM roster_{e.name} ORDER BY ALL").fetchall()
        for e in ENTITIES
    }


def current(con, entity: str = "students") -> dict[str, tuple]:
    rows = con.execute(
        f"SELECT id, archived, first_seen_run, last_seen_run FROM ({sql.as_of(BY_NAME[entity])})",
        {"district": DISTRICT_ID},
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


def sid(n: int) -> str:
    return student(n)["id"]


def test_first_sync_adds_everything_and_trips_no_guard(con):
    result = sync(con, small_district(10))
    assert result.status == "staged"
    assert result.guards == []
    assert result.changes["students"]["added"] == 10
    assert result.changes["enrollments"]["added"] == 11  # 10 students + 1 teacher
    merged = merge.approve(con, result.run_id, by="Ana")
    assert merged.version == 1
    assert len(current(con)) == 10
    assert all(not archived for archived, *_ in current(con).values())


def test_exact_diff_on_a_two_day_district(con):
    day1 = small_district(10)
    merge.approve(con, sync(con, day1).run_id)

    day2 = day1.copy()
    day2.find("students", sid(3))["roles"]["student"]["grade"] = "4"
    day2.find("students", sid(5))["name"]["last"] = "Nguyễn-O'Brien"
    day2.students = [s for s in day2.students if s["id"] != sid(7)]
    day2.sections[0]["students"].remove(sid(7))
    day2.students.append(student(11))
    day2.sections[0]["students"].append(sid(11))
    section_id = day2.sections[0]["id"]

    result = sync(con, day2)
    assert changes(con, result.run_id) == {
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


def test_approve_is_atomic(con, monkeypatch):
    merge.approve(con, sync(con, small_district(10)).run_id)
    day2 = small_district(12)
    run_id = sync(con, day2).run_id
    before = roster_snapshot(con)

    calls = []
    real = merge._merge_entity

    def fail_midway(con_, entity, *args):
        calls.append(entity.name)
        if entity.name == "sections":  # after schools, terms, courses, teachers, students
            raise RuntimeError("disk full")
        real(con_, entity, *args)

    monkeypatch.setattr(merge, "_merge_entity", fail_midway)
    with pytest.raises(RuntimeError):
        merge.approve(con, run_id)
    assert "students" in calls  # students had been merged when it failed
    assert roster_snapshot(con) == before
    assert (
        con.execute("SELECT status FROM runs WHERE run_id = ?", [run_id]).fetchone()[0] == "staged"
    )
    assert versions.current_version(con, DISTRICT_ID) == 1


def test_mass_absence_is_held_until_guards_are_confirmed(con):
    merge.approve(con, sync(con, small_district(10)).run_id)
    day2 = small_district(10)
    missing = {sid(n) for n in (1, 2, 3, 4)}  # 40 %
    day2.students = [s for s in day2.students if s["id"] not in missing]
    day2.sections[0]["students"] = [s for s in day2.sections[0]["students"] if s not in missing]
    result = sync(con, day2)
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
        merge.approve(con, result.run_id)
    assert len([a for a, *_ in current(con).values() if not a]) == 10  # nothing written

    merged = merge.approve(con, result.run_id, confirm_guards=True, by="Ana")
    assert merged.version == 2
    archived = {k for k, (a, *_) in current(con).items() if a}
    assert archived == missing


def test_present_but_invalid_student_is_never_archived(con):
    merge.approve(con, sync(con, small_district(10)).run_id)
    day2 = small_district(10)
    day2.find("students", sid(4))["roles"]["student"]["dob"] = "2/30/2016"  # impossible: an error
    result = sync(con, day2)
    assert result.issues["error"] >= 1
    assert ("students", sid(4), "updated", "dob", "2/11/2016", "2/30/2016") in changes(
        con, result.run_id
    )
    assert not any(c[1] == sid(4) and c[2] == "archived" for c in changes(con, result.run_id))
    with pytest.raises(MergeRefused, match="error"):
        merge.approve(con, result.run_id)


def test_warning_level_invalid_student_is_merged_not_archived(con):
    merge.approve(con, sync(con, small_district(10)).run_id)
    day2 = small_district(10)
    day2.find("students", sid(4))["email"] = "not-an-email"
    result = sync(con, day2)
    assert result.issues["error"] == 0
    merge.approve(con, result.run_id)
    assert current(con)[sid(4)][0] is False
    email = con.execute(
        "SELECT email FROM roster_students WHERE id = ? AND valid_to IS NULL", [sid(4)]
    ).fetchone()
    assert email == ("not-an-email",)


def test_undo_restores_the_previous_roster_exactly(con):
    merge.approve(con, sync(con, small_district(10)).run_id)
    after_first = roster_snapshot(con)
    day2 = small_district(8)
    day2.find("students", sid(2))["name"]["first"] = "Zoë"
    day2.students.append(student(20))
    merge.approve(con, sync(con, day2).run_id, confirm_guards=True)
    assert roster_snapshot(con) != after_first

    undone = merge.undo(con, DISTRICT_ID, by="Ana")
    assert (undone.version, undone.restored_version) == (2, 1)
    assert roster_snapshot(con) == after_first
    audit = con.execute("SELECT action, actor FROM audit ORDER BY logged_at").fetchall()
    assert audit[-1] == ("undo", "Ana")


def test_first_and_last_seen(con):
    first = sync(con, small_district(3)).run_id
    merge.approve(con, first)
    snapshot = roster_snapshot(con)
    second = sync(con, small_district(3)).run_id  # nothing changed
    merge.approve(con, second)
    assert roster_snapshot(con) == snapshot  # an unchanged sync writes no row
    assert {v[1:] for v in current(con).values()} == {(first, second)}
    merge.undo(con, DISTRICT_ID)
    assert roster_snapshot(con) == snapshot
    assert {v[1:] for v in current(con).values()} == {(first, first)}


def test_last_seen_of_absent_records_without_all_records_processing(con):
    parameters.save(con, DISTRICT_ID, Parameters(all_records_processing=False))
    first = sync(con, small_district(3)).run_id
    merge.approve(con, first)
    second = sync(con, small_district(2)).run_id  # student 3 absent, not archived
    merge.approve(con, second)
    third = sync(con, small_district(2)).run_id
    merge.approve(con, third)
    seen = current(con)
    assert seen[sid(3)] == (False, first, first)
    assert seen[sid(1)] == (False, first, third)
    back = sync(con, small_district(3)).run_id
    merge.approve(con, back)
    assert current(con)[sid(3)] == (False, first, back)


def test_roster_as_of_a_version(con):
    merge.approve(con, sync(con, small_district(3)).run_id)
    day2 = small_district(3)
    day2.find("students", sid(1))["roles"]["student"]["grade"] = "5"
    merge.approve(con, sync(con, day2).run_id)
    grade = "SELECT grade FROM ({}) WHERE id = $id"
    v1 = con.execute(
        grade.format(sql.as_of(ENTITIES[4], 1)),
        {"district": DISTRICT_ID, "version": 1, "id": sid(1)},
    )
    assert v1.fetchone() == ("3",)
    now = con.execute(grade.format(sql.as_of(ENTITIES[4])), {"district": DISTRICT_ID, "id": sid(1)})
    assert now.fetchone() == ("5",)


def test_all_records_processing_off_reports_absences_and_archives_nothing(con):
    parameters.save(con, DISTRICT_ID, Parameters(all_records_processing=False))
    merge.approve(con, sync(con, small_district(10)).run_id)
    day2 = small_district(5)
    result = sync(con, day2)
    assert result.status == "staged"  # absences are not archives: no guard
    absent = {c[1] for c in changes(con, result.run_id) if c[0] == "students" and c[2] == "absent"}
    assert absent == {sid(n) for n in range(6, 11)}
    assert result.changes["students"]["archived"] == 0
    merge.approve(con, result.run_id)
    assert not any(a for a, *_ in current(con).values())
    assert len(current(con)) == 10


def test_archived_record_returning_is_restored(con):
    merge.approve(con, sync(con, small_district(10)).run_id)
    merge.approve(con, sync(con, small_district(9)).run_id)  # student 10 archived (10 %: no guard)
    assert current(con)[sid(10)][0] is True
    result = sync(con, small_district(10))
    assert ("students", sid(10), "restored", None, None, None) in changes(con, result.run_id)
    merge.approve(con, result.run_id)
    assert current(con)[sid(10)][0] is False


def test_approving_twice_merges_once(con):
    run_id = sync(con, small_district(3)).run_id
    first = merge.approve(con, run_id)
    snapshot = roster_snapshot(con)
    again = merge.approve(con, run_id)
    assert again.already_merged and again.version == first.version
    assert roster_snapshot(con) == snapshot
    assert con.execute("SELECT count(*) FROM merges WHERE kind = 'merge'").fetchone() == (1,)


def test_only_the_newest_run_can_be_approved(con):
    older = sync(con, small_district(3)).run_id
    newer = sync(con, small_district(4)).run_id
    with pytest.raises(MergeRefused, match="not the district's newest run"):
        merge.approve(con, older)
    merge.approve(con, newer)


def test_run_diffed_before_the_roster_changed_is_stale(con):
    merge.approve(con, sync(con, small_district(3)).run_id)
    merge.approve(con, sync(con, small_district(4)).run_id)
    pending = sync(con, small_district(5)).run_id
    merge.undo(con, DISTRICT_ID)  # the roster moved under the pending run
    with pytest.raises(MergeRefused, match="roster changed"):
        merge.approve(con, pending)


def test_reject_keeps_the_run_in_history(con):
    run_id = sync(con, small_district(3)).run_id
    merge.reject(con, run_id, by="Ana")
    status = con.execute(
        "SELECT status, decided_by FROM runs WHERE run_id = ?", [run_id]
    ).fetchone()
    assert status == ("rejected", "Ana")
    assert current(con) == {}
    with pytest.raises(MergeRefused):
        merge.approve(con, run_id)


def test_costly_quality_figures_follow_every_merge_and_undo(con):
    from mgi_roster import views
    from mgi_roster.roster import quality

    def figures() -> list[tuple[int, int]]:
        stamp = views.roster_stamp(con, DISTRICT_ID)
        cached = quality.students_per_teacher(con, DISTRICT_ID, stamp)
        con.execute("DELETE FROM quality_cache")  # the live computation must agree
        assert quality.students_per_teacher(con, DISTRICT_ID, stamp) == cached
        quality.refresh(con, DISTRICT_ID, stamp)
        return cached

    merge.approve(con, sync(con, small_district(10)).run_id)
    assert figures() == [(10, 1)]
    merge.approve(con, sync(con, small_district(4)).run_id, confirm_guards=True)
    assert figures() == [(4, 1)]
    merge.undo(con, DISTRICT_ID)
    assert figures() == [(10, 1)]
    assert views.students_per_teacher(con, DISTRICT_ID).values.tolist() == [[10, 1]]
