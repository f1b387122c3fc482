"""Commands about a district before and around its syncs: parameters (and their preview), test-plan readiness, the connection checklist, the events cursor."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from mgi_roster import districts, parameters
from mgi_roster.errors import InputError
from mgi_roster.kinds import ProviderKind
from mgi_roster.settings import CleverSettings

if TYPE_CHECKING:
    import duckdb


from mgi_roster.cli.common import FAILED, OK, _emit


def _parameters(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    if args.action == "show":
        params = parameters.require(con, args.district)
        print(params.to_json())
        return OK
    if args.action == "preview":
        return _preview(con, args)
    text = _read_parameters(args.file)
    params = parameters.Parameters.from_json(text)
    kind = ProviderKind(args.provider) if args.provider else None
    district = districts.add(con, args.district, provider=kind)
    parameters.save(con, district.district_id, params)
    for note in parameters.upgrade(json.loads(text))[1]:  # a file of the earlier version
        print(note)
    print(f"Saved the District Parameters of {district.label}.")
    return OK


def _read_parameters(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"Cannot read the parameters file {path}: {exc.__class__.__name__}."
        ) from None


def _preview(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    from mgi_roster.review import readiness

    if args.file is not None:
        params = parameters.Parameters.from_json(_read_parameters(args.file))
    else:
        params = parameters.require(con, args.district)
    seen = readiness.preview(con, args.district, params)
    if args.json:
        _emit(seen.to_dict())
        return OK
    where = f"staged run {seen.run_id}" if seen.run_id is not None else "the current roster"
    print(f"The rule matches {seen.matched} of the {seen.sections} section(s) of {where}.")
    for x in seen.sample:
        print(f"  {x.name} (school {x.school_id}, grade {x.grade}): {x.students} students")
    print(
        f"{seen.covered} of {seen.screened} screened student(s) are in a matched class of "
        f"their school; {seen.not_covered} are not."
    )
    if seen.message:
        print(seen.message)
    return OK


def _readiness(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    from mgi_roster.review import readiness

    params = parameters.require(con, args.district)
    found = (
        readiness.of_run(con, args.run, params)
        if args.run is not None
        else readiness.of_roster(con, args.district, params)
    )
    if args.json:
        _emit(found.to_dict())
        return OK
    for g in found.groups:
        by = f", class {g.class_id}" if g.class_id else ""
        print(
            f"school {g.school_id}, grade {g.grade}{by}: {g.students} students, {g.plans} plan(s)"
        )
    print(
        f"{found.plans} test plan(s); {len(found.unplaceable)} student(s) cannot be placed; "
        f"{found.not_screened} not screened."
    )
    for u in found.unplaceable:
        print(f"  {u.record_id}: {u.reason}")
    return OK


def _connect(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    """The connection checklist, measured: 0 when every step is ok or a warning, else 1."""
    district_id, kind = districts.check_id(con, args.district)  # malformed: refused, exit 2
    if kind is not ProviderKind.CLEVER:
        raise InputError(
            f"The connection checklist is Clever's; district {district_id} rosters through "
            f"{kind.label}. Run a test sync to check its data."
        )
    found = districts.checklist(con, district_id, CleverSettings.from_env())
    if args.json:
        _emit(found.to_dict())
    else:
        print("\n".join(found.lines()))
    return OK if found.ok else FAILED


def _events(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    from mgi_roster.sources import clever, clever_events

    district_id = clever.check_district_id(args.district)  # Clever's events: a Clever district
    districts.add(con, district_id)
    if args.full_every is not None:
        if args.full_every < 0:
            raise InputError("--full-every is a number of days: 1 or more (0 for the default).")
        clever_events.set_full_sync_days(con, district_id, args.full_every or None)
    cursor = clever_events.cursor_of(con, district_id)
    found = {
        "district_id": district_id,
        "cursor": cursor.event_id,
        "cursor_recorded_at": cursor.recorded_at.isoformat() if cursor.recorded_at else None,
        "last_full_sync_at": cursor.last_full_at.isoformat() if cursor.last_full_at else None,
        "full_sync_days": cursor.full_sync_days,
    }
    if args.json:
        _emit(found)
    else:
        where = found["cursor"] if found["cursor"] is not None else "none (the next sync is full)"
        print(f"Events cursor: {where or 'the start of the feed'}")
        print(f"Latest merged full sync: {found['last_full_sync_at'] or 'none'}")
        print(f"A full sync at least every {cursor.full_sync_days} days.")
    return OK
