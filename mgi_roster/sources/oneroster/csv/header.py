"""Each rostering file's header: exactly the version's columns, extension columns to the right."""

from __future__ import annotations

import csv
import difflib
from pathlib import Path

from mgi_roster.kinds import Severity
from mgi_roster.sources.oneroster.csv.manifest import _decode
from mgi_roster.sources.oneroster.csv.problems import _HEADER_BYTES, _Problems


def _header_line(path: Path, name: str, problems: _Problems) -> list[str] | None:
    with open(path, "rb") as f:
        first = f.readline(_HEADER_BYTES)
    text = _decode(first, name, problems)
    if text is None:
        return None
    line = text.replace("\r\n", "\n").replace("\r", "\n").split("\n", 1)[0]
    try:
        rows = list(csv.reader([line]))
    except csv.Error:
        rows = [[line]]  # an unbalanced quote: the header check names what is wrong
    return rows[0] if rows else []


def _check_header(
    header: list[str], expected: tuple[str, ...], name: str, problems: _Problems
) -> bool:
    """The header is the spec's columns, in order and case, then extension columns. Returns
    whether the file can be read."""
    before = len(problems.items)
    if not header or header == [""]:
        problems.error(
            "header.missing",
            f"{name} has no header row; its first line must be the column names "
            f"{','.join(expected)}.",
            file=name,
            line=1,
        )
        return False
    seen: set[str] = set()
    for position, column in enumerate(header, start=1):
        if not column.strip():
            problems.error(
                "header.empty",
                f"Column {position} of the header has no name; remove the extra delimiter or "
                "name the column.",
                file=name,
                line=1,
            )
        elif column in seen:
            problems.error(
                "header.duplicate",
                f"The header names the column {column} twice.",
                file=name,
                line=1,
                column=column,
            )
        seen.add(column)
    spec = header[: len(expected)]
    if tuple(spec) != expected:
        missing = [c for c in expected if c not in header]
        unknown = [c for c in spec if c not in expected and c.strip()]
        order = (
            f" A OneRoster {name} header has exactly these columns, in this order: "
            f"{','.join(expected)}."
        )
        for column in missing:
            named = ""
            if near := difflib.get_close_matches(column, unknown, n=1, cutoff=0.7):
                why = "names are case-sensitive" if near[0].lower() == column.lower() else "a typo?"
                named = f" ({near[0]!r} is there: {why})"
            problems.error(
                "header.missing_column",
                f"The header lacks the column {column}{named}.{order}",
                file=name,
                line=1,
                column=column,
            )
            order = ""  # said once per file
        for column in unknown:
            if not difflib.get_close_matches(column, missing, n=1, cutoff=0.7):
                problems.error(
                    "header.unknown_column",
                    f"{column!r} is not a column of {name}; extension columns go after the "
                    f"spec's {len(expected)} columns.",
                    file=name,
                    line=1,
                    column=column,
                )
        if not missing and not unknown:
            first = next(i for i, (a, b) in enumerate(zip(spec, expected, strict=False)) if a != b)
            problems.error(
                "header.order",
                f"The columns are out of order from column {first + 1} ({spec[first]} where "
                f"{expected[first]} belongs). The order is: {','.join(expected)}.",
                file=name,
                line=1,
                column=spec[first],
            )
    for column in header[len(expected) :]:
        if column.strip() and column not in expected and not column.startswith("metadata."):
            problems.warn(
                "header.extension_name",
                f"The extension column {column!r} is not named 'metadata.…' as the binding "
                "asks; it was not read.",
                file=name,
                line=1,
                column=column,
            )
    return not any(p.severity is Severity.ERROR for p in problems.items[before:])
