"""House rules that keep the project honest: the README's commands, CI, the UI boundary."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    setup = ROOT.joinpath("README.md").read_text().split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", setup, flags=re.S)


def test_readme_has_exactly_two_setup_commands():
    commands = readme_commands()
    assert len(commands) == 2
    assert all("\n" not in c for c in commands)  # one command each
    assert commands[0].endswith("streamlit run app.py")
    assert "pytest" in commands[1] and "ruff check" in commands[1]


def test_ci_runs_the_readme_test_command():
    assert readme_commands()[1] in ROOT.joinpath(".ci", "run").read_text()


def test_package_imports_streamlit_only_in_ui():
    package = ROOT.joinpath("mgi_roster")
    ui = package.joinpath("ui")
    offenders = [
        str(p.relative_to(package))
        for p in package.rglob("*.py")
        if ui not in p.parents
        and re.search(r"^\s*(import streamlit|from streamlit)", p.read_text(), flags=re.M)
    ]
    assert ui.joinpath("__init__.py").is_file()
    assert offenders == []


def test_pages_hold_no_sql_or_http():
    pattern = re.compile(
        r"\b(SELECT|INSERT|UPDATE|DELETE)\s|import requests|import pandera|\.execute\("
    )
    offenders = [
        p.name for p in ROOT.joinpath("app_pages").glob("*.py") if pattern.search(p.read_text())
    ]
    offenders += ["app.py"] if pattern.search(ROOT.joinpath("app.py").read_text()) else []
    assert offenders == []
