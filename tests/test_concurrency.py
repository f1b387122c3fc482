"""Two of the same thing at once: syncs of one district, approvals of one run.

Within one process (the dashboard serves every session from one process; the scheduler may run
in it too) DuckDB gives each cursor its own transactions, and the `runs` table is the lock: a
run `fetching` that belongs to a live process refuses a second sync. Across processes DuckDB
lets one process hold the file at a time; a sync holds it only for moments (its long work is
in its own staging file), so another process reads and writes meanwhile, and one that finds the
file held waits in `store.connect` (15 s), then says plainly that the database is in use.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from mgi_roster import parameters, store, sync
from mgi_roster.__main__ import main
from mgi_roster.demo import DEMO_DISTRICT_ID, DEMO_DISTRICT_TOKEN, DemoDistrict, make_server
from mgi_roster.errors import ConfigError, MergeRefused, RosterError, SyncRefused
from mgi_roster.parameters import Parameters
from mgi_roster.roster import merge
from tests.support import (
    REPO,
    build_two_day_db,
    copied_store,
    copy_store,
    fingerprint,
    roster_snapshot,
    running,
    settings_for,
)

STUDENTS = 300
PAGE = 50


@dataclass(frozen=True)
class TwoDays:
    path: Path
    run_id: int  # day 3, staged
    after: dict[str, Any]  # the database once that run is approved


@pytest.fixture(scope="module")
def two_days(tmp_path_factory) -> TwoDays:
    folder = tmp_path_factory.mktemp("concurrency")
    path = folder / "two-days.duckdb"
    run_id = build_two_day_db(path, STUDENTS, page_size=PAGE)
    merged = folder / "merged.duckdb"
    copy_store(path, merged)
    with store.opened(merged) as con:
        merge.approve(con, run_id, by="reference", confirm_guards=True)
        after = fingerprint(con, run_id)
    return TwoDays(path, run_id, after)


@pytest.fixture
def two_days_db(two_days: TwoDays, tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A copy of the two-day store (day 3 staged), for one test to race in."""
    with copied_store(two_days.path, tmp_path) as con:
        yield con


def at_once(work: Callable[[duckdb.DuckDBPyConnection], Any], con, threads: int = 2) -> list[Any]:
    """Run `work(cursor)` in several threads released together; their results or exceptions."""
    barrier = threading.Barrier(threads)
    results: list[Any] = []

    def run() -> None:
        cursor = con.cursor()
        barrier.wait()
        try:
            results.append(work(cursor))
        except Exception as exc:  # the caller judges every outcome
            results.append(exc)
        finally:
            cursor.close()

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    return results


# --- syncs ------------------------------------------------------------------------------------


def test_a_sync_started_while_one_runs_in_this_process_is_refused(two_days_db) -> None:
    before = roster_snapshot(two_days_db, with_merges=True)
    server = make_server(DemoDistrict(students=STUDENTS, day=3), faults=["slow=0.3"])
    with running(server) as base:
        first: list[sync.SyncResult] = []
        worker = threading.Thread(
            target=lambda: first.append(
                sync.run_sync(
                    two_days_db.cursor(),
                    DEMO_DISTRICT_ID,
                    settings=settings_for(base),
                    page_size=PAGE,
                )
            )
        )
        worker.start()
        watcher = two_days_db.cursor()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            fetching = watcher.execute(
                "SELECT run_id FROM runs WHERE status = 'fetching'"
            ).fetchall()
            if fetching:
                break
            time.sleep(0.005)
        assert fetching, "the first sync never started"
        with pytest.raises(SyncRefused) as refused:
            sync.run_sync(
                two_days_db.cursor(), DEMO_DISTRICT_ID, settings=settings_for(base), page_size=PAGE
            )
        worker.join(timeout=30)
    running_id = fetching[0][0]
    assert refused.value.message == (
        f"A sync of district {DEMO_DISTRICT_ID} is already running (run {running_id}). Wait for "
        "it to finish, then look at its result."
    )
    assert first and first[0].run_id == running_id and first[0].status == "staged"
    assert two_days_db.execute(
        "SELECT count(*) FROM runs WHERE status = 'fetching'"
    ).fetchone() == (0,)
    assert roster_snapshot(two_days_db, with_merges=True) == before


def test_two_syncs_started_at_the_same_moment_in_one_process_never_both_run(two_days_db) -> None:
    outcomes = []
    for _ in range(30):
        outcomes.append(
            at_once(lambda c: sync.start_run(c, DEMO_DISTRICT_ID, "manual"), two_days_db)
        )
        two_days_db.execute("UPDATE runs SET status = 'failed' WHERE status = 'fetching'")
    for results in outcomes:
        assert sum(isinstance(r, int) for r in results) == 1, results
        assert sum(isinstance(r, SyncRefused) for r in results) == 1, results


def cli_env(base: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "CLEVER_API_BASE": base,
        "CLEVER_OAUTH_BASE": base,
        "CLEVER_DISTRICT_TOKEN": DEMO_DISTRICT_TOKEN,
    }


def cli_sync(path: Path, base: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mgi_roster", "--db", str(path), "sync"]
        + ["--district", DEMO_DISTRICT_ID, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=path.parent,  # no .streamlit/secrets.toml there
        env=cli_env(base),
    )


@pytest.mark.slow
def test_a_sync_in_another_process_leaves_the_store_free_and_refuses_a_second_sync(
    tmp_path: Path, capsys
) -> None:
    path = tmp_path / "mgi.duckdb"
    with store.opened(path) as con:
        parameters.save(con, DEMO_DISTRICT_ID, Parameters())
    # The 5th data request (students, in a one-page-per-entity sync) answers after 4 s.
    server = make_server(DemoDistrict(students=STUDENTS), faults=["slow=4"])
    with running(server) as base:
        first = cli_sync(path, base)
        deadline = time.monotonic() + 30
        while server.faults.fired["slow"] < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.faults.fired["slow"] == 1, "the first sync never reached the students"

        # While it fetches, this process reads and writes the store at once.
        started = time.monotonic()
        assert main(["--db", str(path), "history", "--district", DEMO_DISTRICT_ID, "--json"]) == 0
        with store.opened(path) as con:
            parameters.save(con, DEMO_DISTRICT_ID, Parameters(archive_threshold_pct=12))
        assert time.monotonic() - started < 2.0
        history = json.loads(capsys.readouterr().out)
        assert [r["status"] for r in history["runs"]] == ["fetching"]

        # A second sync of the same district, from another process, is refused plainly.
        second = cli_sync(path, base)
        answers = [(*p.communicate(timeout=60), p.returncode) for p in (first, second)]
    (out_one, _, code_one), (out_two, err_two, code_two) = answers
    assert code_one == 0 and json.loads(out_one)["status"] == "staged"
    assert code_two == 2 and "already running" in err_two, err_two


def test_a_process_holding_the_store_longer_than_the_wait_gets_a_plain_sentence(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    path = tmp_path / "mgi.duckdb"
    store.connect(path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
            "print('held', flush=True); time.sleep(30)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(ConfigError) as busy:
            store.connect(path, wait=0.3)
        assert busy.value.title == "Database busy"
        assert busy.value.message == (
            f"The database {path} is in use by another MGI Roster Review process (waited 0.3 s). "
            "Wait for it to finish (a merge, or the start or end of a sync), then try again."
        )
        monkeypatch.setattr(store.connect, "__kwdefaults__", {"wait": 0.3})
        capsys.readouterr()
        assert main(["--db", str(path), "history", "--district", DEMO_DISTRICT_ID]) == 1
        assert capsys.readouterr().err.strip() == f"{busy.value.title}: {busy.value.message}"
    finally:
        holder.kill()
        holder.wait()


# --- approvals --------------------------------------------------------------------------------


def test_two_approvals_at_once_in_one_process_merge_once(two_days_db, two_days: TwoDays) -> None:
    results = at_once(
        lambda c: merge.approve(c, two_days.run_id, by="reference", confirm_guards=True),
        two_days_db,
    )
    # the loser's answer (already merged, or an error) is judged by the next test
    merged = [r for r in results if isinstance(r, merge.MergeResult) and not r.already_merged]
    assert len(merged) == 1, results
    assert fingerprint(two_days_db, two_days.run_id) == two_days.after


def test_an_approval_that_loses_the_race_in_one_process_gets_a_clear_answer(
    two_days_db, two_days: TwoDays
) -> None:
    # Hold the first approval inside its transaction (after its writes, before its commit).
    inside, release = threading.Event(), threading.Event()

    def hold_before_commit(progress: merge.MergeProgress) -> None:
        if progress.done:
            inside.set()
            release.wait(30)

    first: list[Any] = []
    worker = threading.Thread(
        name="first",
        target=lambda: first.append(
            merge.approve(
                two_days_db.cursor(),
                two_days.run_id,
                by="reference",
                confirm_guards=True,
                progress=hold_before_commit,
            )
        ),
    )
    worker.start()
    assert inside.wait(30)
    try:
        try:
            second: Any = merge.approve(
                two_days_db.cursor(), two_days.run_id, by="second", confirm_guards=True
            )
        except RosterError as exc:
            second = exc
        except duckdb.Error as exc:
            pytest.fail(f"the second approval got a raw DuckDB error: {exc!r}")
    finally:
        release.set()
        worker.join(timeout=30)
    assert first and not first[0].already_merged
    assert isinstance(second, MergeRefused) or second.already_merged
    assert fingerprint(two_days_db, two_days.run_id) == two_days.after
