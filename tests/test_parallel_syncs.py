"""Syncs of two districts at the same time, in two processes, into one store.

Each run stages into a file of its own and takes the main store only for moments, so two
districts' syncs overlap instead of queueing behind each other.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mgi_roster import parameters, store
from mgi_roster.demo import DEMO_DISTRICT_ID, DEMO_DISTRICT_TOKEN, DemoDistrict, make_server
from mgi_roster.parameters import Parameters
from tests.support import REPO, running

OTHER_DISTRICT = "0ddd0000000000000000beef"  # served by a second demo server with the demo's token


def sync_process(path: Path, district: str, base: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mgi_roster",
            "--db",
            str(path),
            "sync",
            "--district",
            district,
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=path.parent,  # no .streamlit/secrets.toml there
        env={
            **os.environ,
            "PYTHONPATH": str(REPO),
            "CLEVER_API_BASE": base,
            "CLEVER_OAUTH_BASE": base,
            "CLEVER_DISTRICT_TOKEN": DEMO_DISTRICT_TOKEN,
        },
    )


@pytest.mark.slow
def test_syncs_of_two_districts_in_two_processes_run_at_the_same_time(tmp_path: Path) -> None:
    path = tmp_path / "mgi.duckdb"
    with store.opened(path) as con:
        for district in (DEMO_DISTRICT_ID, OTHER_DISTRICT):
            parameters.save(con, district, Parameters())
    # Each server answers its 5th data request (the students) after 3 s: both syncs are in the
    # middle of their fetch at the same time.
    first = make_server(DemoDistrict(students=200), faults=["slow=3"])
    second = make_server(DemoDistrict(students=200), faults=["slow=3"])
    with running(first) as one, running(second) as two:
        processes = [
            sync_process(path, DEMO_DISTRICT_ID, one),
            sync_process(path, OTHER_DISTRICT, two),
        ]
        answers = [(*p.communicate(timeout=120), p.returncode) for p in processes]
    assert [code for _, _, code in answers] == [0, 0], answers
    runs = [json.loads(out) for out, _, _ in answers]
    assert [r["status"] for r in runs] == ["staged", "staged"]
    assert [r["counts"]["students"] for r in runs] == [200, 200]
    with store.opened(path) as con:
        (overlap,) = con.execute(
            """SELECT a.started_at < b.finished_at AND b.started_at < a.finished_at
               FROM runs a, runs b WHERE a.run_id = ? AND b.run_id = ?""",
            [runs[0]["run_id"], runs[1]["run_id"]],
        ).fetchone()
        districts = {r[0] for r in con.execute("SELECT district_id FROM runs").fetchall()}
    assert overlap, "the two syncs ran one after the other"
    assert districts == {DEMO_DISTRICT_ID, OTHER_DISTRICT}
