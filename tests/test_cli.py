"""The command line contract other tools and the scheduler rely on."""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import responses

from mgi_roster import demo, schedule, store
from mgi_roster.cli import main
from tests.conftest import API, no_real_configuration
from tests.support import Feed, copy_store, serve_events

DEMO = demo.DEMO_DISTRICT_ID
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "mgi.duckdb")


@pytest.fixture
def params_file(tmp_path):
    path = tmp_path / "params.json"
    path.write_text("{}")
    return path


def run(db, *args) -> int:
    return main(["--db", db, *args])


def sync_json(db, capsys, district=DEMO) -> tuple[int, dict]:
    capsys.readouterr()
    code = run(db, "sync", "--district", district, "--json")
    return code, json.loads(capsys.readouterr().out)


def test_parameters_set_and_show(db, params_file, capsys):
    params_file.write_text('{"archive_threshold_pct": 5}')
    assert run(db, "parameters", "set", "--district", DEMO, "--file", str(params_file)) == 0
    capsys.readouterr()
    assert run(db, "parameters", "show", "--district", DEMO) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["archive_threshold_pct"] == 5 and shown["update_threshold_pct"] == 75


@pytest.mark.parametrize(
    ("content", "said"),
    [("{nope", "not valid JSON"), ('{"colour": 1}', "'colour'")],
)
def test_bad_parameters_file_exits_2(db, params_file, capsys, content, said):
    params_file.write_text(content)
    assert run(db, "parameters", "set", "--district", DEMO, "--file", str(params_file)) == 2
    assert said in capsys.readouterr().err


def test_unreadable_parameters_file_exits_2(db, tmp_path, capsys):
    assert (
        run(db, "parameters", "set", "--district", DEMO, "--file", str(tmp_path / "missing.json"))
        == 2
    )
    assert "Cannot read the parameters file" in capsys.readouterr().err


def test_sync_before_parameters_is_refused(db, capsys):
    code, out = sync_json(db, capsys)
    assert code == 2
    assert out == {"status": "refused", "reason": out["reason"]}
    assert "Define them first" in out["reason"]


def test_malformed_district_id_exits_2_without_traceback(db, capsys):
    code, out = sync_json(db, capsys, district="not-a-district")
    assert code == 2
    assert out["status"] == "refused" and "24 characters" in out["reason"]


def test_demo_round_trip(db, params_file, capsys):
    assert run(db, "parameters", "set", "--district", DEMO, "--file", str(params_file)) == 0
    code, out = sync_json(db, capsys)
    assert code == 0, out
    assert set(out) == {
        "run_id",
        "district_id",
        "status",
        "counts",
        "issues",
        "changes",
        "guards",
        "message",
        "digest",
        "mode",
        "mode_reason",
        "events_applied",
    }
    assert out["status"] == "staged"
    assert out["issues"]["error"] == 0
    assert set(out["counts"]) == {
        "schools",
        "students",
        "teachers",
        "sections",
        "enrollments",
        "terms",
        "courses",
    }
    assert out["changes"]["students"]["added"] == out["counts"]["students"]
    run_id = out["run_id"]

    assert run(db, "export", "--run", str(run_id), "--what", "issues", "--format", "csv") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "run_id,entity,record_id,field,check,severity,value,message,record_name,sis_id,params"
    )
    assert len(lines) > 1  # day 1 has warnings (sharing finding, empty section, ...)

    assert run(db, "export", "--run", str(run_id), "--what", "changes", "--format", "csv") == 0
    assert (
        capsys.readouterr().out.splitlines()[0]
        == "run_id,entity,record_id,change,field,before,after"
    )

    assert run(db, "approve", "--run", str(run_id), "--by", "Ana", "--json") == 0
    merged = json.loads(capsys.readouterr().out)
    assert merged["version"] == 1 and merged["status"] == "merged"
    assert run(db, "approve", "--run", str(run_id)) == 0  # twice: merges once
    assert "already merged" in capsys.readouterr().out

    assert run(db, "demo", "advance") == 0
    code, day2 = sync_json(db, capsys)
    assert code == 0 and day2["issues"]["error"] > 0
    assert run(db, "approve", "--run", str(day2["run_id"])) == 3
    assert "error" in capsys.readouterr().err
    assert run(db, "approve", "--run", str(day2["run_id"]), "--json") == 3
    refused = json.loads(capsys.readouterr().out)  # exactly one object, or this fails
    assert refused["status"] == "refused" and "error" in refused["reason"]

    assert run(db, "history", "--district", DEMO, "--json") == 0
    history = json.loads(capsys.readouterr().out)
    assert [r["run_id"] for r in history["runs"]] == [day2["run_id"], run_id]
    assert history["merges"][0]["actor"] == "Ana"

    assert run(db, "reject", "--run", str(day2["run_id"]), "--by", "Ana") == 0
    assert run(db, "undo", "--district", DEMO, "--by", "Ana") == 0
    assert "back at version 0" in capsys.readouterr().out


@responses.activate
def test_failed_sync_exits_1_with_the_message(db, params_file, capsys, monkeypatch):
    district = "0123456789abcdef01234567"
    monkeypatch.setenv("CLEVER_DISTRICT_TOKEN", "secret-token-value")
    responses.get(f"{API}/v3.0/schools", status=401, json={"error": "Unauthorized"})
    serve_events(Feed(refuse=401))  # the token is refused for events too (asked first)
    assert run(db, "parameters", "set", "--district", district, "--file", str(params_file)) == 0
    code, out = sync_json(db, capsys, district=district)
    assert code == 1
    assert out["status"] == "failed" and "refused the district token" in out["message"]
    assert "secret-token-value" not in json.dumps(out)


def test_every_json_command_answers_one_object_when_refused(db, capsys):
    for args in (
        ("connect", "--district", "not-an-id", "--json"),
        ("approve", "--run", "999", "--json"),
        ("sync", "--district", "not-an-id", "--json"),
    ):
        code = run(db, *args)
        out = capsys.readouterr().out
        assert code == 2, args
        answer = json.loads(out)
        assert answer["status"] == "refused" and answer["reason"].endswith("."), args


def test_a_failure_with_json_is_one_object_too(tmp_path, capsys):
    broken = tmp_path / "broken.duckdb"
    broken.write_text("not a database")
    assert main(["--db", str(broken), "history", "--district", DEMO, "--json"]) == 1
    out = capsys.readouterr()
    assert json.loads(out.out)["status"] == "failed"
    assert "could not be opened" in json.loads(out.out)["reason"]
    assert "could not be opened" in out.err


@pytest.fixture(scope="module")
def approved_store(tmp_path_factory) -> Path:
    """A store holding the demo district's initial sync, approved by a person (built once per
    module: each test that needs one gets its own copy, approved_demo)."""
    path = tmp_path_factory.mktemp("approved") / "mgi.duckdb"
    params = path.with_name("params.json")
    params.write_text("{}")
    with pytest.MonkeyPatch.context() as mp:
        no_real_configuration(mp, tmp_path_factory)
        assert run(str(path), "parameters", "set", "--district", DEMO, "--file", str(params)) == 0
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert run(str(path), "sync", "--district", DEMO, "--json") == 0
        run_id = json.loads(out.getvalue())["run_id"]
        with contextlib.redirect_stdout(io.StringIO()):
            assert run(str(path), "approve", "--run", str(run_id), "--by", "dana") == 0
    return path


@pytest.fixture
def approved_demo(db, approved_store) -> None:
    """The demo district's initial sync, approved by a person: schedules may be set."""
    copy_store(approved_store, db)


def schedule_show(db, capsys) -> dict:
    capsys.readouterr()
    assert run(db, "schedule", "show", "--district", DEMO, "--json") == 0
    return json.loads(capsys.readouterr().out)


def in_days(n: int) -> str:
    from datetime import date, timedelta

    return (date.today() + timedelta(days=n)).isoformat()


def test_schedule_set_is_refused_before_a_person_approved_the_first_sync(db, capsys):
    args = ("--days", "sun,mon", "--at", "22:00", "--until", in_days(10))
    assert run(db, "schedule", "set", "--district", DEMO, *args) == 2
    assert "once a person has approved the district's initial sync" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("days", "at", "until", "said"),
    [
        ("sun,sat", "22:00", 10, "Saturday is not allowed"),
        ("sun,mon", "12:00", 10, "between 20:00 and 05:00 UTC"),
        ("sun,mon", "22:00", 61, "more than 60 days after the district's first sync"),
        ("sun,mon", "22:00", -1, "expired on"),
        ("weekdays", "22:00", 10, "sun,mon,tue,wed,thu,fri"),
        ("sun", "10pm", 10, "HH:MM"),
    ],
)
def test_schedule_set_names_the_rule_it_breaks_and_exits_2(
    db, approved_demo, capsys, days, at, until, said
):
    args = ("--days", days, "--at", at, "--until", in_days(until))
    assert run(db, "schedule", "set", "--district", DEMO, *args) == 2
    assert said in capsys.readouterr().err
    assert schedule_show(db, capsys)["days"] == []  # nothing saved


def test_schedule_set_and_show_json(db, approved_demo, capsys):
    args = ("--days", "sun,mon,tue,wed,thu,fri", "--at", "22:30", "--until", in_days(30))
    more = ("--pause", "2027-06-15..2027-08-20", "--policy", "review", "--contact", "it@d.org")
    assert run(db, "schedule", "set", "--district", DEMO, *args, *more) == 0
    assert "at 22:30 UTC" in capsys.readouterr().out
    shown = schedule_show(db, capsys)
    assert shown["days"] == ["sun", "mon", "tue", "wed", "thu", "fri"]
    assert (shown["at"], shown["valid_until"], shown["policy"]) == ("22:30", in_days(30), "review")
    assert shown["valid"] is True and "reason" not in shown
    assert shown["last_successful_sync"] is not None and shown["contacts"] == ["it@d.org"]
    assert run(db, "schedule", "show", "--district", DEMO) == 0
    text = capsys.readouterr().out
    assert "Last successful sync: " in text and "mgi_roster scheduler --once" in text


def test_an_old_schedule_is_shown_invalid_with_the_reason(db, approved_demo, capsys):
    with store.opened(db) as con:
        con.execute(
            "INSERT INTO schedules (district_id, body) VALUES (?, ?)",
            [DEMO, json.dumps({"kind": "weekdays", "at": "07:30", "tz": "UTC", "pauses": []})],
        )
        assert schedule.load(con, DEMO).days == ("mon", "tue", "wed", "thu", "fri")
    shown = schedule_show(db, capsys)
    assert shown["valid"] is False and "between 20:00 and 05:00 UTC" in shown["reason"]


def test_the_console_script_is_this_main():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, function = scripts["mgi-roster"].partition(":")
    assert getattr(importlib.import_module(module), function) is main


def test_setting_parameters_starts_without_the_heavy_libraries(tmp_path):
    """`parameters set` is what scripts call in loops: it must not import validation's stack."""
    params = tmp_path / "p.json"
    params.write_text("{}")
    program = (
        "import json, sys\n"
        "from mgi_roster.cli import main\n"
        f"code = main(['--db', {str(tmp_path / 'x.duckdb')!r}, 'parameters', 'set',"
        f" '--district', {DEMO!r}, '--file', {str(params)!r}])\n"
        "heavy = ('pandas', 'pandera', 'pyarrow', 'numpy', 'altair', 'streamlit')\n"
        "print(json.dumps([code, sorted(m for m in heavy if m in sys.modules)]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert json.loads(done.stdout.splitlines()[-1]) == [0, []], done.stderr


def test_python_dash_m_still_runs_the_command_line():
    done = subprocess.run(
        [sys.executable, "-m", "mgi_roster", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stdout.startswith("usage: python -m mgi_roster")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_serve_answers_a_paged_users_request():
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mgi_roster", "demo", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}/v3.0/users"
        headers = {"Authorization": f"Bearer {demo.DEMO_DISTRICT_TOKEN}"}
        for _ in range(100):
            try:
                answer = requests.get(
                    url, params={"role": "student", "limit": 5}, headers=headers, timeout=5
                )
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            pytest.fail("demo serve did not start")
        body = answer.json()
        assert answer.status_code == 200
        assert len(body["data"]) == 5
        assert "roles" in body["data"][0]["data"]
        next_link = next(link["uri"] for link in body["links"] if link["rel"] == "next")
        assert next_link.startswith("/v3.0/users?")
        assert answer.headers["X-RateLimit-Limit"] == "1200"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_every_command_explains_itself():
    # Each (sub)command's --help renders: a bare % in a help text breaks it at run time only
    import argparse

    from mgi_roster.cli.parser import _parser

    def walk(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
        yield parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    yield from walk(sub)

    helps = [p.format_help() for p in walk(_parser())]
    assert len(helps) > 20 and all("usage:" in h for h in helps)


def test_demo_serve_chooses_the_share_of_students_its_night_changes(capsys):
    from mgi_roster.cli.demo import _district
    from mgi_roster.cli.parser import _parser

    args = _parser().parse_args(
        ["demo", "serve", "--students", "2000", "--day", "3", "--changed", "1"]
    )
    assert _district(args) == demo.DemoDistrict(students=2000, day=3, changed=1.0)
    assert _district(_parser().parse_args(["demo", "serve"])) == demo.DemoDistrict()
    assert main(["demo", "serve", "--changed", "0", "--port", "0"]) == 2
    assert "between 0 and 20 %" in capsys.readouterr().err


# --- connect: the connection checklist ------------------------------------------------------

OTHER_ID = "0ddd0000000000000000beef"


def connect_json(db, capsys, district) -> tuple[int, dict]:
    capsys.readouterr()
    code = run(db, "connect", "--district", district, "--json")
    return code, json.loads(capsys.readouterr().out)


def test_connect_json_measures_each_step_of_the_demo_district(db, capsys):
    code, out = connect_json(db, capsys, DEMO)
    assert code == 0 and out["ok"] is True
    assert [s["name"] for s in out["steps"]] == [
        "SIS compatibility",
        "Request accepted",
        "Setup finished in Clever",
        "Test Connection",
    ]
    assert all(set(s) == {"name", "state", "detail", "advice"} for s in out["steps"])
    assert {s["state"] for s in out["steps"]} <= {"ok", "warning"}
    assert out["connected_districts"] == []


def test_connect_a_wrong_id_lists_the_connected_districts_and_exits_1(db, capsys):
    code, out = connect_json(db, capsys, OTHER_ID)
    assert code == 1 and out["ok"] is False
    states = {s["name"]: s["state"] for s in out["steps"]}
    assert states["Request accepted"] == "failed"
    [listed] = out["connected_districts"]
    assert listed["id"] == DEMO and listed["name"].startswith("Maple Valley Unified")
    capsys.readouterr()
    assert run(db, "connect", "--district", OTHER_ID) == 1
    text = capsys.readouterr().out
    assert "[failed ] Request accepted" in text
    assert f"{DEMO}  Maple Valley Unified" in text  # id, then name


@responses.activate
def test_connect_a_request_not_accepted_gives_both_paths(db, capsys, monkeypatch):
    monkeypatch.setenv("CLEVER_CLIENT_ID", "app-id")
    monkeypatch.setenv("CLEVER_CLIENT_SECRET", "app-secret")
    responses.get("https://clever.com/oauth/tokens", json={"data": [], "links": []})
    code, out = connect_json(db, capsys, OTHER_ID)
    assert code == 1
    accepted = next(s for s in out["steps"] if s["name"] == "Request accepted")
    assert accepted["state"] == "failed"
    assert "Lead Implementation Specialist" in accepted["advice"]
    assert "app-secret" not in json.dumps(out)


@responses.activate
def test_connect_a_district_that_shares_nothing_fails_the_setup_step(db, capsys, monkeypatch):
    monkeypatch.setenv("CLEVER_DISTRICT_TOKEN", "district-token")
    empty = {"data": [], "links": []}
    record = {"id": OTHER_ID, "name": "Springfield", "sis_type": "powerschool", "state": "success"}
    responses.get(f"{API}/v3.0/districts", json={"data": [{"data": record}], "links": []})
    responses.get(f"{API}/v3.0/schools", json=empty)
    responses.get(f"{API}/v3.0/users", json=empty)
    code, out = connect_json(db, capsys, OTHER_ID)
    assert code == 1
    setup = next(s for s in out["steps"] if s["name"] == "Setup finished in Clever")
    assert setup["state"] == "failed" and "shares no schools and no students" in setup["detail"]
    assert "Set Sharing" in setup["advice"]
