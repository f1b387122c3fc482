"""Automatic sync: due times with an injected clock, --once outcomes, locks, isolation."""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

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


# --- next due -------------------------------------------------------------------------------


def test_daily_in_a_time_zone():
    daily = Schedule(kind="daily", at="06:00", tz="America/Chicago")
    assert next_due(daily, utc(2026, 12, 1, 11, 0)) == utc(2026, 12, 1, 12, 0)  # 06:00 CST
    assert next_due(daily, utc(2026, 12, 1, 12, 0)) == utc(2026, 12, 2, 12, 0)  # strictly after
    assert next_due(daily, utc(2026, 7, 1, 0, 0)) == utc(2026, 7, 1, 11, 0)  # 06:00 CDT


def test_weekdays_skip_the_weekend():
    weekdays = Schedule(kind="weekdays", at="07:15", tz="UTC")
    friday_evening = utc(2026, 11, 27, 20, 0)
    assert next_due(weekdays, friday_evening) == utc(2026, 11, 30, 7, 15)  # Monday


def test_every_n_hours():
    every6 = Schedule(kind="hourly", every_hours=6, tz="UTC")
    assert next_due(every6, utc(2026, 11, 28, 13, 5)) == utc(2026, 11, 28, 18, 0)
    assert next_due(every6, utc(2026, 11, 28, 18, 0)) == utc(2026, 11, 29, 0, 0)


def test_spring_forward_runs_at_the_first_real_moment():
    # 2026-03-08: New York skips from 02:00 to 03:00; 02:30 does not exist that night.
    nightly = Schedule(kind="daily", at="02:30", tz="America/New_York")
    slot = next_due(nightly, utc(2026, 3, 8, 0, 0))
    assert slot == utc(2026, 3, 8, 7, 30)  # 03:30 EDT
    assert next_due(nightly, slot) == utc(2026, 3, 9, 6, 30)  # 02:30 EDT the next day


def test_fall_back_runs_once_in_the_repeated_hour():
    # 2026-11-01: New York repeats 01:00-02:00; 01:30 happens twice but runs once.
    nightly = Schedule(kind="daily", at="01:30", tz="America/New_York")
    first = next_due(nightly, utc(2026, 11, 1, 0, 0))
    assert first == utc(2026, 11, 1, 5, 30)  # 01:30 EDT, the first one
    assert next_due(nightly, first) == utc(2026, 11, 2, 6, 30)  # 01:30 EST the next day


def test_every_n_hours_across_daylight_saving():
    every12 = Schedule(kind="hourly", every_hours=12, tz="America/New_York")
    assert next_due(every12, utc(2026, 3, 8, 5, 1)) == utc(2026, 3, 8, 16, 0)  # noon EDT


def test_pause_windows_skip_whole_days():
    summer = Schedule(kind="daily", at="06:00", tz="UTC", pauses=(("2027-06-15", "2027-08-20"),))
    assert next_due(summer, utc(2027, 6, 14, 7, 0)) == utc(2027, 8, 21, 6, 0)
    assert latest_due(summer, utc(2027, 7, 1, 12, 0)) == utc(2027, 6, 14, 6, 0)


def test_off_is_never_due():
    assert next_due(Schedule(), utc(2026, 1, 1)) is None
    assert latest_due(Schedule(), utc(2026, 1, 1)) is None


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        ({"kind": "sometimes"}, "Unknown schedule"),
        ({"kind": "daily", "at": "25:00"}, "HH:MM"),
        ({"kind": "daily", "at": "6:00"}, "HH:MM"),
        ({"kind": "daily", "tz": "Mars/Olympus"}, "Unknown time zone"),
        ({"kind": "hourly", "every_hours": 0}, "every_hours"),
        ({"kind": "daily", "pauses": (("2027-08-20", "2027-06-15"),)}, "ends before it starts"),
        ({"kind": "daily", "pauses": (("summer", "fall"),)}, "YYYY-MM-DD"),
        ({"kind": "daily", "policy": "yolo"}, "Unknown policy"),
    ],
)
def test_bad_schedules_are_clear_errors(settings, said):
    with pytest.raises(InputError, match=said):
        Schedule(**settings)


def test_bad_schedule_messages_say_what_to_enter():
    said = {
        "kind": "Unknown schedule 'sometimes': choose one of off, daily, weekdays, hourly.",
        "every_hours": "every_hours must be a whole number from 1 to 24.",
        "policy": "Unknown policy 'yolo': choose one of auto, review.",
    }
    for name, value in (("kind", "sometimes"), ("every_hours", "6"), ("policy", "yolo")):
        with pytest.raises(InputError) as err:
            Schedule.from_dict({name: value})
        assert err.value.message == said[name]


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ({"kind": "daily", "colour": "blue"}, "Unknown schedule setting 'colour'; the known ones"),
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
        kind="weekdays", at="07:15", tz="Europe/Paris", pauses=(("2027-07-01", "2027-08-31"),)
    )
    assert Schedule.from_dict(json.loads(summer.to_json())) == summer
    assert json.loads(summer.to_json())["pauses"] == [["2027-07-01", "2027-08-31"]]
    with pytest.raises(ValueError, match="frozen"):
        summer.kind = "off"  # type: ignore[misc]


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

NOW = utc(2026, 11, 28, 9, 0)
DAILY = Schedule(kind="daily", at="06:00", tz="UTC")


@pytest.fixture
def con():
    con = store.connect(":memory:")
    yield con
    con.close()


def setup_guarded_district(con) -> None:
    """The test district, merged once with 10 students; its next day misses 4 of them."""
    parameters.save(con, DISTRICT_ID, Parameters())
    with responses.RequestsMock() as rsps:
        serve(small_district(10), rsps)
        merge.approve(con, run_sync(con, DISTRICT_ID, settings=SETTINGS).run_id)


def missing_four():
    day2 = small_district(10)
    gone = {s["id"] for s in day2.students[:4]}
    day2.students = day2.students[4:]
    day2.sections[0]["students"] = [s for s in day2.sections[0]["students"] if s not in gone]
    return day2


def test_catch_up_runs_once_not_once_per_missed_slot(con):
    schedule.save(con, demo.DEMO_DISTRICT_ID, DAILY, now=NOW - timedelta(days=5))
    due = schedule.due(con, NOW)
    assert [(d, slot) for d, _s, slot in due] == [(demo.DEMO_DISTRICT_ID, utc(2026, 11, 28, 6, 0))]


def test_a_new_schedule_owes_nothing_for_the_past(con):
    schedule.save(con, demo.DEMO_DISTRICT_ID, DAILY, now=NOW)
    assert schedule.due(con, NOW) == []
    assert schedule.due(con, NOW + timedelta(days=1)) != []


def test_once_merges_a_clean_district_and_holds_a_guarded_one(con):
    setup_guarded_district(con)
    parameters.save(con, demo.DEMO_DISTRICT_ID, Parameters())
    for district in (DISTRICT_ID, demo.DEMO_DISTRICT_ID):
        schedule.save(con, district, DAILY, now=NOW - timedelta(days=1))
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
        "SELECT actor FROM merges WHERE district_id = ?", [demo.DEMO_DISTRICT_ID]
    ).fetchone() == ("scheduler",)
    assert schedule.run_due(con, NOW, SETTINGS) == []  # nothing is due twice


def test_review_policy_never_merges(con):
    parameters.save(con, demo.DEMO_DISTRICT_ID, Parameters())
    schedule.save(
        con,
        demo.DEMO_DISTRICT_ID,
        Schedule(kind="daily", policy="review"),
        now=NOW - timedelta(days=1),
    )
    [outcome] = schedule.run_due(con, NOW)
    assert outcome.outcome == "held for review" and "policy" in outcome.message


def test_a_failing_district_does_not_block_the_next(con):
    parameters.save(con, DISTRICT_ID, Parameters())
    parameters.save(con, demo.DEMO_DISTRICT_ID, Parameters())
    for district in (DISTRICT_ID, demo.DEMO_DISTRICT_ID):
        schedule.save(con, district, DAILY, now=NOW - timedelta(days=1))
    schedule.save(con, "0" * 24, DAILY, now=NOW - timedelta(days=1))  # sorts first; no parameters
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        serve(small_district(3), rsps, fail=("schools", 1, 401))
        outcomes = schedule.run_due(con, NOW, SETTINGS)
    assert {o.district_id: o.outcome for o in outcomes} == {
        "0" * 24: "skipped",  # refused: parameters not defined
        DISTRICT_ID: "failed",  # Clever refused the token
        demo.DEMO_DISTRICT_ID: "merged",
    }


def test_a_district_already_syncing_is_skipped_not_synced_twice(con):
    parameters.save(con, demo.DEMO_DISTRICT_ID, Parameters())
    schedule.save(con, demo.DEMO_DISTRICT_ID, DAILY, now=NOW - timedelta(days=1))
    running = start_run(con, demo.DEMO_DISTRICT_ID, "manual")  # another process's sync, alive
    [outcome] = schedule.run_due(con, NOW)
    assert outcome.outcome == "skipped" and f"run {running}" in outcome.message
    assert con.execute("SELECT count(*) FROM runs").fetchone() == (1,)


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
        parameters.save(setup, demo.DEMO_DISTRICT_ID, Parameters())
        schedule.save(setup, demo.DEMO_DISTRICT_ID, DAILY, now=NOW - timedelta(days=1))
    runner = schedule.Scheduler(store=store.Store(db), clock=lambda: NOW, recheck=0.01)
    seen = []

    def on_outcome(outcome):
        seen.append(outcome)
        runner.stop.set()

    runner.run_forever(on_outcome)
    assert [o.outcome for o in seen] == ["merged"]


@pytest.mark.slow
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
