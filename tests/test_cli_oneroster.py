"""The command line's OneRoster block: sync a CSV ZIP, export the roster as OneRoster."""

from __future__ import annotations

import json
import zipfile

from mgi_roster import demo
from mgi_roster.cli import main
from tests.oneroster_support import DISTRICT, package_11, write_zip


def run(db, *args) -> int:
    return main(["--db", str(db), *args])


def test_sync_a_zip_then_export_the_roster(tmp_path, capsys, monkeypatch):
    db = tmp_path / "mgi.duckdb"
    params = tmp_path / "params.json"
    params.write_text("{}")
    assert (
        run(
            db,
            "parameters",
            "set",
            "--district",
            DISTRICT,
            "--file",
            str(params),
            "--provider",
            "oneroster-csv",
        )
        == 0
    )
    zipped = write_zip(tmp_path / "p.zip", package_11())
    capsys.readouterr()
    code = run(
        db,
        "sync",
        "--district",
        DISTRICT,
        "--provider",
        "oneroster-csv",
        "--file",
        str(zipped),
        "--json",
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    assert out["counts"]["students"] == 2
    assert run(db, "approve", "--run", str(out["run_id"]), "--confirm-guards") == 0
    target = tmp_path / "out.zip"
    assert (
        run(
            db,
            "export",
            "--district",
            DISTRICT,
            "--what",
            "roster",
            "--format",
            "oneroster",
            "--out",
            str(target),
        )
        == 0
    )
    assert "users.csv" in capsys.readouterr().out
    with zipfile.ZipFile(target) as z:
        assert "manifest.csv" in z.namelist() and "users.csv" in z.namelist()


def test_a_oneroster_id_for_a_clever_district_is_refused(tmp_path, capsys):
    db = tmp_path / "mgi.duckdb"
    assert run(db, "sync", "--district", DISTRICT, "--json") == 2
    assert "24 characters" in json.loads(capsys.readouterr().out)["reason"]


def test_a_sync_without_its_zip_fails(tmp_path, capsys):
    db = tmp_path / "mgi.duckdb"
    params = tmp_path / "params.json"
    params.write_text("{}")
    run(
        db,
        "parameters",
        "set",
        "--district",
        DISTRICT,
        "--file",
        str(params),
        "--provider",
        "oneroster-csv",
    )
    capsys.readouterr()
    assert run(db, "sync", "--district", DISTRICT, "--json") == 1
    assert "needs the package" in json.loads(capsys.readouterr().out)["message"]


def test_export_roster_needs_oneroster_format(tmp_path, capsys):
    db = tmp_path / "mgi.duckdb"
    code = run(
        db,
        "export",
        "--district",
        demo.DEMO_DISTRICT_ID,
        "--what",
        "roster",
        "--out",
        str(tmp_path / "x.zip"),
    )
    assert code == 2
