"""The same district through every provider: the demo synced through Clever, through the
OneRoster API (1.2, OAuth 2.0, over the demo's in-process API) and through a OneRoster CSV
package (the demo written as a ZIP, read by the real reader) stages the same roster; and a
roster approved from Clever, exported as OneRoster 1.1 and synced back as CSV, shows no change.

What OneRoster has no place for (a school's number, address and principal, a student's ELL
status and graduation year, a teacher's title, a section's SIS id) is left out of the
comparison, and so is the demo's one student the Clever token cannot see (OneRoster has no
idea of sharing, so the demo leaves it out: one enrollment fewer).
"""

from __future__ import annotations

import duckdb
import pytest

from mgi_roster import districts, parameters
from mgi_roster.demo import DEMO_DISTRICT_ID, DemoDistrict
from mgi_roster.demo.oneroster_zip import write_package
from mgi_roster.entities import ENROLLMENTS, ENTITIES
from mgi_roster.kinds import ProviderKind, RunStatus
from mgi_roster.parameters import Parameters
from mgi_roster.roster import merge, oneroster_export, sql
from mgi_roster.store import Store
from mgi_roster.sync import run_sync

# Fields OneRoster cannot carry (see the module's docstring).
NOT_IN_ONEROSTER = {
    "schools": {
        "school_number",
        "state_id",
        "nces_id",
        "low_grade",
        "high_grade",
        "phone",
        "address",
        "city",
        "state",
        "zip",
        "principal_name",
        "principal_email",
    },
    "students": {"ell_status", "graduation_year"},
    "teachers": {"title"},
    "sections": {"sis_id", "class_type"},
}


def _sync(con: duckdb.DuckDBPyConnection, provider: ProviderKind, **kw: object):
    result = run_sync(con, DEMO_DISTRICT_ID, provider=provider, **kw)  # type: ignore[arg-type]
    assert result.status in (RunStatus.STAGED, RunStatus.HELD), result.message
    return result


@pytest.fixture
def demo_db(fresh_db):
    districts.ensure_demo(fresh_db)
    parameters.save(fresh_db, DEMO_DISTRICT_ID, Parameters())
    return fresh_db


def _staged_rows(con: duckdb.DuckDBPyConnection, result) -> dict[str, set[tuple[object, ...]]]:
    """The run's staged rows, read from the published findings' roster after Approve."""
    merge.approve(con, result.run_id, by="test")
    rows = {}
    for entity in ENTITIES:
        skip = NOT_IN_ONEROSTER.get(entity.name, set())
        columns = ", ".join(sql.q(c) for c in entity.column_names if c not in skip)
        rows[entity.name] = set(
            tuple(tuple(v) if isinstance(v, list) else v for v in row)
            for row in con.execute(
                f"SELECT {columns} FROM ({sql.current(entity)})",
                {"district": DEMO_DISTRICT_ID},
            ).fetchall()
        )
    merge.undo(con, DEMO_DISTRICT_ID, by="test")
    return rows


def _without_unshared(
    rows: dict[str, set[tuple[object, ...]]], other: dict[str, set[tuple[object, ...]]]
):
    """Clever's enrollments of the one student the demo's Clever token cannot see."""
    missing = rows[ENROLLMENTS.name] - other[ENROLLMENTS.name]
    assert len(missing) <= 1
    rows[ENROLLMENTS.name] -= missing
    return rows


def test_the_demo_through_the_oneroster_api_is_the_roster_through_clever(demo_db):
    clever = _staged_rows(demo_db, _sync(demo_db, ProviderKind.CLEVER))
    api = _staged_rows(demo_db, _sync(demo_db, ProviderKind.ONEROSTER_API))
    assert len(api["students"]) == 1200
    clever = _without_unshared(clever, api)
    for entity in ENTITIES:
        assert api[entity.name] == clever[entity.name], entity.name


def test_the_demo_as_a_csv_package_is_the_roster_through_clever(demo_db, tmp_path):
    package = tmp_path / "demo.zip"
    write_package(DemoDistrict(day=1), package, "1.2")
    clever = _staged_rows(demo_db, _sync(demo_db, ProviderKind.CLEVER))
    csv = _staged_rows(demo_db, _sync(demo_db, ProviderKind.ONEROSTER_CSV, file=package))
    clever = _without_unshared(clever, csv)
    for entity in ENTITIES:
        assert csv[entity.name] == clever[entity.name], entity.name


def test_an_approved_roster_exported_as_oneroster_syncs_back_unchanged(demo_db, tmp_path):
    first = _sync(demo_db, ProviderKind.CLEVER)
    merge.approve(demo_db, first.run_id, by="test")
    package = tmp_path / "roster.zip"
    oneroster_export.export(demo_db, DEMO_DISTRICT_ID, package, name="Maple Valley")

    elsewhere = Store(duckdb.connect(":memory:"))
    with elsewhere.session() as con:
        from mgi_roster.store import migrate

        migrate(con)
        districts.add(con, DEMO_DISTRICT_ID, provider=ProviderKind.ONEROSTER_CSV)
        parameters.save(con, DEMO_DISTRICT_ID, Parameters())
        again = run_sync(con, DEMO_DISTRICT_ID, provider=ProviderKind.ONEROSTER_CSV, file=package)
        assert again.status == RunStatus.STAGED, again.message
        assert again.issues["error"] == 0
        exported = {k: v for k, v in first.counts.items()}
        exported[ENROLLMENTS.name] = again.counts[ENROLLMENTS.name]  # the unshared student's
        assert again.counts == exported
        merge.approve(con, again.run_id, by="test")
        third = run_sync(con, DEMO_DISTRICT_ID, provider=ProviderKind.ONEROSTER_CSV, file=package)
        assert third.status == RunStatus.STAGED, third.message
        changed = {
            entity: {k: n for k, n in kinds.items() if k != "unchanged" and n}
            for entity, kinds in third.changes.items()
        }
        assert not any(changed.values()), changed
