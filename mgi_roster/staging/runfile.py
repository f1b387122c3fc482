"""Each run stages into a DuckDB file of its own, so a sync never holds the main store.

DuckDB lets one process at a time open a database file, and a sync of 200,000 students works
for half a minute. If that work happened in the main store (`data/mgi.duckdb`), the dashboard
and every other command would wait for it. So a run's long work (fetch, stage, validate, diff)
happens in its own file, `<store>.runs/run-<id>.duckdb`, and the main store is taken only for
moments:

    create()    start: the run's file gets empty staging, issues and changes tables shaped
                like the main store's, and a snapshot of the district's current roster (what
                validation and the diff compare with); roster_version says which one. The
                latest merge leaves that roster as a file (staging/base.py): then the run's
                file starts as a copy of it
    ...         fetch, stage, validate, diff: in the run's file only, the main store is free
    publish()   end: the run's issues and changes (and its few staged schools, whose names the
                review pages show) are copied into the main store in one short transaction
    attached()  approve: the merge reads the staged rows from the run's file, ATTACHed
                read-only, inside the main store's one merge transaction
    discard()   merged, rejected or failed: the file is deleted

Because the run's file has the same table names as the main store, validation and the diff
run unchanged against either. A run's file name is kept on its row (`runs.staging_file`), beside the store. A
process killed at any moment leaves at worst a file no run needs; `sweep()` deletes those.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb

from mgi_roster.entities import ENTITIES, SCHOOLS
from mgi_roster.errors import MergeRefused
from mgi_roster.kinds import RunStatus, sql_list
from mgi_roster.roster import sql
from mgi_roster.settings import StoreSettings
from mgi_roster.staging import base
from mgi_roster.store import configure, database_path, execute, temporarily

# The tables a run's file holds, all shaped like the main store's tables of the same name
# (person_matches: the run's proposed re-keys and links, roster/rekey.py).
FINDINGS = ("issues", "changes", "person_matches")


def _directory(con: duckdb.DuckDBPyConnection) -> Path:
    """Where the runs of this store keep their files: beside a file store; in the temporary
    directory for an in-memory one (tests)."""
    path = database_path(con)
    if path is None:
        return Path(tempfile.gettempdir()) / "mgi-roster-runs"
    return path.with_name(path.stem + ".runs")


def file_of(con: duckdb.DuckDBPyConnection, run_id: int) -> Path | None:
    """The run's file. Its name is kept on the run, its folder follows the store (so a store
    copied or restored together with its .runs folder keeps its staged runs)."""
    row = con.execute("SELECT staging_file FROM runs WHERE run_id = ?", [run_id]).fetchone()
    return _directory(con) / row[0] if row and row[0] else None


class StagingInUse(MergeRefused):
    """The run's file is attached by another session of this process (an approval under way)."""


@contextlib.contextmanager
def attached(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    read_only: bool = True,
    checkpoint: bool = True,
) -> Iterator[str]:
    """The run's file ATTACHed to the main store for the block; yields its schema name.

    Attached databases belong to the whole DuckDB instance, which every connection of this
    process to the same file shares: each attachment gets a name of its own. A file written to
    is checkpointed when it is detached, unless `checkpoint` is False: what was written then
    stays in its write-ahead log, for the next to open it (never for a file that is copied)."""
    alias = f"run_{uuid.uuid4().hex[:12]}"
    mode = " (READ_ONLY)" if read_only else ""
    try:
        con.execute(f"ATTACH {_literal(path)} AS {alias}{mode}")
    except duckdb.Error:
        if path.is_file():
            raise StagingInUse(
                f"The staging of {path.stem} is in use by another session at this moment."
            ) from None
        raise
    try:
        yield alias
    finally:
        with contextlib.suppress(duckdb.Error):
            if checkpoint:
                con.execute(f"DETACH {alias}")
            else:
                with temporarily(con, checkpoint_on_detach="DISABLED"):
                    con.execute(f"DETACH {alias}")


def create(con: duckdb.DuckDBPyConnection, run_id: int, district_id: str) -> Path:
    """Make the run's file: empty staging and findings tables, and the district's current
    roster (archived rows included: a returning record is "restored"). Records its path."""
    directory = _directory(con)
    directory.mkdir(parents=True, exist_ok=True)
    # An in-memory store's run ids restart at 1 for every store: name its files uniquely.
    stem = f"run-{run_id}" if database_path(con) else f"run-{run_id}-{uuid.uuid4().hex[:12]}"
    path = directory / f"{stem}.duckdb"
    for leftover in (path, path.with_suffix(".duckdb.wal")):
        leftover.unlink(missing_ok=True)
    # The roster (and the rows its latest merge saw), copied as a file when the latest merge
    # left it beside the store (staging/base.py), else row by row
    copied = base.copy_current(con, district_id, path)
    # A copy of the base gets only empty tables here: left in its log, which the run's own
    # connection reads when it opens the file, rather than checkpointed (0.1 s at 1M students)
    with bounded(con), attached(con, path, read_only=False, checkpoint=not copied) as run:
        for entity in ENTITIES:
            staging = sql.staging_table(entity)
            con.execute(f"CREATE TABLE {run}.{staging} AS SELECT * FROM {staging} LIMIT 0")
            if not copied:
                execute(con, base.roster_copy(entity, run), {"district": district_id})
        for table in FINDINGS:
            con.execute(f"CREATE TABLE {run}.{table} AS SELECT * FROM {table} LIMIT 0")
        if not copied:  # the base holds them too
            previous_findings(con, run, district_id)
    con.execute("UPDATE runs SET staging_file = ? WHERE run_id = ?", [path.name, run_id])
    return path


def previous_findings(con: duckdb.DuckDBPyConnection, run: str, district_id: str) -> None:
    """The latest merge's findings and parameters, which an events run carries for the records
    its events do not reach (review/validation/carry.py)."""
    from mgi_roster.review.validation import carry

    latest = sql.latest_merge_run()
    entities = sql_list(e.name for e in carry.FIELDS_CARRIED)
    execute(
        con,
        f"""CREATE OR REPLACE TABLE {run}.{carry.PREVIOUS_ISSUES} AS SELECT * FROM issues
            WHERE run_id = {latest} AND entity IN {entities} AND record_id IS NOT NULL""",
        {"district": district_id},
    )
    execute(
        con,
        f"""CREATE OR REPLACE TABLE {run}.{carry.PREVIOUS_PARAMETERS} AS
            SELECT parameters FROM runs WHERE run_id = {latest}""",
        {"district": district_id},
    )


# What a run's DuckDB may cache, MGI_DUCKDB_RUN_MEMORY (128 MB by default). A sync must fit a
# small machine beside the dashboard: with the interpreter, pandas and pandera (~170 MB) and the
# pages in flight, a million-student sync stays near 400 MB; what does not fit spills to the
# run's temporary folder. 96 MB is too little for a million students (a DuckDB operator that
# cannot spill runs out); a larger district may need more.
RUN_THREADS = 1  # the other core parses the next page (the prefetching thread) or serves pages
# An events run, once its events are fetched, has nothing else to wait for: applying them,
# validation and the diff take both cores (their work is the scope of the events, well within
# the memory bound; a full run's review keeps one thread: two held twice the memory and ran
# out of the bound now and then at 100,000 students)
REVIEW_THREADS = 2


def run_memory() -> int:
    """MB a run's DuckDB may cache (never more than the store's own bound)."""
    settings = StoreSettings()
    return min(settings.duckdb_run_memory, settings.duckdb_memory)


def temp_folder(path: Path) -> Path:
    """Where the run's DuckDB spills: beside its file, removed with it."""
    return path.with_name(path.name + ".tmp")


def tune(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Bound a run's DuckDB: memory (spilling beside the run's file), threads, and no promise
    of insertion order (which makes DuckDB hold rows back to keep it; every reader of staging
    orders or keys what it reads)."""
    configure(con, run_memory())
    threads(con, RUN_THREADS)
    con.execute("SET preserve_insertion_order = false")
    con.execute(f"SET temp_directory = {_literal(temp_folder(path))}")


def threads(con: duckdb.DuckDBPyConnection, wanted: int) -> None:
    """Let the run's DuckDB use `wanted` threads (never more than the machine's cores)."""
    con.execute(f"SET threads = {max(1, min(wanted, os.cpu_count() or 1))}")


@contextlib.contextmanager
def bounded(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """The main store's memory bounded like a run's while it copies the roster into the run's
    file or the findings back (a sync's process stays small), then as it was."""
    # Copying millions of rows in order would hold them back in memory; nothing reads them in
    # insertion order.
    with temporarily(con, memory_limit=f"{run_memory()}MB", preserve_insertion_order=False):
        yield


@contextlib.contextmanager
def opened(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The run's own file, for fetching, staging, validating and diffing."""
    con = duckdb.connect(str(path))
    try:
        tune(con, path)
        yield con
    finally:
        con.close()
        shutil.rmtree(temp_folder(path), ignore_errors=True)


def publish(con: duckdb.DuckDBPyConnection, run_id: int, path: Path) -> None:
    """Copy the run's findings (those an events run carries too) and staged schools into the
    main store (inside the caller's transaction, which also records the run's outcome)."""
    from mgi_roster.review.validation import findings

    with bounded(con), attached(con, path) as run:
        for table in FINDINGS:
            con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
            # The run's findings with those an events run carries (a view in its file)
            rows = findings.of_run(con, run) if table == "issues" else f"{run}.{table}"
            con.execute(f"INSERT INTO {table} SELECT * FROM {rows} WHERE run_id = ?", [run_id])
        schools = sql.staging_table(SCHOOLS)
        con.execute(
            f"INSERT INTO {schools} BY NAME SELECT * FROM {run}.{schools} WHERE run_id = ?",
            [run_id],
        )


def require(con: duckdb.DuckDBPyConnection, run_id: int) -> Path:
    """The run's file, which an approval reads; a clear refusal when it is gone."""
    path = file_of(con, run_id)
    if path is None or not path.is_file():
        raise MergeRefused(
            f"The staged records of run {run_id} are no longer on this machine (the file "
            f"{path.name if path else 'of its staging'} is missing). Sync again, then approve "
            "the new run."
        )
    return path


def discard(con: duckdb.DuckDBPyConnection, run_id: int, *, keep_findings: bool = False) -> None:
    """Drop a run's staging from the main store. A merged or rejected run keeps its issues and
    changes for history; a failed run keeps nothing but its message. Its file is deleted by
    `remove` once the caller's transaction has committed."""
    for entity in ENTITIES:
        con.execute(f"DELETE FROM {sql.staging_table(entity)} WHERE run_id = ?", [run_id])
    if not keep_findings:
        for table in FINDINGS:
            con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])


def remove(path: Path | None) -> None:
    """Delete a run's file (and its write-ahead log); nothing when it is already gone."""
    if path is None:
        return
    for file in (path, path.with_name(path.name + ".wal")):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            file.unlink()
    shutil.rmtree(temp_folder(path), ignore_errors=True)


def sweep(con: duckdb.DuckDBPyConnection) -> list[Path]:
    """Delete the files no run needs any more: runs merged, rejected or failed (a process killed
    before it could delete them), and files no run names. Returns what was deleted."""
    directory = _directory(con)
    if not directory.is_dir():
        return []
    keep = {
        directory / row[0]
        for row in con.execute(
            "SELECT staging_file FROM runs WHERE staging_file IS NOT NULL AND status IN (?, ?, ?)",
            [RunStatus.FETCHING, RunStatus.STAGED, RunStatus.HELD],
        ).fetchall()
    }
    if database_path(con) is None:
        return []  # the shared temporary directory also holds other in-memory stores' runs
    removed = []
    for file in directory.glob("run-*.duckdb"):
        if file not in keep:
            remove(file)
            removed.append(file)
    for file in directory.glob("base-*.tmp*"):  # a base being written when its process died
        file.unlink(missing_ok=True)
        removed.append(file)
    return removed


def _literal(path: Path) -> str:
    return "'" + os.fspath(path).replace("'", "''") + "'"
