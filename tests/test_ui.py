"""The UI package (mgi_roster.ui) and the first page: what a first visit loads, one database
connection per script run, and the District page's table."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from mgi_roster import districts, store, ui

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
OTHER = "0123456789abcdef01234567"
# Each took longer to import than Streamlit needs to draw a trivial page (benchmarks/RESULTS.md,
# "First render"); the District page, the first one, needs none of them.
HEAVY = ("pandas", "pyarrow", "pandera", "altair", "mgi_roster.views", "mgi_roster.masking")
FIRST_VISIT = """
import json, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("app.py", default_timeout=60).run()
assert [t.value for t in at.title] == ["District"] and not at.exception, at.exception
print(json.dumps([name for name in HEAVY if name in sys.modules]))
"""


@pytest.fixture
def db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "mgi.duckdb"
    monkeypatch.setenv("MGI_DB", str(path))
    return path


def test_a_first_visit_imports_no_table_chart_or_validation_library(tmp_path: Path) -> None:
    """In a fresh interpreter, as `streamlit run` serves a first visit: a new database, the
    District page with the demo district alone."""
    env = {**os.environ, "MGI_DB": str(tmp_path / "mgi.duckdb")}
    done = subprocess.run(
        [sys.executable, "-c", f"HEAVY = {HEAVY!r}\n{FIRST_VISIT}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_the_router_opens_the_database_once_per_script_run(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = []
    connect = store.connect

    def counted(*args, **kwargs):
        opened.append(args)
        return connect(*args, **kwargs)

    monkeypatch.setattr(store, "connect", counted)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception and [t.value for t in at.title] == ["District"]
    assert len(opened) == 1  # the sidebar, the page and the status line share it
    at.switch_page("app_pages/history.py").run()
    assert len(opened) == 2


def test_db_shares_the_script_runs_connection_and_closes_it_at_the_end(db_path: Path) -> None:
    with ui.script_run():
        with ui.db() as first, ui.db() as second:
            assert first is second
        with ui.db() as again:
            assert again is first
    with pytest.raises(duckdb.ConnectionException):
        first.execute("SELECT 1")
    with ui.db() as alone, ui.db() as other:  # outside a script run: one each, closed after
        assert alone is not other
    with pytest.raises(duckdb.ConnectionException):
        alone.execute("SELECT 1")


def test_a_script_run_that_never_needs_the_database_never_opens_it(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "connect", lambda *a, **k: pytest.fail("opened"))
    with ui.script_run():
        pass
    assert not db_path.exists()


def test_the_district_page_lists_the_districts_once_there_are_several(db_path: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.dataframe  # the demo district alone: the picker names it
    with store.opened(db_path) as con:
        districts.add(con, OTHER, "Springfield Public Schools")
    at.run()
    (shown,) = [d.value for d in at.dataframe]
    assert OTHER in set(shown["District ID"]) and len(shown) == 2


# --- the district switcher -----------------------------------------------------------------

HOSTILE_NAMES = (
    "**bold** _it_ ~~gone~~ `code`",
    "[link](javascript:alert(1)) ![img](http://evil.example/x.png) <http://evil.example>",
    ":red[colour] :material/home: :smile: $x^2$",
    "# Heading\n- item\n1. item | pipe | \\ backslash = + . !",
    "Maple Valley Unified (demo)",
)


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_plain_escapes_everything_a_label_would_read_as_syntax(name: str) -> None:
    shown = ui.plain(name)
    unescaped = re.sub(r"\\(.)", r"\1", shown, flags=re.S)
    assert unescaped == name  # the escapes are all there is to it
    bare = re.sub(r"\\.", "", shown, flags=re.S)  # what is left unescaped
    assert not set(bare) & set("\\`*_{}[]()#+-.!|<>~$:=")


def test_the_switcher_names_the_district_and_holds_its_picker(db_path: Path) -> None:
    with store.opened(db_path) as con:
        districts.add(con, OTHER, "**Springfield** [x](http://evil.example)")
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["district_id"] = OTHER
    at.run()
    labels = [p.proto.popover.label for p in at.sidebar.get("popover")]
    assert labels == [ui.plain("**Springfield** [x](http://evil.example)")]
    picker = at.selectbox(key="sidebar_district")
    assert picker.value == OTHER and len(picker.options) == 2
