"""The store: migrations, transaction() (nested ones included), opening files, run files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from mgi_roster import store
from mgi_roster.entities import ENTITIES
from mgi_roster.errors import ConfigError
from mgi_roster.staging import runfile
from mgi_roster.store import MIGRATIONS, SCHEMA_VERSION, transaction


def tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }


def version(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])


# --- migrations -------------------------------------------------------------------------------


def test_a_new_store_has_every_table_at_the_current_version(fresh_db):
    assert version(fresh_db) == SCHEMA_VERSION == len(MIGRATIONS)
    expected = {"meta", "districts", "parameters", "runs", "issues", "changes", "merges", "audit"}
    expected |= {f"stg_{e.name}" for e in ENTITIES} | {f"roster_{e.name}" for e in ENTITIES}
    assert expected <= tables(fresh_db)


def test_migrating_again_changes_nothing(file_db):
    path, con = file_db
    con.execute("INSERT INTO districts (district_id, name) VALUES ('d', 'District')")
    con.close()
    with store.opened(path) as again:
        assert version(again) == SCHEMA_VERSION
        assert again.execute("SELECT name FROM districts").fetchall() == [("District",)]


def test_an_older_store_is_brought_forward_keeping_its_rows(tmp_path: Path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    for statement in MIGRATIONS[0]:
        con.execute(statement)
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    con.execute("INSERT INTO runs (district_id, status) VALUES ('d', 'merged')")
    con.close()
    with store.opened(path) as con:
        assert version(con) == SCHEMA_VERSION
        assert con.execute("SELECT run_id, status, staging_file FROM runs").fetchall() == [
            (1, "merged", None)
        ]


def test_a_store_written_by_a_newer_program_is_refused(tmp_path: Path):
    path = tmp_path / "new.duckdb"
    with store.opened(path) as con:
        con.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION + 1)]
        )
    with pytest.raises(ConfigError, match="newer MGI Roster Review"):
        store.connect(path)


def test_a_file_that_is_not_a_database_is_named(tmp_path: Path):
    path = tmp_path / "notes.duckdb"
    path.write_text("not a database " * 100)
    with pytest.raises(ConfigError, match="not a DuckDB database of this program"):
        store.connect(path, wait=0.1)


def test_a_malformed_memory_setting_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("MGI_DUCKDB_MEMORY", "lots")
    with pytest.raises(ConfigError, match="MGI_DUCKDB_MEMORY must be a size in megabytes"):
        store.connect(":memory:")


# --- transactions -----------------------------------------------------------------------------


def district_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute("SELECT name FROM districts ORDER BY name").fetchall()]


def add(con: duckdb.DuckDBPyConnection, name: str) -> None:
    con.execute("INSERT INTO districts (district_id, name) VALUES (?, ?)", [name, name])


def test_a_transaction_commits_when_its_block_ends(fresh_db):
    with transaction(fresh_db):
        add(fresh_db, "a")
    assert district_names(fresh_db) == ["a"]


def test_a_transaction_rolls_back_on_any_exception(fresh_db):
    with pytest.raises(RuntimeError), transaction(fresh_db):
        add(fresh_db, "a")
        raise RuntimeError("in the middle")
    assert district_names(fresh_db) == []
    with transaction(fresh_db):  # the connection is usable afterwards
        add(fresh_db, "b")
    assert district_names(fresh_db) == ["b"]


def test_a_nested_transaction_joins_the_outer_one(fresh_db):
    with transaction(fresh_db):
        add(fresh_db, "outer")
        with transaction(fresh_db):
            add(fresh_db, "inner")
        # the inner block's end commits nothing: the outer one still decides
        assert district_names(fresh_db) == ["inner", "outer"]
    assert district_names(fresh_db) == ["inner", "outer"]


def test_an_exception_inside_a_nested_transaction_rolls_back_everything(fresh_db):
    with pytest.raises(ValueError), transaction(fresh_db):
        add(fresh_db, "outer")
        with transaction(fresh_db):
            add(fresh_db, "inner")
            raise ValueError("inner failed")
    assert district_names(fresh_db) == []


def test_transactions_of_two_cursors_are_their_own(fresh_db):
    other = fresh_db.cursor()
    with transaction(fresh_db):
        add(fresh_db, "mine")
        with transaction(other):  # not nested: another connection
            assert district_names(other) == []
    assert district_names(other) == ["mine"]


# --- sessions and run files -------------------------------------------------------------------


def test_a_store_session_on_a_path_lets_another_process_in_between(tmp_path: Path):
    path = tmp_path / "mgi.duckdb"
    shared = store.Store(path)
    with shared.session() as con:
        add(con, "first")
    probe = "import duckdb, sys; print(duckdb.connect(sys.argv[1]).execute('SELECT count(*) FROM districts').fetchone()[0])"
    out = subprocess.run(
        [sys.executable, "-c", probe, str(path)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "1"


def test_a_store_session_on_a_connection_leaves_it_open(fresh_db):
    with store.Store(fresh_db).session() as con:
        assert con is fresh_db
    assert fresh_db.execute("SELECT 1").fetchone() == (1,)


def start(con: duckdb.DuckDBPyConnection, district: str = "d") -> int:
    return int(
        con.execute(
            "INSERT INTO runs (district_id, status) VALUES (?, 'fetching') RETURNING run_id",
            [district],
        ).fetchone()[0]
    )


def test_a_run_file_has_the_stores_tables_and_a_snapshot_of_the_current_roster(file_db):
    path, con = file_db
    con.execute(
        """INSERT INTO roster_schools (district_id, id, name, valid_from, valid_to) VALUES
           ('d', 'now', 'Current', 2, NULL), ('d', 'old', 'Replaced', 1, 2), ('e', 'x', 'Other', 1, NULL)"""
    )
    run_id = start(con)
    file = runfile.create(con, run_id, "d")
    assert file.parent == path.with_name("mgi.runs") and runfile.file_of(con, run_id) == file
    with runfile.opened(file) as run:
        assert {f"stg_{e.name}" for e in ENTITIES} <= tables(run)
        assert {"issues", "changes"} <= tables(run)
        assert run.execute("SELECT id FROM roster_schools").fetchall() == [("now",)]


def test_publishing_copies_findings_and_schools_and_discarding_removes_them(file_db):
    _, con = file_db
    run_id = start(con)
    file = runfile.create(con, run_id, "d")
    with runfile.opened(file) as run:
        run.execute(
            "INSERT INTO stg_schools (run_id, district_id, id, name) VALUES (?, 'd', 's', 'S')",
            [run_id],
        )
        run.execute(
            """INSERT INTO issues (run_id, district_id, entity, "check", severity, message)
               VALUES (?, 'd', 'schools', 'required', 'error', 'x')""",
            [run_id],
        )
    with transaction(con):
        runfile.publish(con, run_id, file)
    assert con.execute("SELECT count(*) FROM issues WHERE run_id = ?", [run_id]).fetchone() == (1,)
    assert con.execute("SELECT name FROM stg_schools WHERE run_id = ?", [run_id]).fetchall() == [
        ("S",)
    ]
    runfile.discard(con, run_id)
    runfile.remove(file)
    assert con.execute("SELECT count(*) FROM issues WHERE run_id = ?", [run_id]).fetchone() == (0,)
    assert not file.exists()


def test_sweeping_deletes_the_files_no_run_needs(file_db):
    _, con = file_db
    staged, merged = start(con), start(con)
    keep, stale = runfile.create(con, staged, "d"), runfile.create(con, merged, "d")
    stray = keep.with_name("run-999.duckdb")
    stray.write_bytes(b"")
    con.execute("UPDATE runs SET status = 'staged' WHERE run_id = ?", [staged])
    con.execute("UPDATE runs SET status = 'merged' WHERE run_id = ?", [merged])
    assert sorted(runfile.sweep(con)) == sorted([stale, stray])
    assert keep.exists() and not stale.exists() and not stray.exists()


def test_approving_a_run_whose_file_is_gone_is_refused_plainly(file_db):
    from mgi_roster.errors import MergeRefused

    _, con = file_db
    run_id = start(con)
    runfile.remove(runfile.create(con, run_id, "d"))
    with pytest.raises(MergeRefused, match=f"staged records of run {run_id} are no longer"):
        runfile.require(con, run_id)


def test_duckdb_never_draws_its_progress_bar(tmp_path: Path):
    """DuckDB's progress bar writes to stdout: a long query would break `sync --json`."""
    con = store.connect(tmp_path / "mgi.duckdb")
    assert con.execute("SELECT current_setting('enable_progress_bar')").fetchone() == (False,)
    run = tmp_path / "run.duckdb"
    with runfile.opened(run) as work:
        assert work.execute("SELECT current_setting('enable_progress_bar')").fetchone() == (False,)
    con.close()


def test_settings_changed_for_a_block_come_back_as_they_were(fresh_db):
    """store.temporarily: DuckDB reports a memory bound rounded down ('1.8 GiB'); put back as
    reported, it would creep down a little each time a block bounds it."""
    fresh_db.execute("SET memory_limit = '1900MB'; SET threads = 2")
    names = "current_setting('memory_limit'), current_setting('threads'), current_setting('preserve_insertion_order')"
    before = fresh_db.execute(f"SELECT {names}").fetchone()
    for _ in range(20):
        with store.temporarily(
            fresh_db, memory_limit="64MB", threads=1, preserve_insertion_order=False
        ):
            inside = fresh_db.execute(f"SELECT {names}").fetchone()
            assert inside is not None and inside[1:] == (1, False) and "MiB" in inside[0]
    assert fresh_db.execute(f"SELECT {names}").fetchone() == before
