"""A run in a few plain words: what a specialist (or a district contact reading a notification)
needs before opening any table.

    "312 students updated, most of them a grade change at Lincoln Elementary, which looks like
     the rollover; 4 students re-keyed; 12 records withheld for errors."

The digest is made from data the review already holds: the run's change counts, the impact and
cause of each change (review/impact.py), its issues, and what an approval withheld
(roster/partial.py). It names schools and counts, never a student. `build` reads a run's own
file (the sync prints the digest before the run is published) or the main store; `of_run` reads
everything from the main store (the Approve page, notifications).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import duckdb

from mgi_roster.entities import BY_NAME, ENTITIES
from mgi_roster.kinds import Cause, Impact, Severity, Withheld
from mgi_roster.review import impact
from mgi_roster.review.validation import findings
from mgi_roster.roster import sql
from mgi_roster.store import execute

REKEYED = impact.REKEYED
IMPACT_WORDS = {
    Impact.SCHOOL: "a school change",
    Impact.GRADE: "a grade change",
    Impact.SCREENING_CLASS: "a screening class change",
}
IMPACT_NOUNS = {
    Impact.SCHOOL: "school change",
    Impact.GRADE: "grade change",
    Impact.SCREENING_CLASS: "screening class change",
}
WITHHELD_WORDS = {
    Withheld.ERROR: "for errors",
    Withheld.EXCLUDED: "by the reviewer",
    Withheld.NO_ARCHIVE: "from archiving",
    Withheld.DEPENDANT: "with a record they depend on",
}


@dataclass(frozen=True)
class Digest:
    parts: tuple[str, ...]

    @property
    def text(self) -> str:
        if not self.parts:
            return "No changes."
        text = "; ".join(self.parts) + "."
        return text[0].upper() + text[1:]

    def __str__(self) -> str:
        return self.text


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def build(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    district_id: str,
    changes: dict[str, dict[str, int]],
    issues: dict[str, int],
    withheld: dict[str, int] | None = None,
) -> Digest:
    """The digest of a run from its counts; impact, causes and errors read from `con`."""
    hi = impact.counts(con, run_id, district_id)
    args = {"run": run_id, "district": district_id}
    parts = [_students(changes.get("students", {}), hi)]
    parts += _high_impact(hi)
    parts += _rekeyed(changes)
    parts += _sharing(con, args)
    parts += _terms(con, args)
    parts += _others(changes)
    parts += _problems(con, run_id, issues, withheld)
    return Digest(tuple(p for p in parts if p))


def of_run(con: duckdb.DuckDBPyConnection, run_id: int) -> Digest:
    """The digest of a run in the main store (with what its approval withheld, if merged)."""
    row = con.execute(
        "SELECT district_id, changes, coalesce(errors, 0), coalesce(warnings, 0) FROM runs WHERE run_id = ?",
        [run_id],
    ).fetchone()
    if row is None:
        return Digest(())
    withheld = dict(
        con.execute(
            "SELECT reason, count(*) FROM run_withheld WHERE run_id = ? GROUP BY reason", [run_id]
        ).fetchall()
    )
    changes = json.loads(row[1]) if row[1] else {}
    if withheld:  # merged in part: say what merged (the merge's counts), and what did not
        merged = con.execute(
            "SELECT counts FROM merges WHERE run_id = ? AND kind = 'merge' AND NOT undone",
            [run_id],
        ).fetchone()
        changes = json.loads(merged[0]) if merged and merged[0] else changes
    issues = {"error": int(row[2]), "warning": int(row[3])}
    return build(con, run_id, str(row[0]), changes, issues, withheld)


def _students(counts: dict[str, int], hi: list[impact.ImpactCount]) -> str:
    updated = int(counts.get("updated", 0))
    parts = []
    if updated:
        text = f"{_n(updated, 'student')} updated"
        top = max(hi, key=lambda c: c.students, default=None)
        if top is not None and top.impact != Impact.SCREENING_CLASS and top.students * 2 > updated:
            where = f" at {top.school}" if top.school else ""
            text += f", most of them {IMPACT_WORDS[top.impact]}{where}"
            if top.causes.get(Cause.ROLLOVER, 0) * 2 > top.students:
                text += ", which looks like the rollover"
        parts.append(text)
    for kind, verb in (("added", "added"), ("archived", "archived"), ("restored", "restored")):
        n = int(counts.get(kind, 0))
        if n:
            parts.append(f"{_n(n, 'student')} {verb}" if not parts else f"{n:,} {verb}")
    return ", ".join(parts) if len(parts) < 2 else parts[0] + "; " + ", ".join(parts[1:])


def _high_impact(hi: list[impact.ImpactCount]) -> list[str]:
    """Students moving between test plans, per kind; mid-year grade changes called out."""
    by_kind: dict[Impact, int] = {}
    unusual = 0
    for c in hi:
        by_kind[c.impact] = by_kind.get(c.impact, 0) + c.students
        unusual += c.unusual
    if not by_kind:
        return []
    said = [_n(n, IMPACT_NOUNS[k]) for k, n in by_kind.items()]
    text = "test plan moves: " + ", ".join(said)
    if unusual:
        text += f" ({unusual:,} of the grade changes in the middle of the school year: unusual, check them)"
    return [text]


def _rekeyed(changes: dict[str, dict[str, int]]) -> list[str]:
    found = []
    for entity in ("students", "teachers"):
        n = int(changes.get(entity, {}).get(REKEYED, 0))
        if n:
            found.append(f"{n:,} {entity if n != 1 else BY_NAME[entity].word.lower()} re-keyed")
    return found


def _sharing(con: duckdb.DuckDBPyConnection, args: dict[str, Any]) -> list[str]:
    """Schools that came into or left the share, with how many students came or went."""
    rows = execute(
        con,
        f"""SELECT coalesce(n.name, c.record_id), c.change,
                   (SELECT count(*) FROM changes s WHERE s.run_id = $run AND s.entity = 'students'
                      AND s.school = c.record_id AND s.cause = '{Cause.SHARING}')
            FROM changes c LEFT JOIN {sql.school_names()} n ON n.id = c.record_id
            WHERE c.run_id = $run AND c.entity = 'schools' AND c.cause = '{Cause.SHARING}'
            ORDER BY 1""",
        args,
    ).fetchall()
    found = []
    for name, change, students in rows:
        moved = "appeared in the share" if change in ("added", "restored") else "left the share"
        found.append(f"{name} {moved} ({_n(int(students), 'student')} with it)")
    return found


def _terms(con: duckdb.DuckDBPyConnection, args: dict[str, Any]) -> list[str]:
    row = execute(
        con,
        f"""SELECT count(DISTINCT record_id) FROM changes
            WHERE run_id = $run AND entity = 'sections' AND cause = '{Cause.TERM}'""",
        args,
    ).fetchone()
    n = int(row[0]) if row else 0
    return [f"{_n(n, 'section')} follow a term change"] if n else []


def _others(changes: dict[str, dict[str, int]]) -> list[str]:
    found = []
    for entity in ENTITIES:
        if entity.name in ("students", "enrollments"):
            continue
        counts = changes.get(entity.name, {})
        said = [
            f"{int(counts.get(kind, 0)):,} {kind}"
            for kind in ("added", "updated", "archived", "restored")
            if counts.get(kind)
        ]
        if said:
            found.append(f"{entity.label.lower()}: " + ", ".join(said))
    return found


def _problems(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    issues: dict[str, int],
    withheld: dict[str, int] | None,
) -> list[str]:
    found = []
    if withheld:
        for reason, words in WITHHELD_WORDS.items():
            n = int(withheld.get(reason, 0))
            if n:
                found.append(f"{_n(n, 'record')} withheld {words}")
    elif issues.get(Severity.ERROR):
        row = con.execute(
            f"""SELECT count(DISTINCT (entity, record_id)) FROM {findings.of_run(con)}
               WHERE run_id = ? AND severity = 'error' AND record_id IS NOT NULL""",
            [run_id],
        ).fetchone()
        records = int(row[0]) if row else 0
        errors = int(issues[Severity.ERROR])
        text = f"{_n(errors, 'error')}"
        if records:
            text += f" on {_n(records, 'record')}, which Approve can withhold"
        found.append(text)
    warnings = int(issues.get(Severity.WARNING, 0))
    if warnings:
        found.append(_n(warnings, "warning"))
    return found
