"""The built-in demo district: its SIS day, its servers (Clever or OneRoster), its OneRoster package."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from mgi_roster import districts
from mgi_roster.errors import InputError

if TYPE_CHECKING:
    import duckdb

    from mgi_roster.demo import DemoDistrict


from mgi_roster.cli.common import OK, _emit


def _demo(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    districts.ensure_demo(con)
    day = districts.advance_demo_day(con)
    print(f"The demo SIS is now on day {day}.")
    return OK


def _district(args: argparse.Namespace) -> DemoDistrict:
    """The demo district the command's arguments name (its size, day and night's changes)."""
    from mgi_roster import demo

    size = args.students if args.students is not None else demo.DEFAULT_STUDENTS
    changed = getattr(args, "changed", None)
    extra = {"changed": changed} if changed is not None else {}
    return demo.DemoDistrict(students=size, day=args.day, **extra)


def _demo_serve(args: argparse.Namespace) -> int:
    from mgi_roster import demo

    if args.provider == "oneroster":
        return _demo_serve_oneroster(args)
    options = {"faults": [demo.parse_fault(f) for f in args.fault]} if args.fault else {}
    demo.serve(_district(args), args.host, args.port, **options)
    return OK


def _demo_serve_oneroster(args: argparse.Namespace) -> int:
    from mgi_roster.demo.oneroster_transport import serve_oneroster

    if args.fault:
        raise InputError("Fault modes are Clever's only: run --provider oneroster without --fault.")
    serve_oneroster(_district(args), args.host, args.port)
    return OK


def _demo_oneroster_zip(args: argparse.Namespace) -> int:
    from mgi_roster.demo.oneroster_zip import write_package

    try:
        package = write_package(_district(args), args.out, args.version)
    except OSError as exc:
        raise InputError(f"Could not write {args.out}: {exc.strerror or exc}.") from None
    if args.json:
        _emit(
            {
                "status": "written",
                "path": str(package.path),
                "version": package.version,
                "day": args.day,
                "rows": package.rows,
            }
        )
    else:
        rows = ", ".join(f"{name} {count:,}" for name, count in package.rows.items())
        print(f"Wrote OneRoster {package.version} package {package.path} (day {args.day}): {rows}.")
    return OK
