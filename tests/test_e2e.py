"""The dashboard in a real browser: `streamlit run app.py` on a free loopback port with a temporary
database, driven by Debian's Chromium through Playwright, through the demo flow to a merged run.

A screenshot of every step lands in test-artifacts/e2e/ (git-ignored). CI installs Chromium and
sets MGI_REQUIRE_BROWSER=1, which turns a missing browser into a failure instead of a skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
# Generous: on a loaded 2-core machine a first script run (imports, a new database) has taken
# over 5 s, Playwright's `expect` default, which once failed this test. Every wait below is on
# the condition itself, so a fast machine does not wait any longer for these bounds.
STARTUP_SECONDS = 90
STEP_TIMEOUT_MS = 90_000
SYNC_TIMEOUT_MS = 240_000
# The script run has ended (Streamlit's own attribute on the app element; "running" while a run
# is on), no element of the previous run is left (they are marked stale until replaced) and
# every element is drawn (a skeleton stands in for one whose code is still loading).
SETTLED = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return app !== null && app.getAttribute("data-test-script-state") === "notRunning"
    && !document.querySelector('[data-stale="true"], [data-testid="stSkeleton"]');
}"""
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def chromium() -> str:
    """Chromium's path, or skip (fail when MGI_REQUIRE_BROWSER=1) if it is not installed.
    Requested before `server`, so a missing browser starts no server."""
    path = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
    if Path(path).is_file() and os.access(path, os.X_OK):
        return path
    found = shutil.which("chromium")
    if found:
        return found
    message = (
        "Chromium not installed: apt-get install chromium (CI installs it and requires this test)"
    )
    if os.environ.get("MGI_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"streamlit exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"streamlit did not answer within {STARTUP_SECONDS} s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """`streamlit run app.py` with a temporary database; always terminated."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEVER_")}
    env["MGI_DB"] = str(tmp_path / "mgi.duckdb")
    log = tmp_path / "streamlit.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.headless",
                "true",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        (ARTIFACTS / "streamlit.log").parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(log, ARTIFACTS / "streamlit.log")


def test_demo_flow_to_a_merged_run_in_chromium(chromium: str, server: str) -> None:
    from playwright.sync_api import Locator, expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(STEP_TIMEOUT_MS)
            steps = iter(range(1, 100))

            def settle() -> None:
                """Wait for the script run to end (see SETTLED). Called once what the run
                shows is visible, so the run it waits for has started."""
                page.wait_for_function(SETTLED, timeout=SYNC_TIMEOUT_MS, polling=100)

            def shot(name: str) -> None:
                settle()
                page.screenshot(
                    path=str(ARTIFACTS / f"{next(steps):02d}-{name}.png"), full_page=True
                )

            def heading(title: str) -> None:
                locator = page.get_by_role("heading", name=title, exact=True)
                expect(locator).to_be_visible(timeout=STEP_TIMEOUT_MS)

            def visit(title: str) -> None:
                nav = page.get_by_test_id("stSidebarNav")
                nav.get_by_role("link", name=title, exact=True).click()
                heading(title)
                settle()

            def live_button(name: str) -> Locator:
                """A button of the current run only: while a run replaces a widget whose
                parameters changed (Approve's help text, say), the old one stays, stale."""
                current = page.locator(
                    '[data-testid="stElementContainer"]:not([data-stale="true"])'
                )
                return current.get_by_role("button", name=name)

            def shows(text: str, timeout: int = STEP_TIMEOUT_MS) -> None:
                expect(page.get_by_text(text).first).to_be_visible(timeout=timeout)

            page.goto(server)
            heading("District")
            shows("No sign-in configured: open for local and demo use")
            # The district's name on the sidebar's switcher reads as itself (the label's
            # Markdown escapes do not show), and the switcher opens the district picker.
            sidebar = page.get_by_test_id("stSidebar")
            switcher = sidebar.get_by_role("button", name="Maple Valley Unified (demo)")
            expect(switcher).to_be_visible(timeout=STEP_TIMEOUT_MS)
            shot("district")
            switcher.click()
            picker = page.get_by_role("combobox", name="District", exact=True)
            expect(picker).to_be_visible(timeout=STEP_TIMEOUT_MS)
            page.keyboard.press("Escape")
            expect(picker).to_be_hidden(timeout=STEP_TIMEOUT_MS)

            visit("District Parameters")
            page.get_by_role("button", name="Save District Parameters").click()
            shows("Saved the District Parameters")
            shot("parameters-saved")

            visit("Connection")
            page.get_by_role("button", name="Test Connection").click()
            shows("Test Connection succeeded")
            # The measured checklist, a step a row (a data grid: its cells are drawn on a canvas).
            cell = page.locator("[role=gridcell]", has_text="Setup finished in Clever").first
            expect(cell).to_be_attached(timeout=STEP_TIMEOUT_MS)
            shot("connection-tested")

            visit("Test Sync")
            page.get_by_role("button", name="Run test sync").click()
            shows("Staged: 0 errors", timeout=SYNC_TIMEOUT_MS)
            shot("synced-day-1")

            visit("Validation")
            shows("No errors: this run can be approved")
            shot("validation")

            visit("Changes")
            expect(page.get_by_test_id("stMetric").first).to_be_visible(timeout=STEP_TIMEOUT_MS)
            shot("changes")

            visit("Approve")
            name = page.get_by_role("textbox", name="Reviewer name")
            name.fill("Dana")
            name.press("Enter")
            approve = live_button("Approve and merge")
            expect(approve).to_be_enabled(timeout=STEP_TIMEOUT_MS)  # once the name is in
            settle()
            approve.click()
            shows("Merged run 1 into the roster as version 1")
            shows("Run 1 was merged into the roster.")
            shows("Dana")
            shot("approved")

            visit("Test plans")
            shows("Plans per group")
            shows("Students who cannot be placed")
            shot("test-plans")

            visit("History")
            shows("Undo the latest merge")
            shot("history")

            visit("Roster Quality")
            shows("Students by school and grade")
            shot("roster-quality")

            # Day 2 of the demo SIS: changes, and errors that block Approve with the reason.
            visit("Test Sync")
            page.get_by_role("button", name="Advance the demo SIS to the next day").click()
            shows("The demo SIS is now on day 2")
            settle()
            page.get_by_role("button", name="Run test sync").click()
            shows("errors must be fixed in the SIS before Approve", timeout=SYNC_TIMEOUT_MS)
            shot("synced-day-2")

            visit("Approve")
            # The run in plain words (review/digest.py), before any table.
            shows("In short: ")
            shows("students updated")
            shows("which Approve can withhold")
            shows("Approve is blocked")
            approve = live_button("Approve and merge")
            expect(approve).to_be_disabled(timeout=STEP_TIMEOUT_MS)
            shot("day-2-blocked")
            assert not page.get_by_test_id("stException").count()
        finally:
            browser.close()
