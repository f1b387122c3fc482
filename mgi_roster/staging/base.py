"""The roster a run starts from, kept as a file by each merge, so a run copies it in a moment.

Every run's file (staging/runfile.py) needs the district's current roster: validation and the
diff compare with it, and an events run stages the rows the latest merge saw, with its events
applied (staging/events.py). Copying those rows out of the main store row by row is the one
part of an events run that grows with the district, not with its changes: at a million
students, 3.5 s for the roster and 5 s more for the rows the latest merge saw, where the rest
of the run follows its events.

So each merge leaves behind, beside the store, the roster it made: `base-<district>.duckdb`,

    roster_<entity>   the district's current rows (archived ones too), as runfile.create copies
    seen_<entity>     the rows the latest merge saw (roster.sql.seen), shaped as staged rows
                      but for their run_id
    previous_*        the latest merge's findings and parameters, which an events run carries
                      (review/validation/carry.py)
    base_stamp        the district and the roster's stamp (roster.versions.stamp): the version
                      number every merge, undo and edit by hand takes; and the base's FORMAT

and a run whose stamp matches copies the file (a file copy, 0.13 s for 280 MB) instead of the
rows. A merge that follows the base's stamp directly writes only its own rows into a copy of
it (those it closed out, those it opened: the roster is versioned, nothing else moves it);
anything else (the first merge, an undo or an edit by hand in between, a re-key rewriting ids
in place) builds the base again from the roster. The new file replaces the old one in one
rename, so a run copying it gets one or the other, whole. A base that does not match is never
used: the run copies the rows, as before. Stores in memory (tests) keep no base.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import uuid
from pathlib import Path

import duckdb

from mgi_roster.entities import ENTITIES, Entity
from mgi_roster.roster import sql
from mgi_roster.roster.versions import stamp
from mgi_roster.store import database_path, execute, has_table

log = logging.getLogger(__name__)

STAMP = "base_stamp"
# What a base holds, by version: a base of another version (written by another release of this
# tool) is never used, and the next merge builds it again. 2: the findings of every entity.
FORMAT = 2


def seen_table(entity: Entity) -> str:
    """The base's rows of `entity` the latest merge saw, shaped as a run's staged rows."""
    return f"seen_{entity.name}"


def path(con: duckdb.DuckDBPyConnection, district_id: str) -> Path | None:
    """Where the district's base lives, beside the store's run files; None for a store in
    memory."""
    store = database_path(con)
    if store is None:
        return None
    digest = hashlib.sha256(district_id.encode()).hexdigest()[:16]
    return store.with_name(store.stem + ".runs") / f"base-{digest}.duckdb"


def _stamp_of(file: Path) -> tuple[str, int] | None:
    """(district, stamp) a base file was made for; None when it is missing, unreadable or of
    another FORMAT."""
    if not file.is_file():
        return None
    try:
        with contextlib.closing(duckdb.connect(str(file), read_only=True)) as con:
            row = con.execute(f"SELECT district_id, stamp, format FROM {STAMP}").fetchone()
    except duckdb.Error:
        return None
    return (str(row[0]), int(row[1])) if row and row[2] == FORMAT else None


def copy_current(con: duckdb.DuckDBPyConnection, district_id: str, dest: Path) -> bool:
    """Copy the district's base to `dest` when it holds the roster as it is now; False (and
    nothing copied) otherwise. Called with the main store held, so no merge moves it meanwhile."""
    file = path(con, district_id)
    if file is None or _stamp_of(file) != (district_id, stamp(con, district_id)):
        return False
    shutil.copyfile(file, dest)
    return True


def refresh(
    con: duckdb.DuckDBPyConnection, district_id: str, version: int, *, rewritten: bool
) -> None:
    """After merge `version` committed: leave the district's base at the roster it made.

    Never fails the merge: a base that cannot be written is removed, and runs copy the rows."""
    file = path(con, district_id)
    if file is None:
        return
    from mgi_roster.staging import runfile

    now = stamp(con, district_id)
    follows = not rewritten and _stamp_of(file) == (district_id, version - 1) and now == version
    work = file.with_name(f"{file.stem}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        if follows:
            shutil.copyfile(file, work)
        with runfile.bounded(con), runfile.attached(con, work, read_only=False) as base:
            args = {"district": district_id, "version": version}
            for entity in ENTITIES:
                for statement in _patch(entity, base) if follows else _build(entity, base):
                    execute(con, statement, args)
            runfile.previous_findings(con, base, district_id)
            con.execute(
                f"""CREATE OR REPLACE TABLE {base}.{STAMP}
                    (district_id VARCHAR, stamp INTEGER, format INTEGER)"""
            )
            con.execute(f"INSERT INTO {base}.{STAMP} VALUES (?, ?, ?)", [district_id, now, FORMAT])
        os.replace(work, file)
    except (duckdb.Error, OSError) as exc:
        log.warning(
            "the roster base of %s was not written (%s): runs copy the rows", district_id, exc
        )
        for leftover in (file, work):
            with contextlib.suppress(OSError):
                leftover.unlink()
    finally:
        for leftover in (work, work.with_name(work.name + ".wal")):
            with contextlib.suppress(OSError):
                leftover.unlink()


def _seen_rows(entity: Entity, where: str = "") -> str:
    names = ", ".join(sql.q(c) for c in entity.column_names)
    return f"SELECT $district, {names} FROM {sql.seen(entity)} s {where}"


def roster_copy(entity: Entity, schema: str) -> str:
    """The district's current rows of `entity` copied into `schema` (a base, or a run's file
    when no base holds the roster as it is now)."""
    return (
        f"CREATE TABLE {schema}.{sql.roster_table(entity)} AS SELECT * FROM {sql.current(entity)}"
    )


def _build(entity: Entity, base: str) -> list[str]:
    """The base's tables of `entity`, made from the roster. The seen rows have no run yet: the
    run that takes them adds its run_id as a column of one value (events.py), in a moment."""
    names = ", ".join(sql.q(c) for c in entity.column_names)
    return [
        roster_copy(entity, base),
        f"""CREATE TABLE {base}.{seen_table(entity)} AS
            SELECT * EXCLUDE (run_id) FROM {sql.staging_table(entity)} LIMIT 0""",
        f"INSERT INTO {base}.{seen_table(entity)} (district_id, {names}) {_seen_rows(entity)}",
    ]


def _patch(entity: Entity, base: str) -> list[str]:
    """Merge `$version`'s own rows into a copy of the base at the version before: out go the
    records whose row it closed, in come the rows it opened (the ones still current)."""
    closed = f"""(SELECT {", ".join(sql.q(k) for k in entity.key)} FROM {sql.roster_table(entity)}
        WHERE district_id = $district AND valid_to = $version)"""
    keys = ", ".join(sql.q(k) for k in entity.key)
    names = ", ".join(sql.q(c) for c in entity.column_names)
    opened = "WHERE s.valid_from = $version"
    return [
        f"DELETE FROM {base}.{sql.roster_table(entity)} WHERE ({keys}) IN {closed}",
        f"DELETE FROM {base}.{seen_table(entity)} WHERE ({keys}) IN {closed}",
        f"""INSERT INTO {base}.{sql.roster_table(entity)}
            SELECT * FROM {sql.current(entity)} s {opened}""",
        f"""INSERT INTO {base}.{seen_table(entity)} (district_id, {names})
            {_seen_rows(entity, opened)}""",
    ]


def drop_seen(con: duckdb.DuckDBPyConnection) -> None:
    """A run's file, once staged, no longer needs the base's seen rows (an events run took them
    as its staging; a full run never reads them)."""
    for entity in ENTITIES:
        if has_table(con, seen_table(entity)):
            con.execute(f"DROP TABLE {seen_table(entity)}")
