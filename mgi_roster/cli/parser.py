"""The command line's grammar: every command, its options and their help."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mgi_roster import schedule
from mgi_roster.kinds import ProviderKind

if TYPE_CHECKING:
    pass


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
        "--changed",
        type=float,
        default=None,
        metavar="PERCENT",
        help="the percent of day 1's students the night before day 2 adds or withdraws, half "
        "each (default 2: 1 %% added, 1 %% withdrawn)",
    )
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
