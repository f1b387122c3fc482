"""Benchmark a whole district sync, phase by phase, over real HTTP on loopback.

    python benchmarks/run.py --students 100000 [--page-size 5000] [--json results.json]

What it does, as a specialist's day would:
  1. serves the demo district of N students with `python -m mgi_roster demo serve` (day 1);
  2. syncs it into a fresh DuckDB file through the real client (HTTP on loopback) and approves
     (a full sync: it records the events cursor first);
  3. serves the next SIS day (day 3: about 1 % of students added and 1 % withdrawn, their
     sections' rosters changed, no data errors; `--changed 1` halves both) and syncs it through
     Clever's events since the cursor ("events", then rejected: three times by default, the
     median one reported, `--events-runs`), and in full (`full=True`, then approved); both
     must stage the same changes;
  4. times the dashboard's heaviest reads on the result.

The store is used as the command line uses it (a `Store` on the file, taken for moments, not a
connection held throughout). For each phase (fetch, stage, validate, diff, merge) it reports
wall time, records per second and the peak resident memory of this process during the phase
(sampled every 20 ms from /proc/self/status). Each sync runs in a process of its own, as
`mgi-roster sync` does, and its peak is that whole process's (VmHWM: the interpreter, its
imports and the sync); the approvals run here. `--one-process` runs everything in this one
process instead (a sync then starts from what the earlier merges left). The demo server runs in
its own process, so its memory is not counted; it derives its events feed before it listens
(about 25 s at 1M).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from mgi_roster import demo, parameters, store, sync  # noqa: E402
from mgi_roster.parameters import Parameters  # noqa: E402
from mgi_roster.roster import merge  # noqa: E402
from mgi_roster.settings import CleverSettings  # noqa: E402


def high_water_mb() -> float:
    """This process's peak resident size (VmHWM). Not ru_maxrss: Linux carries that across
    fork and exec, so a child of a parent that once held 1.2 GB would report 1.2 GB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class PeakMemory:
    """Samples this process's RSS in a thread; `window()` gives the peak within a block."""

    def __init__(self, every: float = 0.02) -> None:
        self.every = every
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb())
            time.sleep(self.every)

    @contextmanager
    def window(self) -> Iterator[Callable[[], float]]:
        self.peak = rss_mb()
        yield lambda: self.peak
        self.peak = max(self.peak, rss_mb())

    def close(self) -> None:
        self._stop.set()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def demo_server(
    students: int, day: int, changed: float = demo.DEFAULT_CHANGED, wait: float = 300.0
) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mgi_roster",
            "demo",
            "serve",
            "--port",
            str(port),
            "--students",
            str(students),
            "--day",
            str(day),
            "--changed",
            str(changed),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + wait  # a large district derives its feed first
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def sync_day(
    db: Path,
    base: str,
    day: int,
    page_size: int,
    memory: PeakMemory,
    *,
    full: bool = False,
    approve: bool = True,
) -> dict[str, Any]:
    settings = CleverSettings(
        api_base=base, oauth_base=base, district_token=demo.DEMO_DISTRICT_TOKEN
    )
    peaks: dict[str, float] = {}
    phase_memory = {"fetch": 0.0}

    def on_progress(p: sync.Progress) -> None:
        phase_memory["fetch"] = max(phase_memory["fetch"], memory.peak)

    with memory.window() as peak:
        start = time.perf_counter()
        result = sync.run_sync(
            store.Store(db),
            demo.DEMO_DISTRICT_ID,
            settings=settings,
            page_size=page_size,
            progress=on_progress,
            full=full,
        )
        total = time.perf_counter() - start
        peaks["sync"] = peak()
    if not result.ok:
        raise SystemExit(f"sync failed: {result.message}")
    merge_seconds = 0.0
    peaks["merge"] = 0.0
    if approve:
        with memory.window() as peak, store.opened(db) as con:
            start = time.perf_counter()
            merge.approve(con, result.run_id or 0, by="benchmark", confirm_guards=True)
            merge_seconds = time.perf_counter() - start
            peaks["merge"] = peak()
    return {
        "day": day,
        "mode": result.mode,
        "mode_reason": result.mode_reason,
        "events_applied": result.events_applied,
        "run_id": result.run_id,
        "status": result.status,
        "counts": result.counts,
        "issues": result.issues,
        "changed_students": {
            k: v for k, v in result.changes["students"].items() if k != "unchanged"
        },
        "seconds": {
            **{k: round(v, 3) for k, v in result.timings.items()},
            "merge": round(merge_seconds, 3),
            "sync_total": round(total, 3),
        },
        "peak_rss_mb": {
            "fetch_and_stage": round(phase_memory["fetch"], 1),
            "sync": round(peaks["sync"], 1),
            "merge": round(peaks["merge"], 1),
        },
    }


def typical(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median time through review, with every run's time and the highest peak."""
    ordered = sorted(runs, key=lambda r: r["seconds"]["sync_total"])
    median = dict(ordered[(len(ordered) - 1) // 2])
    median["sync_totals"] = [r["seconds"]["sync_total"] for r in runs]
    median["peak_rss_mb"] = {
        k: max(r["peak_rss_mb"][k] for r in runs) for k in median["peak_rss_mb"]
    }
    return median


def same_changes(con: duckdb.DuckDBPyConnection, a: int, b: int) -> bool:
    """Whether two runs staged the very same changes (entity, record, kind, field, values)."""
    columns = "entity, record_id, change, field, before, after"
    row = con.execute(
        f"""SELECT (SELECT count(*) FROM (SELECT {columns} FROM changes WHERE run_id = $a
                    EXCEPT ALL SELECT {columns} FROM changes WHERE run_id = $b)),
                   (SELECT count(*) FROM (SELECT {columns} FROM changes WHERE run_id = $b
                    EXCEPT ALL SELECT {columns} FROM changes WHERE run_id = $a))""",
        {"a": a, "b": b},
    ).fetchone()
    return row == (0, 0)


def time_query(fn: Callable[[], Any], repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return round(best * 1000, 1)


def dashboard_queries(con: duckdb.DuckDBPyConnection, run_id: int) -> dict[str, float]:
    """The heaviest reads the pages make, in milliseconds (best of 5)."""
    from mgi_roster import views

    district = demo.DEMO_DISTRICT_ID
    deep = 1 + views.issues_page(con, run_id).total // 50 // 2  # a page in the middle
    queries: dict[str, Callable[[], Any]] = {
        "validation: first page": lambda: views.issues_page(con, run_id),
        "validation: middle page": lambda: views.issues_page(con, run_id, page=deep),
        "validation: search": lambda: views.issues_page(
            con, run_id, views.IssueFilter(search="garc")
        ),
        "validation: counts by check": lambda: views.issues_by_check(con, run_id),
        "changes: first page": lambda: views.changes_page(con, run_id),
        "changes: archived, searched": lambda: views.changes_page(
            con, run_id, views.ChangeFilter(changes=("archived",), search="a")
        ),
        "changes: by school": lambda: views.changes_by_school(con, run_id),
        "roster: a page of students": lambda: views.roster_page(con, district, "students"),
        "roster: search students": lambda: views.roster_page(
            con, district, "students", search="nguyen"
        ),
        "quality: students by school and grade": lambda: views.students_by_school_grade(
            con, district
        ),
        "quality: student field completeness": lambda: views.field_completeness(
            con, district, "students"
        ),
        "quality: section sizes": lambda: views.section_sizes(con, district),
        "quality: students per teacher": lambda: views.students_per_teacher(con, district),
        "quality: issues across runs": lambda: views.issues_across_runs(con, district),
    }
    return {name: time_query(query) for name, query in queries.items()}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--students", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=sync.PAGE_SIZE)
    parser.add_argument(
        "--changed",
        type=float,
        default=demo.DEFAULT_CHANGED,
        metavar="PERCENT",
        help="the percent of the students the SIS day adds or withdraws, half each (default 2: "
        "1 %% added, 1 %% withdrawn)",
    )
    parser.add_argument(
        "--db", help="DuckDB file to use (default: a temporary one, deleted afterwards)"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--one-process",
        action="store_true",
        help="every sync and approval in this process (default: each sync in a process of its "
        "own, as `mgi-roster sync` runs it, its peak being that process's VmHWM)",
    )
    parser.add_argument(
        "--events-runs",
        type=int,
        default=3,
        metavar="N",
        help="sync the day by events N times (each rejected) and report the median one: a sync "
        "of ten seconds on a small shared machine varies by a tenth from one run to the next "
        "(default 3)",
    )
    parser.add_argument("--child", nargs=5, metavar=("DB", "BASE", "DAY", "PAGE", "MODE"))
    args = parser.parse_args(argv)
    if args.events_runs < 1:
        parser.error("--events-runs must be at least 1")
    if args.child:  # one sync in this fresh process; its results as JSON on stdout
        db_, base_, day_, page_, mode = args.child
        memory = PeakMemory()
        found = sync_day(
            Path(db_), base_, int(day_), int(page_), memory, full=mode == "full", approve=False
        )
        memory.close()
        found["peak_rss_mb"]["process"] = round(high_water_mb(), 1)
        print(json.dumps(found))
        return found

    memory = PeakMemory()

    def day(base: str, n: int, *, full: bool = False, approve: bool = True) -> dict[str, Any]:
        # What the step before wrote (a merge writes its roster and base, a gigabyte at 1M)
        # reaches the disk first: written back during a sync, it slowed a ten-second one by a
        # second
        os.sync()
        if args.one_process:
            return sync_day(db, base, n, args.page_size, memory, full=full, approve=approve)
        child = subprocess.run(
            [sys.executable, __file__, "--child", str(db), base, str(n), str(args.page_size),
             "full" if full else "auto"],
            capture_output=True, text=True,
        )  # fmt: skip
        if child.returncode:
            raise SystemExit(f"the day {n} sync's process failed:\n{child.stderr[-3000:]}")
        found: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
        if approve:
            with memory.window() as peak, store.opened(db) as con:
                start = time.perf_counter()
                merge.approve(con, found["run_id"], by="benchmark", confirm_guards=True)
                found["seconds"]["merge"] = round(time.perf_counter() - start, 3)
                found["peak_rss_mb"]["merge"] = round(peak(), 1)
        return found

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(args.db or Path(tmp) / "bench.duckdb")
        with store.opened(db) as con:
            parameters.save(con, demo.DEMO_DISTRICT_ID, Parameters())
        with demo_server(args.students, 1) as base:
            day1 = day(base, 1)
        with demo_server(args.students, 3, args.changed) as base:
            runs = []
            for _ in range(args.events_runs):  # each rejected: the next starts where it did
                runs.append(day(base, 3, approve=False))
                with store.opened(db) as con:
                    merge.reject(con, runs[-1]["run_id"], by="benchmark")
            events = typical(runs)
            day2 = day(base, 3, full=True)
        with store.opened(db) as con:
            events["same_changes_as_full"] = same_changes(con, events["run_id"], day2["run_id"])
            queries = dashboard_queries(con, day2["run_id"])
        size_mb = round(db.stat().st_size / 2**20, 1)
    memory.close()
    results = {
        "students": args.students,
        "changed_percent": args.changed,
        "page_size": args.page_size,
        "syncs": "one process" if args.one_process else "a process each",
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "python": platform.python_version(),
            "duckdb": duckdb.__version__,
        },
        "day1": day1,
        "day2_events": events,
        "day2": day2,
        "dashboard_ms": queries,
        "db_file_mb": size_mb,
    }
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return results


def report(r: dict[str, Any]) -> None:
    n = r["students"]
    print(
        f"\n{n:,} students ({r['day1']['counts']['enrollments']:,} enrollments), page size {r['page_size']:,}"
    )
    print(f"machine: {r['machine']}")
    for label in ("day1", "day2_events", "day2"):
        d = r[label]
        records = sum(d["counts"].values())
        print(
            f"\n{label} (SIS day {d['day']}, {d['mode']}: {d['mode_reason']}, "
            f"{d['events_applied']:,} events): status {d['status']}, issues {d['issues']}, "
            f"students {d['changed_students']}"
        )
        print(f"  {'phase':10} {'seconds':>9} {'records/s':>12}")
        for phase in ("fetch", "stage", "validate", "diff", "merge"):
            seconds = d["seconds"].get(phase, 0.0)
            rate = f"{records / seconds:,.0f}" if seconds else "-"
            print(f"  {phase:10} {seconds:9.2f} {rate:>12}")
        total = d["seconds"]["sync_total"] + d["seconds"]["merge"]
        print(f"  {'sync':10} {d['seconds']['sync_total']:9.2f}   (through review: staged)")
        print(f"  {'total':10} {total:9.2f}   peak RSS MB: {d['peak_rss_mb']}")
    events, full = r["day2_events"]["seconds"]["sync_total"], r["day2"]["seconds"]["sync_total"]
    every = ", ".join(f"{t:.2f}" for t in r["day2_events"].get("sync_totals", [events]))
    print(
        f"\nevents sync / full sync (through review): {events:.2f} / {full:.2f} s = "
        f"{events / full:.1%} (the median events sync of: {every} s); "
        f"same changes: {r['day2_events']['same_changes_as_full']}"
    )
    print(f"\ndashboard queries (ms, best of 5): {r['dashboard_ms']}")
    print(f"database file: {r['db_file_mb']} MB")


if __name__ == "__main__":
    main()
