"""Students added by hand, and the re-keys and links a person decides."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb


from mgi_roster.cli.common import OK, _emit


def _students(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> int:
    from mgi_roster.review import people
    from mgi_roster.roster import manual

    if args.action == "add":
        added = manual.add(
            con,
            args.district,
            manual.NewStudent(
                first_name=args.first,
                last_name=args.last,
                school=args.school,
                grade=args.grade,
                dob=args.dob,
                state_id=args.state_id,
                student_number=args.student_number,
                middle_name=args.middle,
                email=args.email,
            ),
            by=args.by,
        )
        if args.json:
            _emit(added.to_dict())
        else:
            print(f"Added student {added.record_id} (roster version {added.version}).")
        return OK
    if args.action == "matches":
        found = people.matches(con, args.run)
    elif args.action == "link":
        found = people.decide(
            con,
            args.run,
            old_id=args.manual,
            new_id=args.synced,
            same=not args.keep_both,
            by=args.by,
        )
    else:
        found = people.decide(
            con, args.run, old_id=args.old, new_id=args.new, same=not args.apart, by=args.by
        )
    if args.json:
        _emit({"run_id": args.run, "matches": [m.to_dict() for m in found]})
        return OK
    for m in found:
        print(
            f"{m.kind:5} {m.status:9} {m.entity} {m.old_id} ({m.old_name or '-'}) -> "
            f"{m.new_id} ({m.new_name or '-'}): {', '.join(m.bases)}"
        )
    if not found:
        print(f"Run {args.run} has no re-keys or links.")
    return OK
