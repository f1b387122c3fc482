"""The automatic sync: a district's schedule, and the scheduler (once, or as a service)."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from mgi_roster import districts, schedule, store
from mgi_roster.errors import InputError

if TYPE_CHECKING:
    import duckdb


from mgi_roster.cli.common import FAILED, OK, _emit, _now


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
