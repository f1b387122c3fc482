"""DuckDB: the one file where everything durable lives, its schema, and `transaction()`.

Tables (every one carries district_id; several districts share a file):

    meta                      schema version
    districts                 the districts a specialist works on (+ demo SIS day, last Test Connection)
    parameters                District Parameters, one JSON document per district
    runs                      one row per sync run: status, counts, message, its staging file
    stg_<entity>              the shape of a run's staged rows; a run stages into a file of
                              its own (staging/runfile.py), only its schools are copied here
    issues                    validation findings, one row per bad cell or broken rule
    changes                   the diff of a run against the roster
    roster_<entity>           what the MGI holds, versioned: a row is valid from one merge version
                              until the next one that changed it (valid_to NULL = current)
    merges                    each merge or undo, the roster version it made
    audit                     who did what, when

The file is opened per unit of work and closed again (not held for a whole dashboard session):
DuckDB lets one process write a file at a time, and the command line and the scheduler must be
able to use it while the dashboard is open.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import duckdb

from mgi_roster.entities import ENTITIES, Entity
from mgi_roster.errors import ConfigError
from mgi_roster.kinds import RunStatus
from mgi_roster.roster.sql import q
from mgi_roster.roster.sql import roster_table as roster
from mgi_roster.roster.sql import staging_table as stg
from mgi_roster.settings import StoreSettings

RUN_STATUSES = tuple(str(s) for s in RunStatus)
LOCK_WAIT_SECONDS = 15.0


_NAMED = re.compile(r"\$([A-Za-z_]\w*)")


def execute(
    con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, Any]
) -> duckdb.DuckDBPyConnection:
    """Run SQL with the named parameters it uses, taken from a shared mapping (DuckDB refuses
    named parameters a statement does not use)."""
    return con.execute(sql, {name: params[name] for name in set(_NAMED.findall(sql))})


def db_path(cli_value: str | os.PathLike[str] | None = None) -> Path:
    """--db, else MGI_DB, else data/mgi.duckdb."""
    return Path(cli_value) if cli_value else StoreSettings().db


def _entity_columns(entity: Entity) -> str:
    return ", ".join(f"{q(c.name)} {c.sql_type}" for c in entity.columns)


def staging_table_sql(entity: Entity) -> str:
    """CREATE TABLE of an entity's staging table (a run's staged rows)."""
    return (
        f"CREATE TABLE {stg(entity)} (run_id INTEGER NOT NULL, district_id VARCHAR NOT NULL, "
        f"{_entity_columns(entity)})"
    )


def _schema_v1() -> list[str]:
    statements = [
        "CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
        """CREATE TABLE districts (
            district_id VARCHAR PRIMARY KEY,
            name VARCHAR NOT NULL,
            is_demo BOOLEAN NOT NULL DEFAULT false,
            demo_day INTEGER,
            added_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            clever_name VARCHAR, sis_type VARCHAR, clever_state VARCHAR, last_sync VARCHAR,
            token_source VARCHAR, verified_at TIMESTAMPTZ)""",
        """CREATE TABLE parameters (
            district_id VARCHAR PRIMARY KEY, body JSON NOT NULL,
            saved_at TIMESTAMPTZ NOT NULL DEFAULT now(), saved_by VARCHAR)""",
        "CREATE SEQUENCE run_ids START 1",
        f"""CREATE TABLE runs (
            run_id INTEGER PRIMARY KEY DEFAULT nextval('run_ids'),
            district_id VARCHAR NOT NULL,
            trigger VARCHAR NOT NULL DEFAULT 'manual',
            status VARCHAR NOT NULL CHECK (status IN {RUN_STATUSES!r}),
            started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            finished_at TIMESTAMPTZ,
            counts JSON, errors INTEGER, warnings INTEGER, changes JSON, guards JSON,
            message VARCHAR, demo_day INTEGER, parameters JSON, roster_version INTEGER,
            decided_by VARCHAR, decided_at TIMESTAMPTZ)""",
        """CREATE TABLE issues (
            run_id INTEGER NOT NULL, district_id VARCHAR NOT NULL, entity VARCHAR NOT NULL,
            record_id VARCHAR, field VARCHAR, "check" VARCHAR NOT NULL,
            severity VARCHAR NOT NULL CHECK (severity IN ('error', 'warning')),
            value VARCHAR, message VARCHAR NOT NULL, school VARCHAR, record_name VARCHAR, sis_id VARCHAR)""",
        """CREATE TABLE changes (
            run_id INTEGER NOT NULL, district_id VARCHAR NOT NULL, entity VARCHAR NOT NULL,
            record_id VARCHAR NOT NULL,
            change VARCHAR NOT NULL CHECK (change IN ('added', 'updated', 'archived', 'absent', 'restored')),
            field VARCHAR, before VARCHAR, after VARCHAR, school VARCHAR, record_name VARCHAR)""",
        """CREATE TABLE merges (
            version INTEGER NOT NULL, district_id VARCHAR NOT NULL, run_id INTEGER,
            kind VARCHAR NOT NULL CHECK (kind IN ('merge', 'undo')),
            actor VARCHAR, merged_at TIMESTAMPTZ NOT NULL DEFAULT now(), counts JSON,
            undone BOOLEAN NOT NULL DEFAULT false, undoes INTEGER,
            PRIMARY KEY (district_id, version))""",
        """CREATE TABLE audit (
            logged_at TIMESTAMPTZ NOT NULL DEFAULT now(), district_id VARCHAR, action VARCHAR NOT NULL,
            run_id INTEGER, version INTEGER, actor VARCHAR, detail JSON)""",
    ]
    for entity in ENTITIES:
        columns = _entity_columns(entity)
        statements.append(staging_table_sql(entity))
        statements.append(
            f"""CREATE TABLE {roster(entity)} (district_id VARCHAR NOT NULL, {columns},
                archived BOOLEAN NOT NULL DEFAULT false,
                first_seen_run INTEGER, last_seen_run INTEGER,
                valid_from INTEGER NOT NULL, valid_to INTEGER)"""
        )
    return statements


def _schema_v2() -> list[str]:
    """Automatic sync: a schedule per district; runs know which process owns them."""
    return [
        """CREATE TABLE schedules (
            district_id VARCHAR PRIMARY KEY,
            body JSON NOT NULL,
            last_slot TIMESTAMPTZ,
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now(), updated_by VARCHAR)""",
        "ALTER TABLE runs ADD COLUMN owner VARCHAR",
    ]


def _schema_v3() -> list[str]:
    """Roster-quality figures cached per roster version (quality.py)."""
    return [
        """CREATE TABLE quality_cache (
            district_id VARCHAR NOT NULL, version INTEGER NOT NULL, name VARCHAR NOT NULL,
            students BIGINT, teachers BIGINT)"""
    ]


def _schema_v4() -> list[str]:
    """Runs stage into files of their own (staging/runfile.py); what the district's sharing
    left out is counted when the run is staged, since its staged rows do not stay."""
    return [
        "ALTER TABLE runs ADD COLUMN staging_file VARCHAR",
        "ALTER TABLE runs ADD COLUMN unshared INTEGER",
    ]


def _schema_issues_as_data() -> list[str]:
    """Issues are data (review/validation/messages.py): a row keeps its check's params and its
    sentence is rendered when shown. Rows written before keep their stored `message` (and no
    params), and render as that message; new rows leave `message` NULL."""
    return [
        "ALTER TABLE issues ADD COLUMN params JSON",
        "ALTER TABLE issues ALTER COLUMN message DROP NOT NULL",
    ]


def _schema_v5() -> list[str]:
    """Connection and automatic sync as the MGI documents them: the last connection checklist
    per District ID (a wrong ID has one too), each district's contacts for notifications, the
    expiry notice already sent for a schedule, and a notification that failed on its run."""
    return [
        """CREATE TABLE checklists (
            district_id VARCHAR PRIMARY KEY, body JSON NOT NULL,
            checked_at TIMESTAMPTZ NOT NULL DEFAULT now())""",
        "ALTER TABLE districts ADD COLUMN contacts JSON",
        "ALTER TABLE schedules ADD COLUMN expiry_notice DATE",
        "ALTER TABLE runs ADD COLUMN notice VARCHAR",
    ]


def _schema_review_depth() -> list[str]:
    """Partial approval and the review's depth (issue 15): the records an approval withheld,
    each with its reason (roster/partial.py), and what the diff learnt about each change: its
    high impact (a student's school, grade or screening class), its likely cause and whether it
    is unusual (review/impact.py). The change columns are NULL on rows written before."""
    return [
        """CREATE TABLE run_withheld (
            run_id INTEGER NOT NULL, district_id VARCHAR NOT NULL, entity VARCHAR NOT NULL,
            record_id VARCHAR NOT NULL, change VARCHAR, record_name VARCHAR, school VARCHAR,
            reason VARCHAR NOT NULL, detail VARCHAR)""",
        "ALTER TABLE changes ADD COLUMN impact VARCHAR",
        "ALTER TABLE changes ADD COLUMN cause VARCHAR",
        "ALTER TABLE changes ADD COLUMN unusual VARCHAR",
        "ALTER TABLE changes ADD COLUMN student_school VARCHAR",
        "ALTER TABLE changes ADD COLUMN student_grade VARCHAR",
    ]


def _schema_people() -> list[str]:
    """Same person or not (roster/rekey.py, roster/manual.py): students added by hand are marked
    `manual`; a run's proposed re-keys and links, with a person's decisions, are kept per run;
    `changes` and `merges` lose their CHECK lists of kinds (the StrEnums in kinds.py say them;
    DuckDB cannot drop a constraint, so each is copied without it, keeping every column)."""
    return [
        "ALTER TABLE roster_students ADD COLUMN manual BOOLEAN DEFAULT false",
        "UPDATE roster_students SET manual = false WHERE manual IS NULL",
        """CREATE TABLE person_matches (
            run_id INTEGER NOT NULL, district_id VARCHAR NOT NULL, entity VARCHAR NOT NULL,
            kind VARCHAR NOT NULL, old_id VARCHAR NOT NULL, new_id VARCHAR NOT NULL,
            bases VARCHAR, status VARCHAR NOT NULL, old_name VARCHAR, new_name VARCHAR,
            school VARCHAR, decided_by VARCHAR, decided_at TIMESTAMPTZ)""",
        "CREATE TABLE changes_unchecked AS SELECT * FROM changes",
        "DROP TABLE changes",
        "ALTER TABLE changes_unchecked RENAME TO changes",
        *(
            f"ALTER TABLE changes ALTER COLUMN {c} SET NOT NULL"
            for c in ("run_id", "district_id", "entity", "record_id", "change")
        ),
        "CREATE TABLE merges_unchecked AS SELECT * FROM merges",
        "DROP TABLE merges",
        "ALTER TABLE merges_unchecked RENAME TO merges",
        *(
            f"ALTER TABLE merges ALTER COLUMN {c} SET NOT NULL"
            for c in ("version", "district_id", "kind", "merged_at", "undone")
        ),
        "ALTER TABLE merges ALTER COLUMN merged_at SET DEFAULT now()",
        "ALTER TABLE merges ALTER COLUMN undone SET DEFAULT false",
        "ALTER TABLE merges ADD PRIMARY KEY (district_id, version)",
    ]


def _schema_providers() -> list[str]:
    """Providers (sources/provider.py): each district says where its roster comes from (Clever,
    the OneRoster API or OneRoster CSV) with the non-secret settings of that provider (endpoint,
    token URL, version, auth kind, drop folder); secrets stay in the environment. Sections keep
    OneRoster's classType, which a screening class rule may match. A store created after
    entities.py declared class_type already has the column, hence IF NOT EXISTS."""
    return [
        "ALTER TABLE districts ADD COLUMN provider VARCHAR DEFAULT 'clever'",
        "UPDATE districts SET provider = 'clever' WHERE provider IS NULL",
        "ALTER TABLE districts ADD COLUMN provider_settings JSON",
        "ALTER TABLE runs ADD COLUMN provider VARCHAR",
        "ALTER TABLE stg_sections ADD COLUMN IF NOT EXISTS class_type VARCHAR",
        "ALTER TABLE roster_sections ADD COLUMN IF NOT EXISTS class_type VARCHAR",
    ]


def _schema_events() -> list[str]:
    """Incremental sync through Clever's Events API (sources/clever_events.py): how each run
    learned the roster (mode, and why), how many events it applied, the feed position it
    started from and the one its staging reflects (`events_cursor`). A district's cursor is the
    `events_cursor` of the run its latest merge in force came from, so it advances when a run
    merges and moves back with an undo; `full_sync_days` is the district's full-sync interval
    (NULL: weekly)."""
    return [
        "ALTER TABLE runs ADD COLUMN mode VARCHAR",
        "ALTER TABLE runs ADD COLUMN mode_reason VARCHAR",
        "ALTER TABLE runs ADD COLUMN events_applied INTEGER",
        "ALTER TABLE runs ADD COLUMN events_from VARCHAR",
        "ALTER TABLE runs ADD COLUMN events_cursor VARCHAR",
        "ALTER TABLE districts ADD COLUMN full_sync_days INTEGER",
    ]


# Each entry brings the schema from version i to i + 1. Append, never edit.
MIGRATIONS: list[list[str]] = [
    _schema_v1(),
    _schema_v2(),
    _schema_v3(),
    _schema_v4(),
    _schema_issues_as_data(),
    _schema_v5(),
    _schema_review_depth(),
    _schema_people(),
    _schema_providers(),
    _schema_events(),
]
SCHEMA_VERSION = len(MIGRATIONS)  # what this program writes; a newer file is refused


def _schema_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'"
    ).fetchone()
    if not exists or not exists[0]:
        return 0
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def migrate(con: duckdb.DuckDBPyConnection) -> None:
    current = _schema_version(con)
    if current > SCHEMA_VERSION:
        raise ConfigError(
            f"This database was written by a newer MGI Roster Review (schema {current}); update "
            "the program before opening it."
        )
    if current == SCHEMA_VERSION:
        return
    # Every pending migration in one transaction: a new store is created in one commit (a
    # first visit waits for it), and a store is never left between two versions.
    with transaction(con):
        for version in range(current, SCHEMA_VERSION):
            for statement in MIGRATIONS[version]:
                con.execute(statement)
        con.execute(
            "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
        )


def connect(
    path: str | os.PathLike[str] | None = None, *, wait: float = LOCK_WAIT_SECONDS
) -> duckdb.DuckDBPyConnection:
    """Open (creating on first use) and migrate the database. ":memory:" for tests.

    Another process may hold the file for a moment (a merge, the start or end of a sync): wait
    for it a little, then say so plainly.
    """
    target = str(path) if path is not None else str(db_path())
    memory_mb = StoreSettings().duckdb_memory  # a bad MGI_DUCKDB_MEMORY stops before opening
    if target != ":memory:":
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    while True:
        try:
            con = duckdb.connect(target)
            break
        except duckdb.IOException:
            if not _is_duckdb_file(target):
                raise _not_a_database(target) from None
            # A DuckDB file we cannot open: another process holds its lock.
            if time.monotonic() >= deadline:
                raise ConfigError(
                    f"The database {target} is in use by another MGI Roster Review process "
                    f"(waited {wait:g} s). Wait for it to finish (a merge, or the start or end of "
                    "a sync), then try again.",
                    title="Database busy",
                ) from None
            time.sleep(0.1)
        except duckdb.Error:
            raise _not_a_database(target) from None
    configure(con, memory_mb)
    migrate(con)
    return con


def _is_duckdb_file(target: str) -> bool:
    """Whether the file carries DuckDB's magic bytes ("DUCK" at offset 8)."""
    try:
        with open(target, "rb") as file:
            return file.read(12)[8:12] == b"DUCK"
    except OSError:
        return False


def _not_a_database(target: str) -> ConfigError:
    return ConfigError(
        f"The database {target} could not be opened: it is not a DuckDB database of this "
        "program, or it is damaged. Point --db or MGI_DB at the right file, or restore it from a "
        "backup."
    )


def configure(con: duckdb.DuckDBPyConnection, memory_mb: int | None = None) -> None:
    """Bound DuckDB's memory (MGI_DUCKDB_MEMORY). It would otherwise cache up to 80 % of the
    machine's memory; a bound keeps a million-student sync's memory flat (what does not fit
    goes to temporary files). DuckDB's progress bar stays off: it writes to stdout, where it
    would break `--json`, and the product shows its own progress."""
    settings = StoreSettings()
    memory_mb = settings.duckdb_memory if memory_mb is None else memory_mb
    con.execute(f"SET memory_limit = '{memory_mb}MB'")
    con.execute("SET enable_progress_bar = false")
    if settings.duckdb_threads is not None:
        con.execute(f"SET threads = {settings.duckdb_threads}")


_UNITS = {"bytes": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "TiB": 1024**4}


@contextmanager
def temporarily(con: duckdb.DuckDBPyConnection, **settings: object) -> Iterator[None]:
    """DuckDB `settings` (name=value) for the block, then each put back as it was. DuckDB
    reports a memory bound rounded down to a tenth of its unit ('1.8 GiB'): it is put back half
    a tenth higher, which DuckDB reports as the same bound, instead of creeping down each time."""
    names = list(settings)
    row = con.execute(
        "SELECT " + ", ".join(f"current_setting('{name}')" for name in names)
    ).fetchone()
    before = dict(zip(names, row or (), strict=False))
    for name, value in settings.items():
        con.execute(f"SET {name} = {_setting_sql(value)}")
    try:
        yield
    finally:
        for name, value in before.items():
            if name == "memory_limit" and setting_bytes(str(value)) != float("inf"):
                number, _, unit = str(value).partition(" ")
                value = f"{int(setting_bytes(f'{float(number) + 0.05} {unit}'))}B"
            con.execute(f"SET {name} = {_setting_sql(value)}")


def _setting_sql(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def setting_bytes(text: str) -> float:
    """DuckDB's memory_limit as it reports it ('976.5 MiB') in bytes (inf when unreadable)."""
    number, _, unit = text.partition(" ")
    try:
        return float(number) * _UNITS.get(unit, 1)
    except ValueError:
        return float("inf")


def database_path(con: duckdb.DuckDBPyConnection) -> Path | None:
    """The file behind a connection; None for an in-memory database."""
    row = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    return Path(row[0]) if row and row[0] else None


class Store:
    """The main store, taken for short units of work.

    Given a path, every `session()` opens the file and closes it again, so other processes
    (the dashboard, the scheduler, the command line) get their turn in between. Given a
    connection (an in-memory store in tests, or a caller's open unit of work), every session
    is that connection, left open.
    """

    def __init__(self, target: str | os.PathLike[str] | duckdb.DuckDBPyConnection) -> None:
        self._con: duckdb.DuckDBPyConnection | None = None
        self._path: str | os.PathLike[str] | None = None
        if isinstance(target, duckdb.DuckDBPyConnection):
            self._con = target
        else:
            self._path = target

    @contextmanager
    def session(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if self._con is not None:
            yield self._con
            return
        with opened(self._path) as con:
            yield con


@contextmanager
def opened(path: str | os.PathLike[str] | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection for one unit of work, closed afterwards."""
    con = connect(path)
    try:
        yield con
    finally:
        con.close()


_IN_TRANSACTION: set[int] = set()  # id() of the connections inside transaction() now


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the database `con` opened (not one it attached) has table `name`."""
    row = con.execute(
        "SELECT 1 FROM duckdb_tables() WHERE database_name = current_database() AND table_name = ?",
        [name],
    ).fetchone()
    return row is not None


def has_view(con: duckdb.DuckDBPyConnection, name: str, database: str = "") -> bool:
    """Whether the database `con` opened (or the one it attached as `database`) has view
    `name`."""
    row = con.execute(
        """SELECT 1 FROM duckdb_views()
           WHERE database_name = coalesce(NULLIF(?, ''), current_database()) AND view_name = ?""",
        [database, name],
    ).fetchone()
    return row is not None


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All or nothing: commit when the block ends, roll back on any exception.

    A transaction() inside another on the same connection joins it (DuckDB has no savepoints):
    the outermost block commits or rolls back everything, so a function that needs atomicity
    can say so whether or not its caller already made a transaction."""
    key = id(con)
    if key in _IN_TRANSACTION:
        yield con
        return
    con.execute("BEGIN TRANSACTION")
    _IN_TRANSACTION.add(key)
    try:
        try:
            yield con
        except BaseException:
            _rollback(con)
            raise
        try:
            con.execute("COMMIT")
        except duckdb.Error:
            _rollback(con)  # a conflict found at commit time: leave the connection usable
            raise
    finally:
        _IN_TRANSACTION.discard(key)


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    with suppress(duckdb.Error):  # DuckDB may have ended the failed transaction already
        con.execute("ROLLBACK")
