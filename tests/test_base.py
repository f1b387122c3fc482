"""The roster a run starts from, kept as a file by each merge (staging/base.py).

The promise: the base a merge leaves holds exactly the roster it made (the current rows, and
the rows the merge saw, shaped as staged rows), whether the merge wrote its own rows into the
previous base or built it again; a run copies it only when it is the roster as it is now; a
base that cannot be written never fails the merge.
"""

from __future__ import annotations

import duckdb
import pytest

from mgi_roster import parameters
from mgi_roster.entities import ENTITIES
from mgi_roster.parameters import Parameters
from mgi_roster.review.validation import carry
from mgi_roster.roster import manual, merge, sql
from mgi_roster.roster.versions import stamp
from mgi_roster.staging import base
from tests.support import DISTRICT_ID, Feed, events_between, school
from tests.test_events import START, changes, day_one, day_two, issues, sync


def differences(con: duckdb.DuckDBPyConnection, district_id: str) -> dict[str, int]:
    """Rows in the district's base and not in the roster, or the other way round, per table
    (empty: the base holds the roster as it is now)."""
    file = base.path(con, district_id)
    assert file is not None and file.is_file()
    found = {}
    con.execute(f"ATTACH '{file}' AS b (READ_ONLY)")
    try:
        for entity in ENTITIES:
            names = ", ".join(sql.q(c) for c in entity.column_names)
            pairs = {
                sql.roster_table(entity): sql.current(entity),
                base.seen_table(entity): (f"(SELECT district_id, {names} FROM {sql.seen(entity)})"),
            }
            for table, rows in pairs.items():
                for query in (
                    f"SELECT * FROM b.{table} EXCEPT ALL SELECT * FROM {rows}",
                    f"SELECT * FROM {rows} EXCEPT ALL SELECT * FROM b.{table}",
                ):
                    n = con.execute(
                        f"SELECT count(*) FROM ({query})", {"district": district_id}
                    ).fetchone()[0]
                    if n:
                        found[table] = found.get(table, 0) + n
        carried = ", ".join(f"'{e.name}'" for e in carry.FIELDS_CARRIED)
        latest = f"""(SELECT * FROM issues WHERE run_id = {sql.latest_merge_run()}
            AND entity IN ({carried}) AND record_id IS NOT NULL)"""
        for query in (
            f"SELECT * FROM b.{carry.PREVIOUS_ISSUES} EXCEPT ALL SELECT * FROM {latest}",
            f"SELECT * FROM {latest} EXCEPT ALL SELECT * FROM b.{carry.PREVIOUS_ISSUES}",
        ):
            n = con.execute(f"SELECT count(*) FROM ({query})", {"district": district_id}).fetchone()
            if n[0]:
                found[carry.PREVIOUS_ISSUES] = found.get(carry.PREVIOUS_ISSUES, 0) + n[0]
        row = con.execute(f"SELECT district_id, stamp FROM b.{base.STAMP}").fetchone()
        if tuple(row) != (district_id, stamp(con, district_id)):
            found[base.STAMP] = 1
    finally:
        con.execute("DETACH b")
    return found


@pytest.fixture
def store_and_day_one(file_db, monkeypatch):
    """A store in a file, day one synced and approved; records what each run's copy found."""
    _path, con = file_db
    copies: list[bool] = []
    copy = base.copy_current

    def recorded(*args, **kwargs):
        copies.append(copy(*args, **kwargs))
        return copies[-1]

    monkeypatch.setattr(base, "copy_current", recorded)
    parameters.save(con, DISTRICT_ID, Parameters())
    d1 = day_one()
    feed = Feed(events=[START])
    merge.approve(con, sync(con, d1, feed).run_id)
    return con, d1, feed, copies


def test_a_merge_leaves_the_roster_it_made_and_the_next_run_starts_from_it(store_and_day_one):
    con, d1, feed, copies = store_and_day_one
    assert copies == [False]  # the first run: no base yet
    assert differences(con, DISTRICT_ID) == {}
    d2 = day_two(d1)
    feed.events += events_between(d1, d2)
    full = sync(con, d2, feed, full=True)
    incremental = sync(con, d2, feed)
    assert copies[1:] == [True, True]
    assert incremental.mode == "events"
    assert changes(con, incremental.run_id) == changes(con, full.run_id) != []
    assert issues(con, incremental.run_id) == issues(con, full.run_id)
    merge.approve(con, incremental.run_id, confirm_guards=True)
    assert differences(con, DISTRICT_ID) == {}  # written into the previous base


def test_after_an_undo_the_base_is_not_used_and_the_next_merge_builds_it_again(
    store_and_day_one,
):
    con, d1, feed, copies = store_and_day_one
    d2 = day_two(d1)
    feed.events += events_between(d1, d2)
    merge.approve(con, sync(con, d2, feed).run_id, confirm_guards=True)
    merge.undo(con, DISTRICT_ID)
    assert base.STAMP in differences(con, DISTRICT_ID)  # the roster moved back
    again = sync(con, d2, feed, full=True)
    assert copies[-1] is False
    merge.approve(con, again.run_id, confirm_guards=True)
    assert differences(con, DISTRICT_ID) == {}


def test_a_student_added_by_hand_makes_the_base_stale(store_and_day_one):
    con, d1, feed, copies = store_and_day_one
    new = manual.NewStudent(first_name="Mia", last_name="Hand", school=school(1)["id"], grade="3")
    manual.add(con, DISTRICT_ID, new, by="Ana")
    assert base.STAMP in differences(con, DISTRICT_ID)
    d2 = day_two(d1)
    feed.events += events_between(d1, d2)
    run = sync(con, d2, feed)
    assert copies[-1] is False and run.mode == "events"
    merge.approve(con, run.run_id, confirm_guards=True)
    assert differences(con, DISTRICT_ID) == {}


def test_a_base_of_another_format_is_not_used_and_the_next_merge_builds_it_again(
    store_and_day_one,
):
    con, d1, feed, copies = store_and_day_one
    file = base.path(con, DISTRICT_ID)
    assert file is not None
    with duckdb.connect(str(file)) as old:  # as an earlier release wrote it
        old.execute(f"UPDATE {base.STAMP} SET format = {base.FORMAT - 1}")
    d2 = day_two(d1)
    feed.events += events_between(d1, d2)
    run = sync(con, d2, feed)
    assert copies[-1] is False and run.mode == "events"  # the rows copied instead
    merge.approve(con, run.run_id, confirm_guards=True)
    assert differences(con, DISTRICT_ID) == {}
    with duckdb.connect(str(file), read_only=True) as new:
        assert new.execute(f"SELECT format FROM {base.STAMP}").fetchone() == (base.FORMAT,)


def test_a_base_that_cannot_be_written_never_fails_the_merge(store_and_day_one, monkeypatch):
    con, d1, feed, _copies = store_and_day_one
    d2 = day_two(d1)
    feed.events += events_between(d1, d2)
    run = sync(con, d2, feed)

    def broken(*_args):
        raise duckdb.IOException("disk full")

    monkeypatch.setattr(base, "_patch", broken)
    result = merge.approve(con, run.run_id, confirm_guards=True)
    assert result.version == 2
    file = base.path(con, DISTRICT_ID)
    assert file is not None and not file.exists()  # removed: runs copy the rows
    assert list(file.parent.glob("base-*.tmp*")) == []


def test_a_store_in_memory_keeps_no_base(fresh_db):
    assert base.path(fresh_db, DISTRICT_ID) is None
