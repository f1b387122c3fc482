"""Time the dashboard's first visit in headless Chromium, against a trivial Streamlit page.

    python benchmarks/first_render.py [--runs 7] [--root DIR ...] [--in-place] [--json out.json]

Each run, for the dashboard (app.py) and for a trivial page (a title and a line, written to a
temporary folder with the dashboard's .streamlit/config.toml beside it):
  1. copies the checkout to a temporary folder without bytecode caches or databases (a fresh
     clone, as a first visit after `git clone`; --in-place serves the checkout itself), and
     starts `streamlit run` there, headless on a free loopback port, with a fresh temporary
     MGI_DB (the database does not exist yet);
  2. waits for the server's health check, then opens the page in a fresh Chromium context
     (Debian's Chromium through Playwright: no cache, no cookies);
  3. measures, in the page's own clock (performance.now(), 0 at navigation start):
     - heading: the page's main heading (h1) is visible;
     - drawn: every element is drawn: the script run has ended (the app's
       data-test-script-state is "notRunning", no running indicator in the status widget),
       no skeleton and no stale element is left, the heading is visible, and it stays so
       for a second (the time reported is when it became so);
  4. visits once more in a new context (the server has run the script once: its imports are
     done, the database exists), to separate the server's first run from what every visit
     costs.
The pages' runs alternate, so a load spike on the shared machine hits them alike. Reports min
and median per page and the ratio of the medians of "drawn" (the requirement: <= 1.3x the
trivial page's). --root (repeatable) measures other checkouts side by side, e.g. an export of
an older commit (`git archive <commit> | tar -x -C /tmp/before`).

Not part of the test suite (a run takes a minute or two); see benchmarks/RESULTS.md, "First
render".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
TRIVIAL_PAGE = 'import streamlit as st\n\nst.title("Hello")\nst.write("A line of text.")\n'
STARTUP_SECONDS = 60
VISIT_TIMEOUT_MS = 60_000
STABLE_MS = 1000  # "drawn" must hold this long (a rerun right after the first would undo it)

# Runs in every page before Streamlit's scripts: polls the DOM every 10 ms and records when the
# heading first showed, and when "everything drawn" last became true.
WATCHER = """
(heading => {
  const visible = el => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== "hidden";
  };
  const headed = () => [...document.querySelectorAll("h1")].some(
    h => h.textContent.trim() === heading && visible(h));
  window.__firstRender = {heading: null, drawn: null};
  const tick = () => {
    const now = performance.now();
    const seen = window.__firstRender;
    const hasHeading = headed();
    if (hasHeading && seen.heading === null) seen.heading = now;
    const app = document.querySelector('[data-testid="stApp"]');
    const drawn = hasHeading
      && app !== null && app.getAttribute("data-test-script-state") === "notRunning"
      && !document.querySelector('[data-testid="stStatusWidgetRunningIcon"]')
      && !document.querySelector('[data-testid="stSkeleton"]')
      && !document.querySelector('[data-testid="stAppSkeleton"]')
      && !document.querySelector('[data-stale="true"]');
    if (!drawn) seen.drawn = null;
    else if (seen.drawn === null) seen.drawn = now;
  };
  setInterval(tick, 10);
})(%s)
"""


@dataclass(frozen=True)
class Target:
    name: str
    script: str  # the file `streamlit run` is given
    cwd: Path
    heading: str
    fresh_clone: bool = False  # serve a fresh copy of cwd each run


# What a fresh clone does not have.
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "__pycache__",
    "*.duckdb",
    "*.duckdb.wal",
    "test-artifacts",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    "secrets.toml",
)


@dataclass(frozen=True)
class Visit:
    target: str
    run: int
    heading_s: float
    drawn_s: float
    second_heading_s: float
    second_drawn_s: float


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(target: Target, database: Path) -> Iterator[str]:
    """`streamlit run` the target on a free port, as tests/test_e2e.py does; always stopped."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEVER_")}
    env["MGI_DB"] = str(database)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            target.script,
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=target.cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                raise SystemExit(f"streamlit exited with {process.returncode} for {target.name}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(
                        f"streamlit did not start within {STARTUP_SECONDS} s"
                    ) from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def visit(browser: Any, url: str, heading: str) -> tuple[float, float]:
    """Open url in a fresh context; (heading, drawn) in seconds from navigation start."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.add_init_script(WATCHER % json.dumps(heading))
        page.goto(url, wait_until="commit", timeout=VISIT_TIMEOUT_MS)
        page.wait_for_function(
            f"() => window.__firstRender && window.__firstRender.drawn !== null"
            f" && performance.now() - window.__firstRender.drawn >= {STABLE_MS}",
            timeout=VISIT_TIMEOUT_MS,
            polling=50,
        )
        seen = page.evaluate("() => window.__firstRender")
        return seen["heading"] / 1000, seen["drawn"] / 1000
    finally:
        context.close()


def measure(runs: int, targets: list[Target]) -> tuple[list[Visit], str]:
    from playwright.sync_api import sync_playwright

    visits = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            for run in range(1, runs + 1):
                for target in targets:
                    with tempfile.TemporaryDirectory(prefix="mgi-first-render-") as tmp:
                        serving = target
                        if target.fresh_clone:
                            clone = Path(tmp) / "clone"
                            shutil.copytree(target.cwd, clone, ignore=NOT_IN_A_CLONE)
                            serving = replace(target, cwd=clone)
                        with served(serving, Path(tmp) / "mgi.duckdb") as url:
                            first = visit(browser, url, target.heading)
                            second = visit(browser, url, target.heading)
                    visits.append(Visit(target.name, run, *first, *second))
                    print(
                        f"run {run} {target.name:>12}: heading {first[0]:.2f} s, drawn "
                        f"{first[1]:.2f} s (second visit {second[1]:.2f} s)",
                        flush=True,
                    )
            version = browser.version
        finally:
            browser.close()
    return visits, version


def summary(visits: list[Visit]) -> dict[str, dict[str, dict[str, float]]]:
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name in dict.fromkeys(v.target for v in visits):
        mine = [v for v in visits if v.target == name]
        out[name] = {
            field: {
                "min": min(getattr(v, field) for v in mine),
                "median": statistics.median(getattr(v, field) for v in mine),
            }
            for field in ("heading_s", "drawn_s", "second_heading_s", "second_drawn_s")
        }
    return out


def machine(chromium: str) -> dict[str, Any]:
    import streamlit

    return {
        "cores": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "streamlit": streamlit.__version__,
        "chromium": chromium,
        "platform": platform.platform(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--root",
        type=Path,
        action="append",
        help="a checkout to serve (repeatable; default: this one)",
    )
    parser.add_argument(
        "--in-place", action="store_true", help="serve the checkout itself, not a fresh copy"
    )
    parser.add_argument("--json", type=Path, help="also write the visits and summary here")
    args = parser.parse_args()
    roots = [root.resolve() for root in args.root or [ROOT]]

    with tempfile.TemporaryDirectory(prefix="mgi-trivial-") as trivial_dir:
        trivial = Path(trivial_dir)
        (trivial / "page.py").write_text(TRIVIAL_PAGE)
        shutil.copytree(ROOT / ".streamlit", trivial / ".streamlit", ignore=NOT_IN_A_CLONE)
        targets = [
            Target(
                "dashboard" if root == ROOT else root.name,
                "app.py",
                root,
                "District",
                fresh_clone=not args.in_place,
            )
            for root in roots
        ]
        targets.append(Target("trivial", "page.py", trivial, "Hello"))
        visits, chromium = measure(args.runs, targets)

    results = summary(visits)
    floor = results["trivial"]["drawn_s"]["median"]
    print(
        f"\n{'':>12} {'heading min / median':>21} {'drawn min / median':>21}"
        f" {'2nd visit drawn':>16} {'drawn / trivial':>16}"
    )
    for name, row in results.items():
        print(
            f"{name:>12} {row['heading_s']['min']:>10.2f} / {row['heading_s']['median']:<8.2f}"
            f" {row['drawn_s']['min']:>10.2f} / {row['drawn_s']['median']:<8.2f}"
            f" {row['second_drawn_s']['median']:>16.2f}"
            f" {row['drawn_s']['median'] / floor:>15.2f}x"
        )
    print("requirement: drawn <= 1.3x the trivial page's (medians)")
    info = machine(chromium)
    print(f"machine: {info}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"visits": [asdict(v) for v in visits], "summary": results, "machine": info},
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
