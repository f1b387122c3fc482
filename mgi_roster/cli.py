"""The command line: scripted and scheduled syncs. Each command is one library call.

    mgi-roster [--db PATH] parameters set  --district ID --file PARAMS.json
    mgi-roster [--db PATH] parameters show --district ID
    mgi-roster [--db PATH] parameters preview --district ID [--file PARAMS.json] [--json]
    mgi-roster [--db PATH] connect --district ID [--json]   (the connection checklist)
    mgi-roster [--db PATH] sync    --district ID [--provider clever|oneroster-api|oneroster-csv]
                           [--file ZIP] [--full] [--json]
    mgi-roster [--db PATH] export  --run RUN_ID --what issues|changes [--format csv|json] [--out FILE]
    mgi-roster [--db PATH] export  --district ID --what roster [--format csv] [--out FILE]
    mgi-roster [--db PATH] export  --district ID --what roster --format oneroster --out ZIP
    mgi-roster [--db PATH] approve --run RUN_ID [--by NAME] [--confirm-guards] [--json]
                           [--exclude-errors] [--exclude ID,...] [--no-archive]
                           [--waive CHECK[:RECORD] ... --reason TEXT]   (a partial approval)
    mgi-roster [--db PATH] reject  --run RUN_ID [--by NAME]
    mgi-roster [--db PATH] history --district ID [--json]
    mgi-roster [--db PATH] readiness --district ID [--run RUN_ID] [--json]
    mgi-roster [--db PATH] undo    --district ID [--by NAME]
    mgi-roster [--db PATH] schedule set  --district ID --days sun,mon,tue,wed,thu,fri
                           --at HH:MM --until YYYY-MM-DD [--pause START..END ...]
                           [--policy auto|review] [--contact EMAIL ...]   (time in UTC)
    mgi-roster [--db PATH] schedule show --district ID [--json]
    mgi-roster [--db PATH] schedule off  --district ID
    mgi-roster [--db PATH] scheduler [--once]
    mgi-roster [--db PATH] demo advance
    mgi-roster [--db PATH] students add --district ID --first F --last L --school S --grade G
                           [--dob D] [--state-id X] [--student-number N] [--by NAME] [--json]
    mgi-roster [--db PATH] students matches --run R [--json]   (re-keys and links of a run)
    mgi-roster [--db PATH] students link  --run R --manual ID --synced ID [--keep-both] [--by NAME]
    mgi-roster [--db PATH] students rekey --run R --old ID --new ID [--apart] [--by NAME]
    mgi-roster [--db PATH] events  --district ID [--full-every DAYS] [--json]
    mgi-roster demo serve [--host H] [--port P] [--students N] [--day D] [--fault MODE ...]
                          [--provider clever|oneroster]
    mgi-roster demo oneroster-zip --out ZIP [--day D] [--students N] [--version 1.2|1.1] [--json]

`python -m mgi_roster` is the same program.

Exit codes: 0 done (a sync that staged or is held); 1 failed (message on stderr, and in the
JSON); 2 usage errors and bad input; 3 approve refused (errors, unconfirmed guards, stale run).
With --json a command prints exactly one JSON object on standard output, whatever happens: its
result, or {"status": "refused", "reason": ...} (exit 2 or 3), or {"status": "failed",
"reason": ...} (exit 1).

Start-up time is part of the contract (cron runs `scheduler --once` every few minutes; scripts
call commands in loops): what only one command needs (a sync's validation with pandas and
pandera, the demo server) is imported by that command's handler, not here.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mgi_roster import districts, parameters, schedule, store
from mgi_roster.errors import InputError, MergeRefused, ParametersError, RosterError, SyncRefused
from mgi_roster.kinds import ProviderKind
from mgi_roster.roster import history, merge
from mgi_roster.settings import CleverSettings

if TYPE_CHECKING:
    import duckdb

    from mgi_roster.sync import Progress

    Handler = Callable[[duckdb.DuckDBPyConnection, argparse.Namespace], int]

OK, FAILED, USAGE, REFUSED = 0, 1, 2, 3


def _parser() -> argparse.ArgumentParser:
    as_module = sys.argv[0].endswith("__main__.py")  # `python -m mgi_roster`, not the script
    parser = argparse.ArgumentParser(
        prog="python -m mgi_roster" if as_module else "mgi-roster",
        description="MGI Roster Review: Clever roster sync and review.",
    )
    parser.add_argument("--db", help="DuckDB file (default: $MGI_DB, else data/mgi.duckdb)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("parameters", help="District Parameters")
    pc = p.add_subparsers(dest="action", required=True)
    ps = pc.add_parser("set", help="save a district's parameters from a JSON file")
    ps.add_argument("--district", required=True)
    ps.add_argument("--file", required=True, type=Path)
    ps.add_argument(
        "--provider",
        choices=[k.value for k in ProviderKind],
        help="for a new district: where its roster comes from (default clever)",
    )
    pshow = pc.add_parser("show", help="print a district's parameters as JSON")
    pshow.add_argument("--district", required=True)
    pp = pc.add_parser(
        "preview",
        help="what the screening class rule matches in the latest staged run (else the roster)",
    )
    pp.add_argument("--district", required=True)
    pp.add_argument("--file", type=Path, help="parameters to try (default: the saved ones)")
    pp.add_argument("--json", action="store_true", help="print one JSON object")

    rd = commands.add_parser(
        "readiness", help="test plans the roster (or a staged run) needs, and who cannot be placed"
    )
    rd.add_argument("--district", required=True)
    rd.add_argument("--run", type=int, help="a staged run (default: the current roster)")
    rd.add_argument("--json", action="store_true", help="print one JSON object")

    c = commands.add_parser(
        "connect",
        help="the connection checklist: SIS, request accepted, setup finished, Test Connection",
    )
    c.add_argument("--district", required=True)
    c.add_argument("--json", action="store_true", help="print one JSON object")

    s = commands.add_parser("sync", help="run a test sync into staging, validate and diff it")
    s.add_argument("--district", required=True)
    s.add_argument(
        "--provider",
        choices=[k.value for k in ProviderKind],
        help="where the roster comes from (default: the district's own; clever for a new one)",
    )
    s.add_argument(
        "--file", type=Path, help="the OneRoster CSV ZIP (with --provider oneroster-csv)"
    )
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument(
        "--full",
        action="store_true",
        help="pull every record, even when Clever's events since the latest merge would do",
    )

    e = commands.add_parser("export", help="export a run's issues or changes, or the roster")
    e.add_argument("--run", type=int, help="the run (issues, changes, withheld)")
    e.add_argument("--district", help="the district (roster)")
    e.add_argument("--what", required=True, choices=("issues", "changes", "withheld", "roster"))
    e.add_argument("--format", default="csv", choices=("csv", "json", "oneroster"))
    e.add_argument("--out", type=Path, help="write to this file instead of standard output")

    a = commands.add_parser("approve", help="merge a staged run into the roster")
    a.add_argument("--run", required=True, type=int)
    a.add_argument("--by", help="reviewer name for the audit log")
    a.add_argument("--confirm-guards", action="store_true", help="approve a run held by its guards")
    a.add_argument("--json", action="store_true", help="print one JSON object")
    _partial_arguments(a)

    r = commands.add_parser("reject", help="discard a staged run (kept in history as rejected)")
    r.add_argument("--run", required=True, type=int)
    r.add_argument("--by")

    h = commands.add_parser("history", help="runs and merges of a district")
    h.add_argument("--district", required=True)
    h.add_argument("--json", action="store_true", help="print one JSON object")

    u = commands.add_parser("undo", help="undo the district's latest merge")
    u.add_argument("--district", required=True)
    u.add_argument("--by")

    sc = commands.add_parser("schedule", help="a district's automatic sync schedule")
    scc = sc.add_subparsers(dest="action", required=True)
    sset = scc.add_parser("set", help="set the schedule and policy")
    sset.add_argument("--district", required=True)
    sset.add_argument(
        "--days",
        required=True,
        help="days the sync starts (UTC), Sunday to Friday: e.g. sun,mon,tue,wed,thu,fri",
    )
    sset.add_argument("--at", required=True, help="start time HH:MM in UTC, 20:00 to 05:00")
    sset.add_argument(
        "--until",
        required=True,
        help="valid until YYYY-MM-DD: at most 60 days after the district's first sync",
    )
    sset.add_argument(
        "--contact",
        action="append",
        default=None,
        metavar="EMAIL",
        help="who hears about held, failed and merged syncs (replaces the list), repeatable",
    )
    sset.add_argument(
        "--pause",
        action="append",
        default=[],
        metavar="START..END",
        help=f"no syncs from START to END (YYYY-MM-DD, e.g. {schedule.PAUSE_EXAMPLE}; one date "
        "pauses one day), repeatable",
    )
    sset.add_argument(
        "--policy",
        default="auto",
        choices=schedule.POLICIES,
        help="auto: merge clean runs; review: never merge on its own",
    )
    sset.add_argument("--by")
    sshow = scc.add_parser(
        "show", help="print the schedule, whether it is valid, its next run and the cron line"
    )
    sshow.add_argument("--district", required=True)
    sshow.add_argument("--json", action="store_true", help="print one JSON object")
    soff = scc.add_parser("off", help="turn the district's automatic sync off")
    soff.add_argument("--district", required=True)
    soff.add_argument("--by")

    sr = commands.add_parser(
        "scheduler", help="run due syncs until stopped (SIGTERM stops between runs)"
    )
    sr.add_argument(
        "--once", action="store_true", help="run what is due now and exit (cron, systemd timer)"
    )

    d = commands.add_parser("demo", help="the built-in demo district")
    dc = d.add_subparsers(dest="action", required=True)
    serve = dc.add_parser(
        "serve", help="serve the demo district over HTTP, like Clever, on loopback"
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--students", type=int, default=None)
    serve.add_argument("--day", type=int, default=1)
    serve.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="MODE",
        help="fail like a bad network or a struggling Clever, repeatable: 429-burst[=N], 5xx[=K], "
        "slow[=SECONDS], truncated-json, disconnect, html[=K], revoke-after=N",
    )
    dc.add_parser("advance", help="move the demo SIS to its next day")
    _students_parser(commands)
    _oneroster_demo_parsers(dc, serve)
    _events_parser(commands)
    return parser


# --- partial approval (roster/partial.py) ------------------------------------------------------


def _partial_arguments(a: argparse.ArgumentParser) -> None:
    a.add_argument(
        "--exclude-errors",
        action="store_true",
        help="withhold every record with an error (and what depends on it); merge the rest",
    )
    a.add_argument(
        "--exclude", default="", metavar="ID,...", help="withhold these records (record ids)"
    )
    a.add_argument("--no-archive", action="store_true", help="archive nothing (skip deletes)")
    a.add_argument(
        "--waive",
        action="append",
        default=[],
        metavar="CHECK[:RECORD]",
        help="approve despite this issue (every record, or one); needs --reason; repeatable",
    )
    a.add_argument("--reason", default="", help="why the issues are waived (for the audit)")


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


# --- students: added by hand, re-keys and links (roster/manual.py, review/people.py) ----------


def _students_parser(commands: Any) -> None:
    st = commands.add_parser("students", help="students added by hand; re-keys and links")
    sc = st.add_subparsers(dest="action", required=True)
    add = sc.add_parser("add", help="add a student by hand (never archived by a sync)")
    add.add_argument("--district", required=True)
    add.add_argument("--first", required=True)
    add.add_argument("--last", required=True)
    add.add_argument("--school", required=True, help="the school's id in the roster")
    add.add_argument("--grade", required=True, help="Clever's grade: Kindergarten, 1 ... 13")
    add.add_argument("--dob", help="date of birth, M/D/YYYY or YYYY-MM-DD")
    add.add_argument("--state-id")
    add.add_argument("--student-number")
    add.add_argument("--middle")
    add.add_argument("--email")
    add.add_argument("--by", help="who adds the student, for the audit log")
    add.add_argument("--json", action="store_true", help="print one JSON object")
    ls = sc.add_parser("matches", help="a run's re-keys and links (pairs that may be one person)")
    ls.add_argument("--run", required=True, type=int)
    ls.add_argument("--json", action="store_true", help="print one JSON object")
    link = sc.add_parser("link", help="link a student added by hand to its synced record")
    link.add_argument("--run", required=True, type=int)
    link.add_argument("--manual", required=True, help="the id of the student added by hand")
    link.add_argument("--synced", required=True, help="the synced student's id")
    link.add_argument("--keep-both", action="store_true", help="different students: keep both")
    link.add_argument("--by")
    link.add_argument("--json", action="store_true", help="print one JSON object")
    rk = sc.add_parser("rekey", help="choose a re-key: the old and the new id are one person")
    rk.add_argument("--run", required=True, type=int)
    rk.add_argument("--old", required=True)
    rk.add_argument("--new", required=True)
    rk.add_argument("--apart", action="store_true", help="different people: keep them apart")
    rk.add_argument("--by")
    rk.add_argument("--json", action="store_true", help="print one JSON object")


def _students(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    from mgi_roster.review import people
    from mgi_roster.roster import manual

    if args.action == "add":
        added = manual.add(
            con,
            args.district,
            manual.NewStudent(
                first_name=args.first,
                last_name=args.last,
                school=args.school,
                grade=args.grade,
                dob=args.dob,
                state_id=args.state_id,
                student_number=args.student_number,
                middle_name=args.middle,
                email=args.email,
            ),
            by=args.by,
        )
        if args.json:
            _emit(added.to_dict())
        else:
            print(f"Added student {added.record_id} (roster version {added.version}).")
        return OK
    if args.action == "matches":
        found = people.matches(con, args.run)
    elif args.action == "link":
        found = people.decide(
            con,
            args.run,
            old_id=args.manual,
            new_id=args.synced,
            same=not args.keep_both,
            by=args.by,
        )
    else:
        found = people.decide(
            con, args.run, old_id=args.old, new_id=args.new, same=not args.apart, by=args.by
        )
    if args.json:
        _emit({"run_id": args.run, "matches": [m.to_dict() for m in found]})
        return OK
    for m in found:
        print(
            f"{m.kind:5} {m.status:9} {m.entity} {m.old_id} ({m.old_name or '-'}) -> "
            f"{m.new_id} ({m.new_name or '-'}): {', '.join(m.bases)}"
        )
    if not found:
        print(f"Run {args.run} has no re-keys or links.")
    return OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )
    try:
        if args.command == "demo" and args.action == "serve":
            return _demo_serve(args)
        if args.command == "demo" and args.action == "oneroster-zip":
            return _demo_oneroster_zip(args)
        if args.command == "scheduler" and not args.once:
            return _scheduler_forever(args)
        if args.command in BRIEF:  # long work: the store is taken for moments only
            return BRIEF[args.command](store.Store(store.db_path(args.db)), args)
        with store.opened(store.db_path(args.db)) as con:
            return COMMANDS[args.command](con, args)
    except MergeRefused as exc:
        return _stopped(args, exc, REFUSED, "refused")
    except (InputError, ParametersError, SyncRefused) as exc:
        return _stopped(args, exc, USAGE, "refused")
    except RosterError as exc:
        return _stopped(args, exc, FAILED, "failed")
    except KeyboardInterrupt:
        return FAILED
    except BrokenPipeError:  # the reader stopped early (`... --json | head`): not an error
        sys.stderr.close()  # nothing more can be said; keep Python from complaining at exit
        return OK


def _stopped(args: argparse.Namespace, exc: RosterError, code: int, status: str) -> int:
    """Why a command stopped, on stderr; with --json also as the one object on stdout."""
    print(f"{exc.title}: {exc.message}", file=sys.stderr)
    if getattr(args, "json", False):
        _emit({"status": status, "reason": exc.message})
    return code


def _emit(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def _now() -> datetime:
    return datetime.now(UTC)


def _parameters(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    if args.action == "show":
        params = parameters.require(con, args.district)
        print(params.to_json())
        return OK
    if args.action == "preview":
        return _preview(con, args)
    text = _read_parameters(args.file)
    params = parameters.Parameters.from_json(text)
    kind = ProviderKind(args.provider) if args.provider else None
    district = districts.add(con, args.district, provider=kind)
    parameters.save(con, district.district_id, params)
    for note in parameters.upgrade(json.loads(text))[1]:  # a file of the earlier version
        print(note)
    print(f"Saved the District Parameters of {district.label}.")
    return OK


def _read_parameters(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"Cannot read the parameters file {path}: {exc.__class__.__name__}."
        ) from None


def _preview(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    from mgi_roster.review import readiness

    if args.file is not None:
        params = parameters.Parameters.from_json(_read_parameters(args.file))
    else:
        params = parameters.require(con, args.district)
    seen = readiness.preview(con, args.district, params)
    if args.json:
        _emit(seen.to_dict())
        return OK
    where = f"staged run {seen.run_id}" if seen.run_id is not None else "the current roster"
    print(f"The rule matches {seen.matched} of the {seen.sections} section(s) of {where}.")
    for x in seen.sample:
        print(f"  {x.name} (school {x.school_id}, grade {x.grade}): {x.students} students")
    print(
        f"{seen.covered} of {seen.screened} screened student(s) are in a matched class of "
        f"their school; {seen.not_covered} are not."
    )
    if seen.message:
        print(seen.message)
    return OK


def _readiness(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    from mgi_roster.review import readiness

    params = parameters.require(con, args.district)
    found = (
        readiness.of_run(con, args.run, params)
        if args.run is not None
        else readiness.of_roster(con, args.district, params)
    )
    if args.json:
        _emit(found.to_dict())
        return OK
    for g in found.groups:
        by = f", class {g.class_id}" if g.class_id else ""
        print(
            f"school {g.school_id}, grade {g.grade}{by}: {g.students} students, {g.plans} plan(s)"
        )
    print(
        f"{found.plans} test plan(s); {len(found.unplaceable)} student(s) cannot be placed; "
        f"{found.not_screened} not screened."
    )
    for u in found.unplaceable:
        print(f"  {u.record_id}: {u.reason}")
    return OK


def _connect(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    """The connection checklist, measured: 0 when every step is ok or a warning, else 1."""
    district_id, kind = districts.check_id(con, args.district)  # malformed: refused, exit 2
    if kind is not ProviderKind.CLEVER:
        raise InputError(
            f"The connection checklist is Clever's; district {district_id} rosters through "
            f"{kind.label}. Run a test sync to check its data."
        )
    found = districts.checklist(con, district_id, CleverSettings.from_env())
    if args.json:
        _emit(found.to_dict())
    else:
        print("\n".join(found.lines()))
    return OK if found.ok else FAILED


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


def _progress(p: Progress) -> None:
    if p.done:
        print(f"  [{p.step}/{p.steps}] {p.label}: {p.records:,} records", file=sys.stderr)


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


# --- export --what roster --format oneroster -------------------------------------------------


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


def _schedule(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    district = districts.add(con, args.district)
    if args.action == "show":
        found = schedule.status(con, district.district_id, _now())
        if args.json:
            _emit({**found.to_dict(), "contacts": schedule.contacts(con, district.district_id)})
            return OK
        lines = schedule.service_lines(sys.executable, str(Path.cwd()), str(store.db_path(args.db)))
        print(found.schedule.describe())
        if not found.valid:
            print(f"Not valid, so it does not run: {found.reason}")
        print(f"Last successful sync: {found.facts.last_successful_sync or 'none'}")
        print(f"Next run: {found.next_run.isoformat() if found.next_run else 'none'}")
        print(f"Run the scheduler from cron with:\n  {lines['cron']}")
        return OK
    if args.action == "off":
        schedule.save(con, district.district_id, schedule.Schedule(), now=_now(), by=args.by)
        print("Automatic sync is off.")
        return OK
    try:
        until = date.fromisoformat(args.until)
    except ValueError:
        raise InputError(f"--until must be a date as YYYY-MM-DD (not {args.until!r}).") from None
    plan = schedule.Schedule(
        days=schedule.parse_days(args.days),
        at=args.at,
        until=until,
        pauses=tuple(schedule.parse_pause(window) for window in args.pause),
        policy=args.policy,
    )
    schedule.save(con, district.district_id, plan, now=_now(), by=args.by)
    if args.contact is not None:
        schedule.save_contacts(con, district.district_id, args.contact)
    print(plan.describe())
    return OK


def _scheduler(target: store.Store, args: argparse.Namespace) -> int:
    """--once: run what is due now, print one line per district, exit."""
    outcomes = schedule.run_due(target, _now())  # notifications: NOTIFY_* settings
    for o in outcomes:
        run = f" (run {o.run_id})" if o.run_id else ""
        print(f"{o.district_id}: {o.outcome}{run}. {o.message}".strip())
    if not outcomes:
        print("Nothing is due.")
    return FAILED if any(o.outcome == "failed" for o in outcomes) else OK


def _scheduler_forever(args: argparse.Namespace) -> int:
    import signal
    from types import FrameType

    runner = schedule.Scheduler(store=store.Store(store.db_path(args.db)))

    def stop(_signum: int, _frame: FrameType | None) -> None:
        print("Stopping after the current run.", file=sys.stderr)
        runner.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("Scheduler running; SIGTERM or Ctrl-C stops it between runs.", file=sys.stderr)
    runner.run_forever(
        lambda o: print(
            f"{o.slot.isoformat()} {o.district_id}: {o.outcome}. {o.message}", flush=True
        )
    )
    return OK


def _demo(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    districts.ensure_demo(con)
    day = districts.advance_demo_day(con)
    print(f"The demo SIS is now on day {day}.")
    return OK


def _demo_serve(args: argparse.Namespace) -> int:
    from mgi_roster import demo

    if args.provider == "oneroster":
        return _demo_serve_oneroster(args)
    size = args.students if args.students is not None else demo.DEFAULT_STUDENTS
    options = {"faults": [demo.parse_fault(f) for f in args.fault]} if args.fault else {}
    demo.serve(demo.DemoDistrict(students=size, day=args.day), args.host, args.port, **options)
    return OK


# --- the demo as a OneRoster provider: `demo serve --provider oneroster`, `demo oneroster-zip` ---


def _oneroster_demo_parsers(
    demo_commands: argparse._SubParsersAction[argparse.ArgumentParser],
    serve: argparse.ArgumentParser,
) -> None:
    serve.add_argument(
        "--provider",
        choices=("clever", "oneroster"),
        default="clever",
        help="answer like Clever (default) or like a OneRoster 1.2 provider (REST with OAuth 2.0; "
        "1.1 with OAuth 1.0a); fault modes apply to Clever only",
    )
    z = demo_commands.add_parser(
        "oneroster-zip", help="write the demo district as a OneRoster CSV package (ZIP)"
    )
    z.add_argument("--out", required=True, help="the ZIP file to write")
    z.add_argument("--day", type=int, default=1)
    z.add_argument("--students", type=int, default=None)
    z.add_argument("--version", choices=("1.2", "1.1"), default="1.2")
    z.add_argument("--json", action="store_true", help="print one JSON object")


def _demo_serve_oneroster(args: argparse.Namespace) -> int:
    from mgi_roster import demo
    from mgi_roster.demo.oneroster_transport import serve_oneroster

    if args.fault:
        raise InputError("Fault modes are Clever's only: run --provider oneroster without --fault.")
    size = args.students if args.students is not None else demo.DEFAULT_STUDENTS
    serve_oneroster(demo.DemoDistrict(students=size, day=args.day), args.host, args.port)
    return OK


def _demo_oneroster_zip(args: argparse.Namespace) -> int:
    from mgi_roster import demo
    from mgi_roster.demo.oneroster_zip import write_package

    size = args.students if args.students is not None else demo.DEFAULT_STUDENTS
    try:
        package = write_package(
            demo.DemoDistrict(students=size, day=args.day), args.out, args.version
        )
    except OSError as exc:
        raise InputError(f"Could not write {args.out}: {exc.strerror or exc}.") from None
    if args.json:
        _emit(
            {
                "status": "written",
                "path": str(package.path),
                "version": package.version,
                "day": args.day,
                "rows": package.rows,
            }
        )
    else:
        rows = ", ".join(f"{name} {count:,}" for name, count in package.rows.items())
        print(f"Wrote OneRoster {package.version} package {package.path} (day {args.day}): {rows}.")
    return OK


# --- incremental sync: the district's place in Clever's events feed ---------------------------


def _events_parser(commands: Any) -> None:
    ev = commands.add_parser(
        "events", help="a district's place in Clever's events feed and its full-sync interval"
    )
    ev.add_argument("--district", required=True)
    ev.add_argument(
        "--full-every",
        type=int,
        metavar="DAYS",
        help="pull every record at least this often (default 7); 0 restores the default",
    )
    ev.add_argument("--json", action="store_true", help="print one JSON object")


def _events(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    from mgi_roster.sources import clever, clever_events

    district_id = clever.check_district_id(args.district)  # Clever's events: a Clever district
    districts.add(con, district_id)
    if args.full_every is not None:
        if args.full_every < 0:
            raise InputError("--full-every is a number of days: 1 or more (0 for the default).")
        clever_events.set_full_sync_days(con, district_id, args.full_every or None)
    cursor = clever_events.cursor_of(con, district_id)
    found = {
        "district_id": district_id,
        "cursor": cursor.event_id,
        "cursor_recorded_at": cursor.recorded_at.isoformat() if cursor.recorded_at else None,
        "last_full_sync_at": cursor.last_full_at.isoformat() if cursor.last_full_at else None,
        "full_sync_days": cursor.full_sync_days,
    }
    if args.json:
        _emit(found)
    else:
        where = found["cursor"] if found["cursor"] is not None else "none (the next sync is full)"
        print(f"Events cursor: {where or 'the start of the feed'}")
        print(f"Latest merged full sync: {found['last_full_sync_at'] or 'none'}")
        print(f"A full sync at least every {cursor.full_sync_days} days.")
    return OK


COMMANDS: dict[str, Handler] = {
    "parameters": _parameters,
    "readiness": _readiness,
    "connect": _connect,
    "export": _export,
    "approve": _approve,
    "reject": _reject,
    "history": _history,
    "undo": _undo,
    "schedule": _schedule,
    "demo": _demo,
    "students": _students,
    "events": _events,
}
# Commands whose work is long (a sync): they get the store to take for moments, not a
# connection held throughout, so other processes are never kept waiting.
BRIEF: dict[str, Callable[[store.Store, argparse.Namespace], int]] = {
    "sync": _sync,
    "scheduler": _scheduler,
}
