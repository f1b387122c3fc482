"""Approve, Reject and Undo: the only code that writes the MGI roster.

Approve merges a staged run in one transaction. The roster is versioned: every merge is a
version number, a record's row is valid from the version that wrote it until the version that
replaced it (valid_to NULL = current). So

  - the roster as of any version is a WHERE clause (`as_of_sql`),
  - Undo of the latest merge deletes the rows it wrote and reopens the rows it closed, and the
    roster is exactly what it was.

A merge writes only what changed: a record in the sync and unchanged keeps its row, whose
`last_seen_run` NULL means "seen in the latest merge" (`as_of_sql` fills it in). A record absent
from a sync gets a version that remembers the last run that saw it. So Undo only ever deletes
and reopens whole versions, and no merge rewrites the millions of rows that did not change.

Approve refuses, writing nothing, when the run has errors, when it is held and the guards are not
confirmed, when a newer run of the district exists, or when the roster changed after the run was
diffed. Approving a merged run again merges nothing and says so.

A partial approval (roster/partial.py) withholds some records: they are listed on the run
(`run_withheld`) and the merge leaves them as they are; errors then block only when a record
with one is neither withheld nor its issue waived, and the guards judge what is merged.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb

from mgi_roster.entities import ENTITIES, Entity
from mgi_roster.errors import InputError, MergeRefused
from mgi_roster.kinds import ChangeKind, MergeKind, RunStatus
from mgi_roster.parameters import Parameters
from mgi_roster.roster import partial, quality, rekey, sql
from mgi_roster.roster.versions import current_version, latest_change, latest_merge, next_version
from mgi_roster.staging import base, runfile
from mgi_roster.store import execute, transaction


@dataclass(frozen=True)
class MergeResult:
    run_id: int
    district_id: str
    version: int
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    already_merged: bool = False
    withheld: dict[str, int] = field(default_factory=dict)  # withheld records per reason

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "district_id": self.district_id,
            "version": self.version,
            "counts": self.counts,
            "already_merged": self.already_merged,
            "withheld": self.withheld,
            "status": "merged",
        }


@dataclass(frozen=True)
class UndoResult:
    district_id: str
    version: int  # the merge version that was undone
    run_id: int | None  # None: an edit by hand (a student added by hand) was undone
    restored_version: int  # the version the roster is at now


@dataclass(frozen=True)
class MergeProgress:
    """Reported inside an approval's transaction: before each entity is merged, then once more
    (`done`) when every row is written and the transaction is about to commit. The callback runs
    inside the transaction, so an exception it raises rolls the whole approval back."""

    step: int  # 1-based index of the entity about to be merged; `steps` once done
    steps: int
    entity: str | None  # None once done
    done: bool = False


MergeProgressCallback = Callable[[MergeProgress], None]


@dataclass(frozen=True)
class Run:
    run_id: int
    district_id: str
    status: str
    errors: int
    guards: list[dict[str, Any]]
    changes: dict[str, dict[str, int]]
    roster_version: int | None
    parameters: Parameters


def load_run(con: duckdb.DuckDBPyConnection, run_id: int) -> Run:
    row = con.execute(
        "SELECT run_id, district_id, status, coalesce(errors, 0), guards, changes, roster_version, parameters FROM runs WHERE run_id = ?",
        [run_id],
    ).fetchone()
    if row is None:
        raise InputError(f"There is no run {run_id} in this database.")
    params = Parameters.from_json(row[7]) if row[7] else Parameters()
    return Run(
        run_id=row[0],
        district_id=row[1],
        status=row[2],
        errors=int(row[3]),
        guards=json.loads(row[4]) if row[4] else [],
        changes=json.loads(row[5]) if row[5] else {},
        roster_version=row[6],
        parameters=params,
    )


def approval_blockers(
    con: duckdb.DuckDBPyConnection,
    run: Run,
    *,
    confirm_guards: bool = False,
    plan: partial.Plan | None = None,
) -> list[str]:
    """Why this run cannot be approved now, as sentences (empty: it can). With a partial
    approval's `plan`, errors count only when neither withheld nor waived, and the guards are
    those of what the plan merges."""
    if run.status in ("fetching", "failed", "rejected"):
        what = {"fetching": "is still running", "failed": "failed", "rejected": "was rejected"}[
            run.status
        ]
        return [f"Run {run.run_id} {what}; only a staged run can be approved."]
    reasons = []
    errors = run.errors if plan is None else plan.unresolved_errors
    if errors and plan is None:
        reasons.append(
            f"Run {run.run_id} has {errors} error{'s' if errors != 1 else ''}. Fix them in the "
            "SIS (see Validation), sync again, then approve the new run; or withhold the records "
            "with errors (approve --exclude-errors)."
        )
    elif errors:
        reasons.append(
            f"{errors} error{'s' if errors != 1 else ''} of run {run.run_id} would still merge: "
            "withhold those records (--exclude-errors, or choose them on Validation) or waive "
            "the issue with a reason."
        )
    held = run.status == "held" if plan is None else bool(plan.guards)
    if held and not confirm_guards:
        tripped = len(run.guards) if plan is None else len(plan.guards)
        reasons.append(
            f"Run {run.run_id} is held by its guards ({tripped} tripped). Review the changes, "
            "then confirm the guards to approve it."
        )
    newer = con.execute(
        "SELECT max(run_id) FROM runs WHERE district_id = ? AND run_id > ? AND status IN ?",
        [
            run.district_id,
            run.run_id,
            [RunStatus.STAGED, RunStatus.HELD, RunStatus.MERGED, RunStatus.FETCHING],
        ],
    ).fetchone()
    if newer and newer[0] is not None:
        reasons.append(
            f"Run {run.run_id} is not the district's newest run (run {newer[0]} is newer). Approve the newest run instead."
        )
    if (
        run.roster_version is not None
        and current_version(con, run.district_id) != run.roster_version
    ):
        reasons.append(
            f"The roster changed after run {run.run_id} was compared with it (a merge or an undo since). "
            "Run a new sync to see the changes against today's roster."
        )
    reasons.extend(rekey.undecided(con, run.run_id))  # re-keys and links a person must decide
    return reasons


def approve(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    *,
    by: str | None = None,
    confirm_guards: bool = False,
    progress: MergeProgressCallback | None = None,
    selection: partial.Selection = partial.WHOLE,
) -> MergeResult:
    """Merge a staged run into the roster, all or nothing (all but what `selection` withholds)."""
    try:
        return _approve(
            con,
            run_id,
            by=by,
            confirm_guards=confirm_guards,
            progress=progress,
            selection=selection,
        )
    except (duckdb.TransactionException, runfile.StagingInUse):
        # Another session of this process changed the same rows first (two reviewers clicking
        # Approve together): DuckDB rolled this one back. Say what happened, not a traceback.
        run = load_run(con, run_id)
        if run.status == RunStatus.MERGED:
            return _already_merged(con, run)
        raise _busy(run_id) from None


def _busy(run_id: int) -> MergeRefused:
    return MergeRefused(
        f"Run {run_id} is being approved or changed in another session at this very moment; "
        "nothing was written by this one. Look at History in a moment."
    )


def _already_merged(con: duckdb.DuckDBPyConnection, run: Run) -> MergeResult:
    row = con.execute(
        "SELECT version FROM merges WHERE run_id = ? AND kind = ? AND NOT undone",
        [run.run_id, MergeKind.MERGE],
    ).fetchone()
    return MergeResult(
        run.run_id, run.district_id, int(row[0]) if row else 0, run.changes, already_merged=True
    )


def _approve(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    *,
    by: str | None,
    confirm_guards: bool,
    progress: MergeProgressCallback | None,
    selection: partial.Selection,
) -> MergeResult:
    report = progress or (lambda _: None)
    run = load_run(con, run_id)
    if run.status == RunStatus.MERGED:
        return _already_merged(con, run)
    found = _plan(con, run, selection)
    blockers = approval_blockers(con, run, confirm_guards=confirm_guards, plan=found)
    if blockers:
        raise MergeRefused(" ".join(blockers))
    path = runfile.require(con, run_id)
    # The staged rows are read from the run's own file, attached for the merge.
    with runfile.attached(con, path) as staging, transaction(con):
        run = load_run(con, run_id)  # again, inside the transaction: it decides
        if run.status == RunStatus.MERGED:
            return _already_merged(con, run)
        found = _plan(con, run, selection)
        blockers = approval_blockers(con, run, confirm_guards=confirm_guards, plan=found)
        if blockers:
            raise MergeRefused(" ".join(blockers))
        counts = run.changes if found is None else found.merged
        if found is not None:
            partial.record(con, run, found)
        version = next_version(con, run.district_id)
        latest = latest_merge(con, run.district_id)
        previous_run = latest[1] if latest else None
        rewritten = rekey.rewrite(con, run.district_id, run_id)  # re-keys keep their history
        for step, entity in enumerate(ENTITIES, start=1):
            report(MergeProgress(step, len(ENTITIES), entity.name))
            _merge_entity(
                con, entity, run, version, previous_run, staging, withheld=found is not None
            )
        con.execute(
            "INSERT INTO merges (version, district_id, run_id, kind, actor, counts) VALUES (?, ?, ?, ?, ?, ?)",
            [version, run.district_id, run_id, MergeKind.MERGE, by, json.dumps(counts)],
        )
        con.execute(
            "UPDATE runs SET status = ?, decided_by = ?, decided_at = now() WHERE run_id = ?",
            [RunStatus.MERGED, by, run_id],
        )
        audit(
            con,
            run.district_id,
            "approve",
            run_id=run_id,
            version=version,
            by=by,
            detail={
                "counts": counts,
                "confirmed_guards": (
                    run.guards if found is None else [g.to_dict() for g in found.guards]
                )
                if confirm_guards
                else [],
                **(partial.audit_detail(found, by) if found is not None else {}),
            },
        )
        for waiver in selection.waivers:
            audit(con, run.district_id, "waive", run_id=run_id, by=by, detail=waiver.to_dict())
        runfile.discard(con, run_id, keep_findings=True)
        quality.refresh(con, run.district_id, version)
        report(MergeProgress(len(ENTITIES), len(ENTITIES), None, done=True))
    runfile.remove(path)
    base.refresh(con, run.district_id, version, rewritten=rewritten > 0)  # the next run's start
    withheld = found.withheld_counts() if found is not None else {}
    return MergeResult(run_id, run.district_id, version, counts, withheld=withheld)


def _plan(
    con: duckdb.DuckDBPyConnection, run: Run, selection: partial.Selection
) -> partial.Plan | None:
    """The partial approval's plan; None for a whole one (the merge then reads no plan)."""
    return partial.plan(con, run, selection) if selection.partial else None


def reject(con: duckdb.DuckDBPyConnection, run_id: int, *, by: str | None = None) -> None:
    with transaction(con):
        run = load_run(con, run_id)
        if run.status not in ("staged", "held"):
            raise MergeRefused(
                f"Run {run_id} is {run.status}; only a staged or held run can be rejected."
            )
        con.execute(
            "UPDATE runs SET status = 'rejected', decided_by = ?, decided_at = now(), message = ? WHERE run_id = ?",
            [by, f"Rejected by {by or 'an unnamed reviewer'}.", run_id],
        )
        audit(con, run.district_id, "reject", run_id=run_id, by=by)
        runfile.discard(con, run_id, keep_findings=True)
    runfile.remove(runfile.file_of(con, run_id))


def undo(con: duckdb.DuckDBPyConnection, district_id: str, *, by: str | None = None) -> UndoResult:
    """Return the roster exactly to what it was before the latest merge."""
    with transaction(con):
        latest = latest_change(con, district_id)  # a sync's merge, or a student added by hand
        if latest is None:
            raise MergeRefused(f"District {district_id} has no merge to undo.")
        version, run_id = latest
        con.execute(
            "UPDATE merges SET undone = true WHERE district_id = ? AND version = ?",
            [district_id, version],
        )
        args = {"district": district_id, "version": version}
        for entity in ENTITIES:
            table = sql.roster_table(entity)
            execute(
                con,
                f"DELETE FROM {table} WHERE district_id = $district AND valid_from = $version",
                args,
            )
            execute(
                con,
                f"UPDATE {table} SET valid_to = NULL WHERE district_id = $district AND valid_to = $version",
                args,
            )
        if run_id is not None:
            rekey.rewrite(con, district_id, run_id, back=True)  # re-keys and links reversed
        undo_version = next_version(con, district_id)
        con.execute(
            "INSERT INTO merges (version, district_id, run_id, kind, actor, undoes) VALUES (?, ?, ?, ?, ?, ?)",
            [undo_version, district_id, run_id, MergeKind.UNDO, by, version],
        )
        quality.refresh(con, district_id, undo_version)
        con.execute(
            "UPDATE runs SET status = 'rejected', message = ? WHERE run_id = ?",
            [
                f"Merged, then undone by {by or 'an unnamed reviewer'}. Sync again to bring these changes back.",
                run_id,
            ],
        )
        restored = current_version(con, district_id)
        audit(
            con,
            district_id,
            "undo",
            run_id=run_id,
            version=version,
            by=by,
            detail={"roster_version": restored},
        )
    return UndoResult(district_id, version, run_id, restored)


def audit(
    con: duckdb.DuckDBPyConnection,
    district_id: str,
    action: str,
    *,
    run_id: int | None = None,
    version: int | None = None,
    by: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    con.execute(
        "INSERT INTO audit (district_id, action, run_id, version, actor, detail) VALUES (?, ?, ?, ?, ?, ?)",
        [district_id, action, run_id, version, by, json.dumps(detail or {})],
    )


# --- records added by hand (roster/manual.py) ------------------------------------------------


def add_by_hand(
    con: duckdb.DuckDBPyConnection,
    district_id: str,
    entity: Entity,
    row: dict[str, Any],
    *,
    by: str | None,
) -> int:
    """Write one record added by hand (`manual`) as a roster version of its own, kind `manual`,
    with an audit entry: history, as-of views and Undo treat it like a merge. Returns the
    version."""
    columns = [c for c in entity.column_names if c in row]
    with transaction(con):
        version = next_version(con, district_id)
        con.execute(
            f"""INSERT INTO {sql.roster_table(entity)} (district_id, {", ".join(sql.q(c) for c in columns)},
                    manual, archived, valid_from) VALUES (?, {", ".join("?" for _ in columns)}, true, false, ?)""",
            [district_id, *(row[c] for c in columns), version],
        )
        con.execute(
            "INSERT INTO merges (version, district_id, run_id, kind, actor, counts) VALUES (?, ?, NULL, ?, ?, ?)",
            [
                version,
                district_id,
                MergeKind.MANUAL,
                by,
                json.dumps({entity.name: {ChangeKind.ADDED: 1}}),
            ],
        )
        audit(
            con,
            district_id,
            f"add_{entity.word.lower()}",
            version=version,
            by=by,
            detail={"record_id": row["id"], "entity": entity.name},
        )
        quality.refresh(con, district_id, version)
    return version


# --- internals ------------------------------------------------------------------------------


def _merge_entity(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    run: Run,
    version: int,
    previous_run: int | None,
    staging: str,
    *,
    withheld: bool = False,
) -> None:
    table = sql.roster_table(entity)
    columns = [sql.q(c) for c in entity.column_names]

    def on_plan(alias: str) -> str:
        return sql.key_join(entity, alias, "p")

    args = {
        "run": run.run_id,
        "district": run.district_id,
        "version": version,
        "previous": previous_run,
    }
    classified = sql.classify(
        entity,
        all_records=run.parameters.all_records_processing,
        schema=staging,
        roster=rekey.roster_side(entity, rewritten=True),
    )
    keys = ", ".join(sql.q(k) for k in entity.key)
    kept = (
        f"WHERE {partial.kept_sql(entity, 'c.record_id')}" if withheld else ""
    )  # a partial approval
    # The plan: the keys that need a new version, and why. A record in the sync and unchanged
    # needs nothing (its last_seen_run stays NULL: "seen in the latest merge"), so a merge writes
    # only what changed, and undo has nothing to reverse but whole versions. A record kept while
    # absent ("absent" once) gets no further version while it stays away, and one when it is
    # back ("reseen"), even unchanged.
    execute(
        con,
        f"""CREATE OR REPLACE TEMP TABLE merge_plan AS SELECT * FROM (
            SELECT {keys},
              CASE WHEN change = '{ChangeKind.UNCHANGED}' THEN CASE WHEN was_absent THEN 'reseen' END
                   WHEN change = '{ChangeKind.ABSENT}' AND was_absent THEN NULL
                   ELSE change END AS action
            FROM ({classified}) c {kept})
            WHERE action IS NOT NULL""",
        args,
    )
    # Close the current version of every record that gets a new one.
    execute(
        con,
        f"""UPDATE {table} AS t SET valid_to = $version FROM merge_plan p
            WHERE t.district_id = $district AND t.valid_to IS NULL AND {on_plan("t")}
              AND p.action <> '{ChangeKind.ADDED}'""",
        args,
    )
    # New versions from the sync: added, updated, restored, back after an absence.
    execute(
        con,
        f"""INSERT INTO {table} (district_id, {", ".join(columns)}, archived, first_seen_run, last_seen_run, valid_from, valid_to)
            SELECT $district, {", ".join(f"s.{c}" for c in columns)}, false,
                   coalesce(o.first_seen_run, $run), NULL, $version, NULL
            FROM merge_plan p JOIN {sql.staged(entity, schema=staging)} s ON {on_plan("s")}
            LEFT JOIN {table} o ON o.district_id = $district AND o.valid_to = $version AND {on_plan("o")}
            WHERE p.action IN ('{ChangeKind.ADDED}', '{ChangeKind.UPDATED}', '{ChangeKind.RESTORED}',
                               '{ChangeKind.REKEYED}', '{ChangeKind.LINKED}', 'reseen')""",
        args,
    )
    # Absent from the sync: archived (never deleted) with All Records Processing, else kept as
    # is; either way the version remembers the last run that saw the record.
    execute(
        con,
        f"""INSERT INTO {table} (district_id, {", ".join(columns)}, archived, first_seen_run, last_seen_run, valid_from, valid_to)
            SELECT $district, {", ".join(f"o.{c}" for c in columns)}, p.action = '{ChangeKind.ARCHIVED}',
                   o.first_seen_run, coalesce(o.last_seen_run, $previous), $version, NULL
            FROM merge_plan p JOIN {table} o ON o.district_id = $district AND o.valid_to = $version AND {on_plan("o")}
            WHERE p.action IN ('{ChangeKind.ARCHIVED}', '{ChangeKind.ABSENT}')""",
        args,
    )
