"""Automatic sync: the MGI's rules, due times with an injected clock, --once outcomes, locks."""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta

import pytest
import responses

from mgi_roster import demo, parameters, schedule, store
from mgi_roster.errors import InputError
from mgi_roster.parameters import Parameters
from mgi_roster.roster import merge
from mgi_roster.schedule import Schedule, format_pause, latest_due, next_due, parse_pause
from mgi_roster.sync import run_sync, start_run
from tests.builders import DISTRICT_ID, SETTINGS, serve, small_district


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- next due (UTC days, a start time, valid until) ------------------------------------------

WEEK = ("sun", "mon", "tue", "wed", "thu", "fri")


def test_a_schedule_starts_at_its_utc_time_on_its_days():
    nightly = Schedule(days=WEEK, at="22:00", until=date(2026, 12, 31))
    assert next_due(nightly, utc(2026, 11, 27, 21, 0)) == utc(2026, 11, 27, 22, 0)  # Friday
    assert next_due(nightly, utc(2026, 11, 27, 22, 0)) == utc(2026, 11, 29, 22, 0)  # Sunday
    early = Schedule(days=("mon",), at="02:30", until=date(2026, 12, 31))
    assert next_due(early, utc(2026, 11, 28, 0, 0)) == utc(2026, 11, 30, 2, 30)


def test_no_slot_after_valid_until():
    short = Schedule(days=WEEK, at="22:00", until=date(2026, 11, 30))
    assert next_due(short, utc(2026, 11, 30, 22, 0)) is None
    assert latest_due(short, utc(2026, 12, 10)) == utc(2026, 11, 30, 22, 0)


def test_pause_windows_skip_whole_days():
    summer = Schedule(
        days=WEEK, at="22:00", until=date(2027, 9, 1), pauses=(("2027-06-15", "2027-08-20"),)
    )
    assert next_due(summer, utc(2027, 6, 14, 23, 0)) == utc(2027, 8, 22, 22, 0)  # Sunday
    assert latest_due(summer, utc(2027, 7, 1, 12, 0)) == utc(2027, 6, 14, 22, 0)


def test_off_is_never_due():
    assert next_due(Schedule(), utc(2026, 1, 1)) is None
    assert latest_due(Schedule(), utc(2026, 1, 1)) is None


# --- the MGI's rules (help.mhs.com/?p=6098) --------------------------------------------------

FIRST = utc(2026, 11, 1, 12, 0)
APPROVED = schedule.Facts(approved=True, first_sync=FIRST, last_successful_sync=FIRST)
TODAY = date(2026, 11, 28)
VALID = Schedule(days=WEEK, at="22:00", until=date(2026, 12, 31))


def test_a_schedule_inside_every_rule_is_valid():
    assert schedule.check(VALID, APPROVED, TODAY) is None
    assert APPROVED.latest_until == date(2026, 12, 31)  # 60 days after the first sync


@pytest.mark.parametrize("at", ["20:00", "23:59", "00:00", "05:00"])
def test_the_start_window_is_20_to_05_utc_both_included(at):
    assert schedule.check(VALID.model_copy(update={"at": at}), APPROVED, TODAY) is None


@pytest.mark.parametrize(
    ("change", "facts", "said"),
    [
        (
            {},
            schedule.Facts(False, FIRST, FIRST),
            "once a person has approved the district's initial sync",
        ),
        ({"days": ("fri", "sat")}, APPROVED, "Saturday is not allowed"),
        ({"at": "19:59"}, APPROVED, "between 20:00 and 05:00 UTC"),
        ({"at": "05:01"}, APPROVED, "between 20:00 and 05:00 UTC"),
        (
            {"until": date(2027, 1, 1)},
            APPROVED,
            "more than 60 days after the district's first sync",
        ),
        ({"until": None}, APPROVED, "no valid until date"),
        ({"until": date(2026, 11, 27)}, APPROVED, "expired on 2026-11-27"),
    ],
)
def test_each_rule_is_named_when_broken(change, facts, said):
    reason = schedule.check(VALID.model_copy(update=change), facts, TODAY)
    assert reason is not None and said in reason and reason.endswith(".")


@pytest.mark.parametrize(
    ("stored", "said"),
    [
        ({"kind": "daily", "at": "06:00", "tz": "UTC"}, "Saturday is not allowed"),
        ({"kind": "weekdays", "at": "22:00", "tz": "UTC"}, "no valid until date"),
        ({"kind": "hourly", "every_hours": 6, "tz": "UTC"}, "every 6 hours"),
        ({"kind": "daily", "at": "22:00", "tz": "America/Chicago"}, "America/Chicago"),
    ],
)
def test_an_old_schedule_loads_and_is_invalid_with_the_reason(stored, said):
    old = Schedule.from_dict({**stored, "pauses": [], "policy": "auto"})
    assert old.enabled
    reason = schedule.check(old, APPROVED, TODAY)
    assert reason is not None and said in reason


def test_an_old_schedule_that_was_off_stays_off():
    assert not Schedule.from_dict({"kind": "off", "at": "06:00", "tz": "UTC"}).enabled


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        ({"days": ("someday",)}, "Days are sun, mon"),
        ({"at": "25:00"}, "HH:MM"),
        ({"at": "6:00"}, "HH:MM"),
        ({"until": "next month"}, "YYYY-MM-DD"),
        ({"pauses": (("2027-08-20", "2027-06-15"),)}, "ends before it starts"),
        ({"pauses": (("summer", "fall"),)}, "YYYY-MM-DD"),
        ({"policy": "yolo"}, "Unknown policy"),
    ],
)
def test_bad_schedules_are_clear_errors(settings, said):
    with pytest.raises(InputError, match=said):
        Schedule(**settings)


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ({"days": ["sun"], "colour": "blue"}, "Unknown schedule setting 'colour'; the known ones"),
        ({"kind": "sometimes"}, "Unknown schedule 'sometimes'"),
        ({"pauses": [["2027-06-15"]]}, "Pause windows must be pairs of dates"),
        ({"pauses": "summer"}, "Pause windows must be pairs of dates"),
        ({"pauses": [["20270615", "20270820"]]}, "needs dates as YYYY-MM-DD"),
        ({"pauses": [["2027-02-30", "2027-03-01"]]}, "needs dates as YYYY-MM-DD"),
        ({"at": "٠٦:٣٠"}, "HH:MM"),  # digits, but not ASCII ones
        (["daily"], "A schedule must be an object"),
    ],
)
def test_stored_schedules_are_checked_like_typed_ones(data, said):
    with pytest.raises(InputError, match=said):
        Schedule.from_dict(data)


def test_a_schedule_round_trips_through_json_and_is_frozen():
    summer = Schedule(
        days=("sun", "wed"),
        at="23:15",
        until=date(2027, 8, 31),
        pauses=(("2027-07-01", "2027-08-31"),),
    )
    assert Schedule.from_dict(json.loads(summer.to_json())) == summer
    assert json.loads(summer.to_json())["pauses"] == [["2027-07-01", "2027-08-31"]]
    with pytest.raises(ValueError, match="frozen"):
        summer.at = "22:00"  # type: ignore[misc]


def test_days_are_typed_as_names_and_kept_in_week_order():
    assert schedule.parse_days("Fri, sun,MON") == ("fri", "sun", "mon")
    assert Schedule(days=schedule.parse_days("fri,sun,mon")).days == ("sun", "mon", "fri")
    with pytest.raises(InputError, match="sun,mon,tue,wed,thu,fri"):
        schedule.parse_days("weekdays")


# --- pause windows as typed -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "window"),
    [
        ("2027-06-15..2027-08-20", ("2027-06-15", "2027-08-20")),
        (" 2027-06-15 .. 2027-08-20 ", ("2027-06-15", "2027-08-20")),
        ("2027-12-24", ("2027-12-24", "2027-12-24")),  # one date pauses one day
    ],
)
def test_a_pause_window_is_start_dot_dot_end(typed, window):
    assert parse_pause(typed) == window
    assert parse_pause(format_pause(window)) == window


@pytest.mark.parametrize("typed", ["2027-06-15:2027-08-20", "summer", "2027-06-15..", "6/15..8/20"])
def test_another_pause_syntax_is_refused_with_the_right_one(typed):
    with pytest.raises(InputError) as err:
        parse_pause(typed)
    assert "START..END" in err.value.message and "2027-06-15..2027-08-20" in err.value.message


# --- the lines that run the scheduler -------------------------------------------------------


def test_service_lines_quote_paths_for_the_shell():
    lines = schedule.service_lines(
        "/opt/my python/bin/python", "/srv/mgi roster", "/data/it's.duckdb"
    )
    minute, hour, day, month, weekday, command = lines["cron"].split(" ", 5)
    assert (minute, hour, day, month, weekday) == ("*/5", "*", "*", "*", "*")
    assert shlex.split(command) == [
        "cd",
        "/srv/mgi roster",
        "&&",
        "MGI_DB=/data/it's.duckdb",
        "/opt/my python/bin/python",
        "-m",
        "mgi_roster",
        "scheduler",
        "--once",
        ">>",
        "/srv/mgi roster/data/scheduler.log",
        "2>&1",
    ]
    assert "ExecStart='/opt/my python/bin/python' -m mgi_roster scheduler" in lines["systemd"]
    assert "Environment='MGI_DB=/data/it'\"'\"'s.duckdb'" in lines["systemd"]


def test_a_percent_sign_is_escaped_for_cron_and_systemd():
    lines = schedule.service_lines("/usr/bin/python3", "/srv/100%", "/srv/100%/mgi.duckdb")
    assert "%" not in lines["cron"].replace("\\%", "")
    assert "%" not in lines["systemd"].replace("%%", "")


# --- running what is due --------------------------------------------------------------------

NOW = utc(2026, 11, 28, 23, 0)  # a Saturday night: the latest slot is Friday 22:00
DAILY = Schedule(days=WEEK, at="22:00", until=date(2026, 12, 31))
FRIDAY = utc(2026, 11, 27, 22, 0)


@pytest.fixture
def con():
    con = store.connect(":memory:")
    yield con
    con.close()


def first_synced(con, district_id: str, *, by: str | None = "dana") -> None:
    """The district's initial sync, approved by a person (or only staged, by=None); its runs
    dated to FIRST so the 60-day rule is measured from there."""
    parameters.save(con, district_id, Parameters())
    result = run_sync(con, district_id, settings=SETTINGS)
    if by is not None:
        merge.approve(con, result.run_id, by=by)
    con.execute("UPDATE runs SET started_at = ? WHERE district_id = ?", [FIRST, district_id])


def store_raw(con, district_id: str, body: dict, last_slot: datetime) -> None:
    """A schedule stored as an older version (or another process) left it, rules unchecked."""
    con.execute(
        "INSERT INTO schedules (district_id, body, last_slot) VALUES (?, ?, ?)",
        [district_id, json.dumps(body), last_slot],
    )


def setup_guarded_district(con) -> None:
    """The test district, merged once with 10 students; its next day misses 4 of them."""
    with responses.RequestsMock() as rsps:
        serve(small_district(10), rsps)
        first_synced(con, DISTRICT_ID)


def missing_four():
    day2 = small_district(10)
    gone = {s["id"] for s in day2.students[:4]}
    day2.students = day2.students[4:]
    day2.sections[0]["students"] = [s for s in day2.sections[0]["students"] if s not in gone]
    return day2


def test_setting_a_schedule_before_a_person_approved_the_first_sync_is_refused(con):
    with pytest.raises(InputError, match="once a person has approved"):
        schedule.save(con, demo.DEMO_DISTRICT_ID, DAILY, now=NOW)
    first_synced(con, demo.DEMO_DISTRICT_ID, by=None)  # synced, not approved
    with pytest.raises(InputError, match="once a person has approved"):
        schedule.save(con, demo.DEMO_DISTRICT_ID, DAILY, now=NOW)


def test_a_scheduler_merge_does_not_count_as_a_persons_approval(con):
    first_synced(con, demo.DEMO_DISTRICT_ID, by=schedule.SCHEDULER)
    assert not schedule.facts(con, demo.DEMO_DISTRICT_ID).approved


def test_catch_up_runs_once_not_once_per_missed_slot(con):
    first_synced(con, demo.DEMO_DISTRICT_ID)
    schedule.save(con, demo.DEMO_DISTRICT_ID, DAILY, now=NOW - timedelta(days=5))
    due = schedule.due(con, NOW)
    assert [(d, slot, why) for d, _s, slot, why in due] == [(demo.DEMO_DISTRICT_ID, FRIDAY, None)]


def test_a_new_schedule_owes_nothing_for_the_past(con):
    first_synced(con, demo.DEMO_DISTRICT_ID)
    schedule.save(con, demo.DEMO_DISTRICT_ID, DAILY, now=NOW)
    assert schedule.due(con, NOW) == []
    assert schedule.due(con, NOW + timedelta(days=1)) != []


def test_once_merges_a_clean_district_and_holds_a_guarded_one(con):
    setup_guarded_district(con)
    first_synced(con, demo.DEMO_DISTRICT_ID)
    for district in (DISTRICT_ID, demo.DEMO_DISTRICT_ID):
        schedule.save(con, district, DAILY, now=NOW - timedelta(days=2))
    with responses.RequestsMock() as rsps:
        serve(missing_four(), rsps)
        outcomes = {o.district_id: o for o in schedule.run_due(con, NOW, SETTINGS)}
    assert outcomes[demo.DEMO_DISTRICT_ID].outcome == "merged"
    held = outcomes[DISTRICT_ID]
    assert held.outcome == "held for review" and "guards" in held.message
    statuses = dict(
        con.execute("SELECT district_id, status FROM runs WHERE trigger = 'scheduled'").fetchall()
    )
    assert statuses == {demo.DEMO_DISTRICT_ID: "merged", DISTRICT_ID: "held"}
    assert con.execute(
        "SELECT actor FROM merges WHERE district_id = ? ORDER BY version", [demo.DEMO_DISTRICT_ID]
    ).fetchall() == [("dana",), ("scheduler",)]
    assert schedule.run_due(con, NOW, SETTINGS) == []  # nothing is due twice


def test_a_stored_schedule_that_breaks_a_rule_is_skipped_with_the_reason(con):
    first_synced(con, demo.DEMO_DISTRICT_ID)
    store_raw(con, demo.DEMO_DISTRICT_ID, {"kind": "daily", "at": "06:00", "tz": "UTC"}, FRIDAY)
    found = schedule.status(con, demo.DEMO_DISTRICT_ID, NOW)
    assert not found.valid and "Saturday is not allowed" in found.reason
    assert found.to_dict()["valid"] is False and found.next_run is None
    [outcome] = schedule.run_due(con, NOW)
    assert outcome.outcome == "skipped" and "Saturday is not allowed" in outcome.message
    assert con.execute("SELECT count(*) FROM runs WHERE trigger = 'scheduled'").fetchone() == (0,)
    assert schedule.run_due(con, NOW) == []  # skipped once per slot, not on every pass


def test_no_run_ever_merges_a_districts_first_sync_on_its_own(con):
    parameters.save(con, demo.DEMO_DISTRICT_ID, Parameters())
    store_raw(con, demo.DEMO_DISTRICT_ID, json.loads(DAILY.to_json()), FRIDAY - timedelta(days=1))
    [skipped] = schedule.run_due(con, NOW)  # the rules stop it before it syncs
    assert skipped.outcome == "skipped" and "approved" in skipped.message
    outcome = schedule.run_district(con, demo.DEMO_DISTRICT_ID, DAILY, FRIDAY)  # even if asked
    assert outcome.outcome == "held for review" and "first sync" in outcome.message
    assert con.execute("SELECT count(*) FROM merges").fetchone() == (0,)


def test_review_policy_never_merges(con):
    first_synced(con, demo.DEMO_DISTRICT_ID)
    review = DAILY.model_copy(update={"policy": "review"})
    schedule.save(con, demo.DEMO_DISTRICT_ID, review, now=NOW - timedelta(days=2))
    [outcome] = schedule.run_due(con, NOW)
    assert outcome.outcome == "held for review" and "policy" in outcome.message


def test_a_failing_district_does_not_block_the_next(con):
    with responses.RequestsMock() as rsps:
        serve(small_district(3), rsps)
        first_synced(con, DISTRICT_ID)
    first_synced(con, demo.DEMO_DISTRICT_ID)
    for district in (DISTRICT_ID, demo.DEMO_DISTRICT_ID):
        schedule.save(con, district, DAILY, now=NOW - timedelta(days=2))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        serve(small_district(3), rsps, fail=("schools", 1, 401))
        outcomes = schedule.run_due(con, NOW, SETTINGS)
    assert {o.district_id: o.outcome for o in outcomes} == {
        DISTRICT_ID: "failed",  # Clever refused the token
        demo.DEMO_DISTRICT_ID: "merged",
    }


def test_a_district_already_syncing_is_skipped_not_synced_twice(con):
    first_synced(con, demo.DEMO_DISTRICT_ID)
    schedule.save(con, demo.DEMO_DISTRICT_ID, DAILY, now=NOW - timedelta(days=2))
    running = start_run(con, demo.DEMO_DISTRICT_ID, "manual")  # another process's sync, alive
    [outcome] = schedule.run_due(con, NOW)
    assert outcome.outcome == "skipped" and f"run {running}" in outcome.message


def test_a_run_left_by_a_dead_process_does_not_block_forever(con):
    parameters.save(con, demo.DEMO_DISTRICT_ID, Parameters())
    stale = start_run(con, demo.DEMO_DISTRICT_ID, "scheduled")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    owner = con.execute("SELECT owner FROM runs WHERE run_id = ?", [stale]).fetchone()[0]
    con.execute(
        "UPDATE runs SET owner = ? WHERE run_id = ?",
        [owner.rsplit(":", 1)[0] + ":" + dead.stdout.strip(), stale],
    )
    assert run_sync(con, demo.DEMO_DISTRICT_ID).status == "staged"
    assert con.execute("SELECT status FROM runs WHERE run_id = ?", [stale]).fetchone() == (
        "failed",
    )


def test_scheduler_loop_stops_between_runs(con, tmp_path):
    db = tmp_path / "mgi.duckdb"
    with store.opened(db) as setup:
        first_synced(setup, demo.DEMO_DISTRICT_ID)
        schedule.save(setup, demo.DEMO_DISTRICT_ID, DAILY, now=NOW - timedelta(days=2))
    runner = schedule.Scheduler(store=store.Store(db), clock=lambda: NOW, recheck=0.01)
    seen = []

    def on_outcome(outcome):
        seen.append(outcome)
        runner.stop.set()

    runner.run_forever(on_outcome)
    assert [o.outcome for o in seen] == ["merged"]


def test_sigterm_stops_the_scheduler_cleanly(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "mgi_roster", "--db", str(tmp_path / "mgi.duckdb"), "scheduler"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "Scheduler running" in proc.stderr.readline()
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()
