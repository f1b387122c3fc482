"""The command line contract other tools and the scheduler rely on."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest
import requests
import responses

from mgi_roster import demo
from mgi_roster.__main__ import main
from tests.conftest import API

DEMO = demo.DEMO_DISTRICT_ID


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
    assert out["status"] == "refused" and "Define them first" in out["message"]


def test_malformed_district_id_exits_2_without_traceback(db, capsys):
    code, out = sync_json(db, capsys, district="not-a-district")
    assert code == 2
    assert "24 characters" in out["message"]


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
    assert run(db, "parameters", "set", "--district", district, "--file", str(params_file)) == 0
    code, out = sync_json(db, capsys, district=district)
    assert code == 1
    assert out["status"] == "failed" and "refused the district token" in out["message"]
    assert "secret-token-value" not in json.dumps(out)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
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
