"""What every command shares: exit codes, the one JSON object, why a command stopped, progress lines."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mgi_roster.errors import RosterError

if TYPE_CHECKING:
    import duckdb

    from mgi_roster.sync import Progress


OK, FAILED, USAGE, REFUSED = 0, 1, 2, 3

if TYPE_CHECKING:
    Handler = Callable[[duckdb.DuckDBPyConnection, argparse.Namespace], int]


def _stopped(args: argparse.Namespace, exc: RosterError, code: int, status: str) -> int:
    """Why a command stopped, on stderr; with --json also as the one object on stdout."""
    print(f"{exc.title}: {exc.message}", file=sys.stderr)
    if getattr(args, "json", False):
        _emit({"status": status, "reason": exc.message})
    return code


def _emit(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def _now() -> datetime:
    return datetime.now(UTC)


def _progress(p: Progress) -> None:
    if p.done:
        print(f"  [{p.step}/{p.steps}] {p.label}: {p.records:,} records", file=sys.stderr)
