"""Commands about runs: sync, export, approve (whole or in part), reject, history, undo."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mgi_roster import districts, store
from mgi_roster.errors import InputError
from mgi_roster.roster import history, merge

if TYPE_CHECKING:
    import duckdb


from mgi_roster.cli.common import FAILED, OK, _emit, _progress


def _sync(target: store.Store, args: argparse.Namespace) -> int:
    from mgi_roster import sync  # pandas and pandera: only a sync validates

    result = sync.run_sync(
        target,
        args.district,
        progress=None if args.json else _progress,
        provider=args.provider,
        file=args.file,
        full=args.full,
    )
    if args.json:
        _emit(result.to_dict())
    else:
        print(f"Run {result.run_id}: {result.status}. {result.message or ''}".strip())
        if result.digest:
            print(result.digest)
        for name, n in result.counts.items():
            print(f"  {name:12} {n:>9,}")
    if not result.ok:
        print(f"Sync failed: {result.message}", file=sys.stderr)
        return FAILED
    return OK


def _export(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    from mgi_roster.roster import exports  # renders messages: pandas, only when exporting

    if args.what == "roster":
        if args.format == "oneroster":
            return _export_roster(con, args)
        text = _roster_export(con, args)
    elif args.run is None:
        raise InputError(f"--what {args.what} exports a run: give --run RUN_ID.")
    else:
        text = exports.export(con, args.run, args.what, args.format)
    out: Path | None = args.out
    if out is not None:
        out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return OK


def _roster_export(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> str:
    from mgi_roster.roster import exports

    if not args.district:
        raise InputError("--what roster exports a district's roster: give --district ID.")
    if args.format != "csv":
        raise InputError(
            "The roster exports as CSV (--format csv) or as a OneRoster 1.1 ZIP (--format oneroster)."
        )
    return exports.roster_csv(con, args.district)


def _export_roster(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    """The current roster as a OneRoster 1.1 CSV ZIP: one line per file written."""
    from mgi_roster.roster import oneroster_export

    if args.format != "oneroster":
        raise InputError("--what roster is written with --format oneroster (a OneRoster 1.1 ZIP).")
    if not args.district or args.out is None:
        raise InputError("--what roster needs --district ID and --out ZIP.")
    district_id, _ = districts.check_id(con, args.district)
    district = districts.get(con, district_id)
    if district is None:
        raise InputError(f"District {district_id} is not known here: sync and approve it first.")
    done = oneroster_export.export(con, district_id, args.out, name=district.name)
    print(f"Wrote {done.path} (OneRoster 1.1):")
    for name, n in done.counts.items():
        print(f"  {name + '.csv':22} {n:>9,}")
    return OK


def _approve(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    result = merge.approve(
        con,
        args.run,
        by=args.by,
        confirm_guards=args.confirm_guards,
        selection=_selection(args),
    )
    if args.json:
        _emit(result.to_dict())
    elif result.already_merged:
        print(
            f"Run {result.run_id} was already merged (version {result.version}); nothing changed."
        )
    else:
        print(f"Merged run {result.run_id} as roster version {result.version}.")
        if result.withheld:
            withheld = sum(result.withheld.values())
            print(
                f"Withheld {withheld} record(s), left as they are in the roster: "
                + ", ".join(f"{n} {reason}" for reason, n in result.withheld.items())
                + f". See them with: export --run {result.run_id} --what withheld"
            )
    return OK


def _selection(args: argparse.Namespace) -> Any:
    from mgi_roster.roster import partial

    if args.reason and not args.waive:
        raise InputError("--reason explains a waiver: give the issue with --waive CHECK[:RECORD].")
    return partial.Selection(
        exclude_errors=args.exclude_errors,
        exclude=tuple(i.strip() for i in args.exclude.split(",") if i.strip()),
        no_archive=args.no_archive,
        waivers=tuple(partial.Waiver.parse(w, args.reason) for w in args.waive),
    )


def _reject(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    merge.reject(con, args.run, by=args.by)
    print(f"Rejected run {args.run}.")
    return OK


def _history(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    entries = history.history(con, args.district)
    if args.json:
        _emit(entries)
        return OK
    for run in entries["runs"]:
        print(
            f"run {run['run_id']:>5}  {run['status']:9} {run['started_at']}  {run['message'] or ''}"
        )
    for m in entries["merges"]:
        undone = "  (undone)" if m["undone"] else ""
        print(
            f"version {m['version']:>3}  {m['kind']:6} run {m['run_id']}  by {m['actor'] or '-'}  "
            f"{m['merged_at']}{undone}"
        )
    return OK


def _undo(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    result = merge.undo(con, args.district, by=args.by)
    print(
        f"Undid version {result.version} "
        f"({f'run {result.run_id}' if result.run_id else 'a student added by hand'}); "
        "the roster is back at version "
        f"{result.restored_version}."
    )
    return OK
