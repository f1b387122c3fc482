"""The command line: scripted and scheduled syncs. Each command is one library call.

    mgi-roster [--db PATH] parameters set  --district ID --file PARAMS.json
    mgi-roster [--db PATH] parameters show --district ID
    mgi-roster [--db PATH] parameters preview --district ID [--file PARAMS.json] [--json]
    mgi-roster [--db PATH] connect --district ID [--json]   (the connection checklist)
    mgi-roster [--db PATH] sync    --district ID [--provider clever|oneroster-api|oneroster-csv]
                           [--file ZIP] [--full] [--json]
    mgi-roster [--db PATH] export  --run RUN_ID --what issues|changes [--format csv|json] [--out FILE]
    mgi-roster [--db PATH] export  --district ID --what roster [--format csv] [--out FILE]
    mgi-roster [--db PATH] export  --district ID --what roster --format oneroster --out ZIP
    mgi-roster [--db PATH] approve --run RUN_ID [--by NAME] [--confirm-guards] [--json]
                           [--exclude-errors] [--exclude ID,...] [--no-archive]
                           [--waive CHECK[:RECORD] ... --reason TEXT]   (a partial approval)
    mgi-roster [--db PATH] reject  --run RUN_ID [--by NAME]
    mgi-roster [--db PATH] history --district ID [--json]
    mgi-roster [--db PATH] readiness --district ID [--run RUN_ID] [--json]
    mgi-roster [--db PATH] undo    --district ID [--by NAME]
    mgi-roster [--db PATH] schedule set  --district ID --days sun,mon,tue,wed,thu,fri
                           --at HH:MM --until YYYY-MM-DD [--pause START..END ...]
                           [--policy auto|review] [--contact EMAIL ...]   (time in UTC)
    mgi-roster [--db PATH] schedule show --district ID [--json]
    mgi-roster [--db PATH] schedule off  --district ID
    mgi-roster [--db PATH] scheduler [--once]
    mgi-roster [--db PATH] demo advance
    mgi-roster [--db PATH] students add --district ID --first F --last L --school S --grade G
                           [--dob D] [--state-id X] [--student-number N] [--by NAME] [--json]
    mgi-roster [--db PATH] students matches --run R [--json]   (re-keys and links of a run)
    mgi-roster [--db PATH] students link  --run R --manual ID --synced ID [--keep-both] [--by NAME]
    mgi-roster [--db PATH] students rekey --run R --old ID --new ID [--apart] [--by NAME]
    mgi-roster [--db PATH] events  --district ID [--full-every DAYS] [--json]
    mgi-roster demo serve [--host H] [--port P] [--students N] [--day D] [--fault MODE ...]
                          [--provider clever|oneroster]
    mgi-roster demo oneroster-zip --out ZIP [--day D] [--students N] [--version 1.2|1.1] [--json]

`python -m mgi_roster` is the same program.

Exit codes: 0 done (a sync that staged or is held); 1 failed (message on stderr, and in the
JSON); 2 usage errors and bad input; 3 approve refused (errors, unconfirmed guards, stale run).
With --json a command prints exactly one JSON object on standard output, whatever happens: its
result, or {"status": "refused", "reason": ...} (exit 2 or 3), or {"status": "failed",
"reason": ...} (exit 1).

Start-up time is part of the contract (cron runs `scheduler --once` every few minutes; scripts
call commands in loops): what only one command needs (a sync's validation with pandas and
pandera, the demo server) is imported by that command's handler, not here.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from mgi_roster import store
from mgi_roster.cli.common import FAILED, OK, REFUSED, USAGE, _stopped
from mgi_roster.cli.demo import _demo, _demo_oneroster_zip, _demo_serve
from mgi_roster.cli.district import _connect, _events, _parameters, _readiness
from mgi_roster.cli.parser import _parser
from mgi_roster.cli.runs import _approve, _export, _history, _reject, _sync, _undo
from mgi_roster.cli.scheduling import _schedule, _scheduler, _scheduler_forever
from mgi_roster.cli.students import _students
from mgi_roster.errors import InputError, MergeRefused, ParametersError, RosterError, SyncRefused

if TYPE_CHECKING:
    from mgi_roster.cli.common import Handler


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )
    try:
        if args.command == "demo" and args.action == "serve":
            return _demo_serve(args)
        if args.command == "demo" and args.action == "oneroster-zip":
            return _demo_oneroster_zip(args)
        if args.command == "scheduler" and not args.once:
            return _scheduler_forever(args)
        if args.command in BRIEF:  # long work: the store is taken for moments only
            return BRIEF[args.command](store.Store(store.db_path(args.db)), args)
        with store.opened(store.db_path(args.db)) as con:
            return COMMANDS[args.command](con, args)
    except MergeRefused as exc:
        return _stopped(args, exc, REFUSED, "refused")
    except (InputError, ParametersError, SyncRefused) as exc:
        return _stopped(args, exc, USAGE, "refused")
    except RosterError as exc:
        return _stopped(args, exc, FAILED, "failed")
    except KeyboardInterrupt:
        return FAILED
    except BrokenPipeError:  # the reader stopped early (`... --json | head`): not an error
        sys.stderr.close()  # nothing more can be said; keep Python from complaining at exit
        return OK


COMMANDS: dict[str, Handler] = {
    "parameters": _parameters,
    "readiness": _readiness,
    "connect": _connect,
    "export": _export,
    "approve": _approve,
    "reject": _reject,
    "history": _history,
    "undo": _undo,
    "schedule": _schedule,
    "demo": _demo,
    "students": _students,
    "events": _events,
}
# Commands whose work is long (a sync): they get the store to take for moments, not a
# connection held throughout, so other processes are never kept waiting.
BRIEF: dict[str, Callable[[store.Store, argparse.Namespace], int]] = {
    "sync": _sync,
    "scheduler": _scheduler,
}
