"""Incremental sync through Clever's Events API (sources/clever_events.py, staging/events.py).

The promise: an events run and a full run of the same day produce the same changes (entity,
record, kind, field, before, after), on the demo's days and on generated districts; replaying an
event changes nothing; the cursor advances only when a run merges; and every way the feed can
fail falls back to a full sync that says why.
"""

from __future__ import annotations

import contextlib
import json

import duckdb
import pytest
import responses

from mgi_roster import demo, districts, parameters
from mgi_roster.cli import main
from mgi_roster.demo import events as demo_events
from mgi_roster.parameters import Parameters
from mgi_roster.review import validation
from mgi_roster.review.validation import findings
from mgi_roster.roster import manual, merge
from mgi_roster.settings import CleverSettings
from mgi_roster.sources import clever_events
from mgi_roster.staging import events as staged_events
from mgi_roster.staging import runfile
from mgi_roster.store import execute
from mgi_roster.sync import SyncResult, run_sync
from tests.support import (
    DISTRICT_ID,
    SETTINGS,
    District,
    Feed,
    event,
    events_between,
    recorded_body,
    school,
    section,
    serve,
    small_district,
    student,
    teacher,
)

START = event(0, "districts.updated", {"id": DISTRICT_ID, "name": "Test district"})


def changes(con, run_id: int) -> list[tuple]:
    return con.execute(
        """SELECT entity, record_id, change, field, before, after FROM changes
           WHERE run_id = ? ORDER BY ALL""",
        [run_id],
    ).fetchall()


def issues(con, run_id: int) -> list[tuple]:
    """Every finding of a run, as the Validation page lists it."""
    return con.execute(
        """SELECT entity, record_id, field, "check", severity, value, params FROM issues
           WHERE run_id = ? ORDER BY ALL""",
        [run_id],
    ).fetchall()


def roster(con, district_id: str) -> list[tuple]:
    """The district's current roster, every entity, without the bookkeeping of versions."""
    from mgi_roster.entities import ENTITIES
    from mgi_roster.roster import sql

    rows = []
    for entity in ENTITIES:
        names = ", ".join(sql.q(c) for c in entity.column_names)
        rows += [
            (entity.name, *r)
            for r in con.execute(
                f"SELECT {names}, archived FROM {sql.roster_table(entity)} "
                "WHERE district_id = ? AND valid_to IS NULL ORDER BY ALL",
                [district_id],
            ).fetchall()
        ]
    return rows


def sync(con, district: District, feed: Feed, **kw) -> SyncResult:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        serve(district, rsps, events=feed)
        result = run_sync(con, DISTRICT_ID, settings=SETTINGS, **kw)
    assert result.ok, result.message
    return result


def day_one() -> District:
    d = small_district(12)
    d.schools.append(school(2))
    d.teachers.append(teacher(2, school_n=2))
    d.students += [student(n, school_n=2) for n in (21, 22, 23)]
    # Field findings on records no day-two event touches (an events run carries them over),
    # and on one it does (student 3's grade is updated; its finding is found again).
    d.find("students", student(7)["id"])["email"] = "not an address"
    d.find("students", student(8)["id"])["name"]["last"] = "L" * 300
    d.find("students", student(3)["id"])["name"]["first"] = "First\u00073"
    d.sections.append(section(2, students=[21, 22, 23], teacher_n=2, school_n=2))
    d.terms.append({"id": "7e" + "0" * 21 + "1", "name": "Fall", "start_date": "2025-08-20"})
    d.courses.append({"id": "c0" + "0" * 21 + "1", "name": "Math 3", "number": "M3"})
    return d


def day_two(d1: District) -> District:
    """Every kind of event: created, updated and deleted users, sections, schools, terms and
    courses; a section whose members change (enrollments); a user who loses a role."""
    d = d1.copy()
    d.find("students", student(3)["id"])["roles"]["student"]["grade"] = "4"
    d.students = [s for s in d.students if s["id"] != student(5)["id"]]
    d.students.append(student(30))
    d.sections[0]["students"] = [s for s in d.sections[0]["students"] if s != student(5)["id"]]
    d.sections[0]["students"].append(student(30)["id"])
    d.sections[0]["name"] = "Math 1 (renamed)"
    d.schools[1]["name"] = "School 2, renamed"
    d.sections = [s for s in d.sections if s["id"] != section(2, students=[])["id"]]
    d.sections.append(section(3, students=[21, 22], teacher_n=2, school_n=2))
    d.terms[0]["start_date"] = "2025-08-21T00:00:00.000Z"  # a timestamp: staged as a date
    d.courses.append({"id": "c0" + "0" * 21 + "2", "name": "Science 3", "number": "S3"})
    d.teachers.append(teacher(3))
    return d


@pytest.fixture
def merged_day_one(fresh_db):
    """Day one synced in full (its cursor recorded before the pull) and approved."""
    parameters.save(fresh_db, DISTRICT_ID, Parameters())
    d1 = day_one()
    feed = Feed(events=[START])
    first = sync(fresh_db, d1, feed)
    assert (first.mode, first.mode_reason) == ("full", "no_cursor")
    assert feed.requests[0] == "/v3.0/events?ending_before=last&limit=1"
    merge.approve(fresh_db, first.run_id)
    return fresh_db, d1, feed


def test_an_events_run_and_a_full_run_of_the_same_day_have_the_same_changes(merged_day_one):
    con, d1, feed = merged_day_one
    d2 = day_two(d1)
    feed.events += events_between(d1, d2)
    incremental = sync(con, d2, feed)
    assert (incremental.mode, incremental.mode_reason) == ("events", "events")
    assert incremental.events_applied == len(feed.events) - 1
    full = sync(con, d2, feed, full=True)
    assert (full.mode, full.mode_reason) == ("full", "requested")
    assert changes(con, incremental.run_id) == changes(con, full.run_id)
    assert incremental.changes == full.changes and incremental.counts == full.counts
    assert incremental.issues == full.issues
    assert issues(con, incremental.run_id) == issues(con, full.run_id)
    fields = {(e, r, c) for e, r, _f, c, *_ in issues(con, incremental.run_id)}
    assert {
        ("students", student(7)["id"], "email_format"),
        ("students", student(8)["id"], "long_value"),
        ("students", student(3)["id"], "control_characters"),
    } <= fields
    kinds = {(e, c) for e, _r, c, *_ in changes(con, full.run_id)}
    assert {("students", "added"), ("students", "archived"), ("students", "updated")} <= kinds
    assert {("sections", "added"), ("enrollments", "added"), ("enrollments", "archived")} <= kinds


def test_carried_findings_are_read_from_the_latest_merge_not_copied_into_the_run(merged_day_one):
    """The run's file holds its new findings; the latest merge's it carries are a view over that
    merge's findings, which the store receives with the others when the run is published."""
    con, d1, feed = merged_day_one
    d2 = day_two(d1)
    feed.events += events_between(d1, d2)
    run = sync(con, d2, feed)
    email = ("students", student(7)["id"], "email_format")  # carried: no event touches him
    control = ("students", student(3)["id"], "control_characters")  # found again: updated
    assert {email, control} <= {(e, r, c) for e, r, _f, c, *_ in issues(con, run.run_id)}
    path = runfile.file_of(con, run.run_id)
    assert path is not None
    with contextlib.closing(duckdb.connect(str(path), read_only=True)) as work:
        own = {(e, r, c) for e, r, _f, c, *_ in issues(work, run.run_id)}
        carried = work.execute(
            f'SELECT entity, record_id, "check" FROM {findings.CARRIED_VIEW} WHERE run_id = ?',
            [run.run_id],
        ).fetchall()
        assert control in own and email not in own
        assert email in carried and control not in carried
        assert validation.counts(work, run.run_id) == run.issues


def test_a_section_an_event_changes_is_checked_again_and_one_whose_members_moved_keeps_its_findings(
    fresh_db,
):
    con = fresh_db
    parameters.save(con, DISTRICT_ID, Parameters())
    d1 = day_one()
    d1.sections[0]["name"] = "Math\u00071"  # a finding on day one
    feed = Feed(events=[START])
    merge.approve(con, sync(con, d1, feed).run_id)
    d2 = d1.copy()
    d2.sections[0]["students"] = d2.sections[0]["students"][1:]  # only its members move
    d2.sections[1]["name"] = "Reading\u00072"  # its row changes: a new finding
    feed.events += events_between(d1, d2)
    incremental = sync(con, d2, feed)
    full = sync(con, d2, feed, full=True)
    assert incremental.mode == "events"
    assert issues(con, incremental.run_id) == issues(con, full.run_id)
    found = {(e, r, c) for e, r, _f, c, *_ in issues(con, incremental.run_id)}
    assert {
        ("sections", d2.sections[0]["id"], "control_characters"),
        ("sections", d2.sections[1]["id"], "control_characters"),
    } <= found


def test_an_events_run_proposes_the_re_keys_and_links_a_full_run_proposes(merged_day_one):
    """A student deleted and sent again under a new id (same SIS id: a re-key), and a student
    added by hand then sent by Clever (same state id: a link), found among the touched people."""
    con, d1, feed = merged_day_one
    new = manual.NewStudent(
        first_name="Hand", last_name="Made", school=school(1)["id"], grade="3", state_id="ST77"
    )
    manual.add(con, DISTRICT_ID, new, by="Ana")
    d2 = d1.copy()
    gone = d2.find("students", student(4)["id"])
    d2.students = [s for s in d2.students if s["id"] != gone["id"]]
    again = student(40)
    again["roles"]["student"]["sis_id"] = gone["roles"]["student"]["sis_id"]
    d2.students += [again, student(41, roles={"student": {"state_id": "ST77"}})]
    feed.events += events_between(d1, d2)
    full = sync(con, d2, feed, full=True)
    incremental = sync(con, d2, feed)
    assert incremental.mode == "events"

    def matches(run_id: int) -> list[tuple]:
        return con.execute(
            """SELECT entity, kind, old_id, new_id, bases, status FROM person_matches
               WHERE run_id = ? ORDER BY ALL""",
            [run_id],
        ).fetchall()

    found = matches(incremental.run_id)
    assert found == matches(full.run_id)
    assert {(kind, new_id) for _e, kind, _o, new_id, *_ in found} == {
        ("rekey", again["id"]),
        ("link", student(41)["id"]),
    }
    assert changes(con, incremental.run_id) == changes(con, full.run_id)


def test_replaying_events_changes_nothing(merged_day_one):
    con, d1, feed = merged_day_one
    d2 = day_two(d1)
    once = events_between(d1, d2, first=1)
    full = sync(con, d2, Feed(events=[START, *once]), full=True)
    # The same events twice over (and day one's state of some records before them).
    replayed = [START, *events_between(d2, d1, first=100), *events_between(d1, d2, first=200)]
    replayed += events_between(d1, d2, first=300)
    again = sync(con, d2, Feed(events=replayed))
    assert again.mode == "events"
    assert changes(con, again.run_id) == changes(con, full.run_id)


def test_the_cursor_advances_only_when_a_run_merges(merged_day_one):
    con, d1, feed = merged_day_one
    d2 = day_two(d1)
    feed.events += events_between(d1, d2)
    rejected = sync(con, d2, feed)
    merge.reject(con, rejected.run_id)
    retry = sync(con, d2, feed)
    assert con.execute(
        "SELECT events_from, events_cursor FROM runs WHERE run_id = ?", [retry.run_id]
    ).fetchone() == (START["id"], feed.events[-1]["id"])
    assert changes(con, retry.run_id) == changes(con, rejected.run_id)
    merge.approve(con, retry.run_id, confirm_guards=True)
    assert clever_events.cursor_of(con, DISTRICT_ID).event_id == feed.events[-1]["id"]
    quiet = sync(con, d2, feed)
    assert (quiet.mode, quiet.events_applied, changes(con, quiet.run_id)) == ("events", 0, [])
    merge.reject(con, quiet.run_id)
    merge.undo(con, DISTRICT_ID)  # the roster of day one again, and day one's cursor
    assert clever_events.cursor_of(con, DISTRICT_ID).event_id == START["id"]
    again = sync(con, d2, feed)
    assert changes(con, again.run_id) == changes(con, rejected.run_id)


# --- falling back to a full sync, with the reason --------------------------------------------


def test_a_district_without_events_syncs_in_full_and_says_why(fresh_db):
    parameters.save(fresh_db, DISTRICT_ID, Parameters())
    for _ in range(2):
        result = sync(fresh_db, small_district(3), Feed(refuse=404))
        assert (result.mode, result.mode_reason) == ("full", "events_refused")
        assert "Enable events" in (result.message or "")
        merge.approve(fresh_db, result.run_id)
    assert clever_events.cursor_of(fresh_db, DISTRICT_ID).event_id is None


def test_a_forbidden_events_endpoint_falls_back_to_full(merged_day_one):
    con, d1, _feed = merged_day_one
    result = sync(con, day_two(d1), Feed(refuse=403))
    assert (result.mode, result.mode_reason) == ("full", "events_refused")
    assert "HTTP 403" in (result.message or "")


def test_a_cursor_fallen_off_the_feed_falls_back_to_full(merged_day_one):
    con, d1, feed = merged_day_one
    d2 = day_two(d1)
    later = events_between(d1, d2, first=50)
    gap = Feed(events=later, forgotten={START["id"]})
    result = sync(con, d2, gap)
    assert (result.mode, result.mode_reason) == ("full", "cursor_gone")
    assert "a gap in the feed" in (result.message or "")
    assert con.execute(
        "SELECT events_cursor FROM runs WHERE run_id = ?", [result.run_id]
    ).fetchone() == (later[-1]["id"],)


def test_a_cursor_clever_refuses_to_page_from_falls_back_to_full(merged_day_one):
    con, d1, feed = merged_day_one
    d2 = day_two(d1)
    feed.events += events_between(d1, d2)
    feed.reject_after = {START["id"]}
    result = sync(con, d2, feed)
    assert (result.mode, result.mode_reason) == ("full", "cursor_gone")
    assert result.events_applied == 0 and result.counts["students"] == len(d2.students)


def test_full_sync_interval_and_an_expired_cursor(merged_day_one):
    con, d1, feed = merged_day_one
    con.execute("UPDATE runs SET started_at = now() - INTERVAL 8 DAY")
    assert sync(con, d1, feed).mode_reason == "interval"
    clever_events.set_full_sync_days(con, DISTRICT_ID, 60)
    assert sync(con, d1, feed).mode == "events"
    con.execute("UPDATE runs SET started_at = now() - INTERVAL 31 DAY")
    assert sync(con, d1, feed).mode_reason == "cursor_expired"


# --- the demo district ------------------------------------------------------------------------


def demo_sync(con, **kw) -> SyncResult:
    result = run_sync(con, demo.DEMO_DISTRICT_ID, settings=CleverSettings(), **kw)
    assert result.ok, result.message
    return result


def test_the_demo_days_give_the_same_changes_by_events_and_in_full(fresh_db):
    parameters.save(fresh_db, demo.DEMO_DISTRICT_ID, Parameters())
    first = demo_sync(fresh_db)
    assert first.mode == "full"
    merge.approve(fresh_db, first.run_id)
    for day in (2, 3):  # day 2 has errors, so it is never merged: day 3 reads both nights
        districts.advance_demo_day(fresh_db)
        incremental = demo_sync(fresh_db)
        assert incremental.mode == "events" and incremental.events_applied > 0
        full = demo_sync(fresh_db, full=True)
        assert changes(fresh_db, incremental.run_id) == changes(fresh_db, full.run_id), day
        assert incremental.issues == full.issues
        assert issues(fresh_db, incremental.run_id) == issues(fresh_db, full.run_id), day


def test_changed_parameters_check_every_record_again(merged_day_one):
    """Carried findings hold only under the parameters they were found under."""
    con, d1, feed = merged_day_one
    d2 = day_two(d1)
    feed.events += events_between(d1, d2)
    parameters.save(con, DISTRICT_ID, Parameters(all_records_processing=False))
    incremental = sync(con, d2, feed)
    full = sync(con, d2, feed, full=True)
    assert incremental.mode == "events"
    assert issues(con, incremental.run_id) == issues(con, full.run_id)
    assert changes(con, incremental.run_id) == changes(con, full.run_id)


def test_approving_an_events_run_gives_the_roster_a_full_run_gives(tmp_path):
    """Day 3 of the demo approved from its events and, in another store, from a full pull."""
    from mgi_roster import store

    rosters = []
    for full in (False, True):
        con = store.connect(tmp_path / f"full-{full}.duckdb")
        parameters.save(con, demo.DEMO_DISTRICT_ID, Parameters())
        merge.approve(con, demo_sync(con).run_id)
        districts.advance_demo_day(con)
        districts.advance_demo_day(con)
        day3 = demo_sync(con, full=full)
        assert day3.mode == ("full" if full else "events")
        merge.approve(con, day3.run_id)
        rosters.append(roster(con, demo.DEMO_DISTRICT_ID))
        con.close()
    assert rosters[0] == rosters[1]


def test_the_demo_feed_is_the_difference_between_its_days():
    district = demo.DemoDistrict()
    for day in (2, 3):
        before, after = district.with_day(day - 1), district.with_day(day)
        assert demo_events.changed(before, after) == demo_events.changed(before, after, every=True)
    day2, day3 = demo_events.feed(district.with_day(2)), demo_events.feed(district.with_day(3))
    assert day3[: len(day2)] == day2  # a cursor of day 2 is found on day 3
    ids = [e.id for e in day3]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    types = {e.type for e in day3}
    assert {"users.created", "users.updated", "users.deleted", "sections.updated"} <= types


def test_the_demo_feed_pages_like_clever():
    from mgi_roster.demo.clever_wire import handle

    district = demo.DemoDistrict(day=3)
    auth = {"Authorization": f"Bearer {demo.DEMO_DISTRICT_TOKEN}"}

    def get(path: str, **query: str):
        return handle(district, "GET", path, {k: [v] for k, v in query.items()}, auth)

    everything = demo_events.feed(district)
    latest = get("/v3.0/events", ending_before="last", limit="1").json()
    assert [i["data"]["id"] for i in latest["data"]] == [everything[-1].id]
    seen, after = [], everything[0].id
    while True:
        body = get("/v3.0/events", starting_after=after, limit="50").json()
        if not body["data"]:
            break
        seen += [i["data"]["id"] for i in body["data"]]
        after = seen[-1]
    assert seen == [e.id for e in everything[1:]]
    one = get(f"/v3.0/events/{everything[3].id}").json()["data"]
    assert one["type"] == everything[3].type and "object" in one["data"]
    assert get("/v3.0/events/5eed0e0000000000000000ff").status == 404


def test_sync_json_reports_the_mode(tmp_path, capsys):
    db = str(tmp_path / "mgi.duckdb")
    params = tmp_path / "params.json"
    params.write_text(Parameters().to_json())
    assert (
        main(
            [
                "--db",
                db,
                "parameters",
                "set",
                "--district",
                demo.DEMO_DISTRICT_ID,
                "--file",
                str(params),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["--db", db, "sync", "--district", demo.DEMO_DISTRICT_ID, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["mode"], out["mode_reason"], out["events_applied"]) == ("full", "no_cursor", 0)
    assert main(["--db", db, "approve", "--run", str(out["run_id"])]) == 0
    capsys.readouterr()
    assert main(["--db", db, "sync", "--district", demo.DEMO_DISTRICT_ID, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["mode"], out["mode_reason"]) == ("events", "events")
    assert out["events_applied"] == 0  # the demo SIS is still on day 1


def test_recorded_events_pages_are_read_as_clever_sends_them(fresh_db):
    """The live feed's shape (clever-recorded client__events): id, type, the record's id."""
    body = recorded_body("client__events")
    fresh_db.execute(staged_events._TABLE)
    staged_events.receive(fresh_db, 1, 1, json.dumps(body))
    rows = fresh_db.execute(
        "SELECT event_id, record_type, action, record_id FROM clever_events ORDER BY seq"
    ).fetchall()
    first = body["data"][0]["data"]
    assert rows[0] == (
        "64206e4431f12f05cc49076f",
        "districts",
        "updated",
        first["data"]["object"]["id"],
    )
    assert len(rows) == len(body["data"])
    assert {r[1] for r in rows} == {"districts", "schools", "users"}


def test_applying_events_counts_them_then_lets_the_feed_go(fresh_db):
    """The feed is read whole by the time the memberships are compared: it is dropped then, so
    a large night's JSON is not kept (and spilled) through the rest of the run."""
    body = recorded_body("client__events")
    staged_events.receive(fresh_db, 1, 1, json.dumps(body))
    applied = staged_events.apply(fresh_db, 1, "d" * 24)
    roster_types = {"schools", "users", "sections", "terms", "courses"}
    assert applied.read == len(body["data"])
    assert applied.events == sum(
        e["data"]["type"].split(".")[0] in roster_types for e in body["data"]
    )
    assert applied.last == body["data"][-1]["data"]["id"]
    left = "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'clever_events'"
    assert fresh_db.execute(left).fetchone() == (0,)


def test_a_section_event_replaces_exactly_the_memberships_that_moved(fresh_db):
    """A touched section keeps the roster's memberships the event carries as they were, and
    takes the event's for every member whose roles differ: a role changed, a member named twice
    now once, a new member, and a role no event carries (or none) gone, as a full pull stages
    it. An untouched section keeps all of its own."""
    con, district = fresh_db, "d" * 24
    staged = [("S", u, r) for u, r in [("a", "student"), ("b", "student"), ("c", "teacher")]]
    staged += [("S", "d", "aide"), ("S", "e", None), ("S", "f", "student"), ("S", "f", "student")]
    staged += [("T", "a", "student"), ("T", "d", "aide")]
    sent = [("S", u, r) for u, r in [("a", "student"), ("b", "teacher"), ("c", "teacher")]]
    sent += [("S", "f", "student"), ("S", "g", "student"), ("S", "h", "teacher")]
    for row in staged:
        con.execute(
            "INSERT INTO stg_enrollments (run_id, district_id, section_id, user_id, role) "
            "VALUES (1, ?, ?, ?, ?)",
            [district, *row],
        )
    con.execute(
        f"CREATE TABLE {staged_events.TOUCHED} AS SELECT 'sections' AS record_type, "
        "'S' AS record_id, 1::BIGINT AS seq"
    )
    con.execute(
        f"CREATE TEMP TABLE {staged_events.SENT_MEMBERS} "
        "(section_id VARCHAR, user_id VARCHAR, role VARCHAR)"
    )
    con.executemany(f"INSERT INTO {staged_events.SENT_MEMBERS} VALUES (?, ?, ?)", sent)
    for statement in staged_events.MOVED_SQL[:3]:
        execute(con, statement, {"run": 1, "district": district})
    rows = con.execute(
        "SELECT section_id, user_id, role FROM stg_enrollments ORDER BY ALL"
    ).fetchall()
    assert rows == sorted(sent + [("T", "a", "student"), ("T", "d", "aide")])
    moved = con.execute(f"SELECT user_id FROM {staged_events.MOVED_MEMBERS} ORDER BY 1").fetchall()
    assert moved == [(u,) for u in "bdefgh"]


def test_the_events_command_shows_the_cursor_and_sets_the_interval(
    merged_day_one, tmp_path, capsys
):
    db = str(tmp_path / "mgi.duckdb")
    assert (
        main(["--db", db, "events", "--district", DISTRICT_ID, "--full-every", "14", "--json"]) == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert (out["cursor"], out["full_sync_days"]) == (None, 14)
    assert main(["--db", db, "events", "--district", DISTRICT_ID, "--full-every", "-1"]) == 2
    con, _d1, _feed = merged_day_one
    assert clever_events.cursor_of(con, DISTRICT_ID).event_id == START["id"]


def test_a_runs_duckdb_is_bounded_and_spills_beside_its_file(tmp_path):
    from mgi_roster.staging import runfile

    path = tmp_path / "run-1.duckdb"
    with runfile.opened(path) as con:
        settings = dict(
            con.execute(
                """SELECT name, value FROM duckdb_settings() WHERE name IN
                   ('threads', 'preserve_insertion_order', 'temp_directory', 'memory_limit')"""
            ).fetchall()
        )
    assert settings["threads"] == "1" and settings["preserve_insertion_order"] == "false"
    assert settings["temp_directory"] == str(runfile.temp_folder(path))
    assert (
        settings["memory_limit"].endswith("MiB")
        and float(settings["memory_limit"].split()[0]) <= 128
    )
    assert not runfile.temp_folder(path).exists()
