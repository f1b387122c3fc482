"""How long the store keeps others waiting while a sync runs in another process.

    python benchmarks/read_latency.py --students 200000 [--json out.json]

What it does:
  1. serves the demo district of N students on loopback (day 1), syncs and approves it, so
     the roster holds N students (the pages below read a real roster);
  2. serves day 2 and starts `python -m mgi_roster sync` in another process, as the scheduler
     or a second specialist would;
  3. while that sync runs, this process keeps doing what the dashboard does for a page view,
     one after another: open the store, read (the History runs table, a page of the roster's
     students, the roster's counts), close; and now and then a write (saving the District
     Parameters); plus, in a third process, the `history --json` command;
  4. reports, for reads and writes during the sync, how many were made and their latency
     (median, 95th percentile, maximum), beside the sync's own duration.

The numbers go in benchmarks/RESULTS.md ("Read latency during a sync").
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.run import PeakMemory, demo_server, sync_day  # noqa: E402
from mgi_roster import demo, parameters, store, views  # noqa: E402
from mgi_roster.parameters import Parameters  # noqa: E402

DISTRICT = demo.DEMO_DISTRICT_ID


def summary(seconds: list[float]) -> dict[str, Any]:
    if not seconds:
        return {"count": 0}
    ordered = sorted(seconds)
    return {
        "count": len(ordered),
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[math.ceil(len(ordered) * 0.95) - 1] * 1000, 1),  # nearest rank
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def page_view(path: Path) -> None:
    """What a dashboard page view does to the store: open, read, close."""
    with store.opened(path) as con:
        views.runs_table(con, DISTRICT)
        views.roster_page(con, DISTRICT, "students", page=1, page_size=50)
        views.roster_counts(con, DISTRICT)


def save_parameters(path: Path, n: int) -> None:
    with store.opened(path) as con:
        parameters.save(con, DISTRICT, Parameters(archive_threshold_pct=10 + n % 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200_000)
    parser.add_argument("--page-size", type=int, default=10_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="mgi-latency-"))
    path = folder / "mgi.duckdb"
    with store.opened(path) as con:
        parameters.save(con, DISTRICT, Parameters())
        memory = PeakMemory()
        day1 = sync_day(con, args.students, 1, args.page_size, memory)
        memory.close()
    print(f"day 1: {args.students:,} students synced and approved", file=sys.stderr)

    reads: list[float] = []
    writes: list[float] = []
    commands: list[float] = []
    with demo_server(args.students, 2) as base:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "CLEVER_API_BASE": base,
            "CLEVER_OAUTH_BASE": base,
            "CLEVER_DISTRICT_TOKEN": demo.DEMO_DISTRICT_TOKEN,
        }
        started = time.perf_counter()
        sync = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mgi_roster",
                "--db",
                str(path),
                "sync",
                "--district",
                DISTRICT,
                "--json",
            ],
            cwd=folder,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        n = 0
        command: subprocess.Popen[str] | None = None
        command_started = 0.0
        while sync.poll() is None:
            n += 1
            t = time.perf_counter()
            page_view(path)
            reads.append(time.perf_counter() - t)
            if n % 10 == 0:
                t = time.perf_counter()
                save_parameters(path, n)
                writes.append(time.perf_counter() - t)
            if command is None:
                command_started = time.perf_counter()
                command = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "mgi_roster",
                        "--db",
                        str(path),
                        "history",
                        "--district",
                        DISTRICT,
                        "--json",
                    ],
                    cwd=folder,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            elif command.poll() is not None:
                commands.append(time.perf_counter() - command_started)
                command = None
            time.sleep(0.05)
        out, err = sync.communicate()
        sync_seconds = time.perf_counter() - started
        if command is not None:
            command.wait()
    if sync.returncode != 0:
        raise SystemExit(f"the day-2 sync failed: {err.strip()}")
    result = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "students": args.students,
        "day1_sync_seconds": day1["seconds"]["sync_total"],
        "day2_sync_seconds": round(sync_seconds, 2),
        "day2_run": json.loads(out)["status"],
        "page_view_reads": summary(reads),
        "parameter_writes": summary(writes),
        "history_command": summary(commands),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
