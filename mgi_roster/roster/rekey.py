"""Is this the same person? Re-keys and links: a person whose record changes its id.

Two cases, one mechanism:

  re-key   a student or teacher absent from a sync under an old source id and present under a
           new one (an SIS migration, a re-import in Clever) with the same SIS id, state id, or
           name + date of birth + school: one change `rekeyed`, never archived + added
  link     a student added by hand in the MGI (roster/manual.py, id `manual-...`) and a synced
           student new to the roster with the same state id, the same student number in the
           same school, or the same name and date of birth: proposed, and a person chooses
           link (the record takes the synced id) or keep both

A run's candidate pairs are written to `person_matches` when it is diffed (`propose`), each with
a status (kinds.MatchStatus): an unambiguous re-key is `auto` (applied unless declined); a link,
and a re-key with several candidates, is `proposed` until a person accepts or declines it; Approve
refuses while any is undecided (`undecided`).

How an applied pair is merged: the record keeps its history. At Approve, every version of the
old id, and every row referring to it (enrollments, a section's primary teacher), is rewritten to
the new id (`rewrite`), so the history and as-of views of the new id show the old rows; then the
sync's row is written as a new version, change `rekeyed` or `linked`. Undo rewrites them back.
Before Approve (the diff), the same pairs re-identify the roster's rows on the fly
(`roster_side`), so the diff and the merge classify a sync the same way (roster/sql.classify).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from mgi_roster.entities import ENROLLMENTS, SECTIONS, STUDENTS, TEACHERS, Entity
from mgi_roster.kinds import APPLIED_MATCHES, ChangeKind, MatchKind, MatchStatus, sql_list
from mgi_roster.roster import sql
from mgi_roster.store import execute


@dataclass(frozen=True)
class Basis:
    """What two records share that makes them one person."""

    name: str
    columns: tuple[str, ...]
    words: str  # "the same state id"


NAMES = ("first_name", "middle_name", "last_name")
SIS_ID = Basis("sis_id", ("sis_id",), "the same SIS id")
STATE_ID = Basis("state_id", ("state_id",), "the same state id")
NUMBER_IN_SCHOOL = Basis(
    "student_number", ("student_number", "school"), "the same student number in the same school"
)
NAME_DOB = Basis("name_dob", ("first_name", "last_name", "dob"), "the same name and date of birth")
NAME_DOB_SCHOOL = Basis(
    "name_dob_school",
    ("first_name", "last_name", "dob", "school"),
    "the same name, date of birth and school",
)
BASES: dict[str, Basis] = {
    b.name: b for b in (SIS_ID, STATE_ID, NUMBER_IN_SCHOOL, NAME_DOB, NAME_DOB_SCHOOL)
}

# The people whose ids may change, and on what basis a re-key is recognised.
REKEY_BASES: dict[str, tuple[Basis, ...]] = {
    STUDENTS.name: (SIS_ID, STATE_ID, NAME_DOB_SCHOOL),
    TEACHERS.name: (SIS_ID, STATE_ID),
}
# A synced student and a student added by hand (who has no SIS id).
LINK_BASES: tuple[Basis, ...] = (STATE_ID, NUMBER_IN_SCHOOL, NAME_DOB)
# Where a person's id is written: their own rows, and the rows that refer to them.
REFERENCES: dict[str, tuple[tuple[Entity, str], ...]] = {
    STUDENTS.name: ((STUDENTS, "id"), (ENROLLMENTS, "user_id")),
    TEACHERS.name: ((TEACHERS, "id"), (ENROLLMENTS, "user_id"), (SECTIONS, "teacher")),
}


def _normal(column: str, alias: str) -> str:
    """SQL: a basis column as it is compared (names without case or outer spaces, dates of
    birth as days; NULL when missing, which never matches)."""
    x = f"{alias}.{sql.q(column)}"
    if column in NAMES:
        x = f"lower(trim({x}))"
    elif column == "dob":  # 2/1/2016 and 02/01/2016 are one day
        x = f"coalesce(CAST(try_strptime({x}, '%m/%d/%Y') AS DATE)::VARCHAR, {x})"
    return f"NULLIF({x}, '')"


def same(basis: Basis, left: str, right: str) -> str:
    """SQL: `left` and `right` share the basis (a missing value never matches)."""
    return " AND ".join(f"{_normal(c, left)} = {_normal(c, right)}" for c in basis.columns)


def key(basis: Basis, alias: str) -> str:
    """SQL: the basis of `alias` as one text, NULL when a part is missing. Equal keys are what
    `same` says (which stays the exact test: a value holding the separator could make two keys
    alike), and a key is cheap to hash, group and join on."""
    return " || chr(31) || ".join(_normal(c, alias) for c in basis.columns)


def applied_pairs() -> str:
    """The run's pairs that are merged as one person: (entity, kind, old_id, new_id)."""
    return (
        "(SELECT entity, kind, old_id, new_id FROM person_matches "
        f"WHERE run_id = $run AND status IN {sql_list(APPLIED_MATCHES)})"
    )


# --- candidates -------------------------------------------------------------------------------


def _sides(entity: Entity, kind: MatchKind, touched: str) -> tuple[str, str]:
    """SQL of the records new to the roster and the roster's records gone from the sync.

    `touched`: SQL of the ids an events run's events touched ("": a full run). Such a run's
    staging holds every other record the roster's latest merge saw, so a record new to the
    roster is a touched one, and one gone from the sync is touched or was already unseen."""

    def which(g: str) -> str:  # the roster's records of this kind of pair (alias `g`)
        by_hand = f"coalesce({g}.manual, false)" if entity.manual else "false"
        chosen = by_hand if kind is MatchKind.LINK else f"NOT {by_hand}"
        if touched:
            chosen += f" AND ({g}.id IN {touched} OR {sql.unsent(entity, g)})"
        return chosen

    if not touched:
        # As written for a full run: other spellings of the same ids made DuckDB plan the join
        # of the sides worse, out of a run's memory at 100,000 students.
        staged_rows = sql.staged(entity, deduplicate=True)
        in_roster = f"(SELECT id FROM {sql.current(entity)})"
        new = f"(SELECT * FROM {staged_rows} n WHERE n.id NOT IN {in_roster})"
        live = sql.current(entity, live=True)
        staged = f"SELECT id FROM {staged_rows}"
        return new, f"(SELECT * FROM {live} g WHERE {which('g')} AND g.id NOT IN ({staged}))"
    # Each lookup among the few candidates' ids, and only their rows read whole
    in_roster = f"(SELECT id FROM {sql.current(entity)} WHERE id IN {touched})"
    touched_rows = sql.narrowed(
        sql.staging_table(entity), "n", f"n.run_id = $run AND n.id IN {touched}"
    )
    new = f"""(SELECT * FROM {touched_rows} n WHERE n.id NOT IN {in_roster}
        QUALIFY row_number() OVER (PARTITION BY n.id) = 1)"""
    candidates = sql.current(entity, live=True, where=which("r"))
    staged = f"""SELECT id FROM {sql.staging_table(entity)} WHERE run_id = $run
        AND id IS NOT NULL AND id IN (SELECT id FROM {candidates})"""
    return new, f"(SELECT * FROM {candidates} g WHERE g.id NOT IN ({staged}))"


def _side_table(entity: Entity, kind: MatchKind, side: str) -> str:
    return f"rekey_{side}_{entity.name}_{kind}"


def _pairs(entity: Entity, kind: MatchKind, bases: tuple[Basis, ...], touched: str) -> str:
    """The pairs of one entity and kind. An events run's sides are its few records, set
    aside first (`prepare`): left inside one statement, DuckDB planned them as a product."""
    new, gone = _sides(entity, kind, touched)
    on = {b.name: same(b, "g", "n") for b in bases}
    if touched:
        new, gone = _side_table(entity, kind, "new"), _side_table(entity, kind, "gone")
        # The few rows joined on the basis as one key (a hash join), `same` decides
        on = {b.name: f"{key(b, 'g')} = {key(b, 'n')} AND {on[b.name]}" for b in bases}
    return " UNION ALL ".join(
        f"""SELECT '{entity.name}' AS entity, '{kind}' AS kind, g.id AS old_id, n.id AS new_id,
                '{b.name}' AS basis, {entity.display_sql("g")} AS old_name,
                {entity.display_sql("n")} AS new_name, {entity.school_sql("n")} AS school
            FROM {gone} g JOIN {new} n ON {on[b.name]}"""
        for b in bases
    )


_KINDS = (
    *(
        (STUDENTS if e == "students" else TEACHERS, MatchKind.REKEY, b)
        for e, b in REKEY_BASES.items()
    ),
    (STUDENTS, MatchKind.LINK, LINK_BASES),
)


def _columns(entity: Entity, bases: tuple[Basis, ...]) -> str:
    """The columns a pair reads of its sides: the id, the name and school it shows, the bases."""
    school = [entity.school] if entity.school else []
    names = ["id", *entity.display, *school, *(c for b in bases for c in b.columns)]
    return ", ".join(sql.q(c) for c in dict.fromkeys(names))


def _prepare(con: duckdb.DuckDBPyConnection, args: dict[str, object], touched: str) -> None:
    for entity, kind, bases in _KINDS:
        for side, rows in zip(("new", "gone"), _sides(entity, kind, touched), strict=True):
            # Only the columns a pair reads: the few rows are spread over a million, and each
            # column read is a read of most of its blocks (half the time, at a million students)
            execute(
                con,
                f"""CREATE OR REPLACE TEMP TABLE {_side_table(entity, kind, side)} AS
                    SELECT {_columns(entity, bases)} FROM {rows}""",
                args,
            )


def candidates(touched: str = "") -> str:
    """SELECT the run's candidate pairs, one row per pair with the bases it matched on. Reads
    the run's staged rows (`$run`) and the district's current roster (`$district`);
    `touched`: see `_pairs`."""
    parts = [_pairs(entity, kind, bases, touched) for entity, kind, bases in _KINDS]
    union = " UNION ALL ".join(f"({p})" for p in parts)
    return f"""SELECT entity, kind, old_id, new_id, string_agg(DISTINCT basis, ',' ORDER BY basis) AS bases,
            any_value(old_name) AS old_name, any_value(new_name) AS new_name,
            any_value(school) AS school
        FROM ({union}) GROUP BY entity, kind, old_id, new_id"""


def propose(
    con: duckdb.DuckDBPyConnection, run_id: int, district_id: str, touched: str = ""
) -> None:
    """Write the run's candidate pairs to person_matches, keeping a person's earlier decisions
    on the same pairs. A re-key is `auto` when neither of its records has another candidate.
    `touched`: the ids an events run's events touched (see `_pairs`)."""
    args = {"run": run_id, "district": district_id}
    if touched:
        _prepare(con, args, touched)
    execute(con, f"CREATE OR REPLACE TEMP TABLE match_found AS {candidates(touched)}", args)
    execute(
        con,
        f"""CREATE OR REPLACE TEMP TABLE match_decided AS
            SELECT entity, kind, old_id, new_id, status, decided_by, decided_at FROM person_matches
            WHERE run_id = $run AND status IN ('{MatchStatus.ACCEPTED}', '{MatchStatus.DECLINED}')""",
        args,
    )
    execute(con, "DELETE FROM person_matches WHERE run_id = $run", args)
    execute(
        con,
        f"""INSERT INTO person_matches (run_id, district_id, entity, kind, old_id, new_id, bases,
                status, old_name, new_name, school, decided_by, decided_at)
            SELECT $run, $district, f.entity, f.kind, f.old_id, f.new_id, f.bases,
                coalesce(d.status, CASE WHEN f.kind = '{MatchKind.REKEY}'
                    AND count(*) OVER (PARTITION BY f.entity, f.old_id) = 1
                    AND count(*) OVER (PARTITION BY f.entity, f.new_id) = 1
                    THEN '{MatchStatus.AUTO}' ELSE '{MatchStatus.PROPOSED}' END),
                f.old_name, f.new_name, f.school, d.decided_by, d.decided_at
            FROM match_found f LEFT JOIN match_decided d USING (entity, kind, old_id, new_id)""",
        args,
    )
    for entity, kind, _bases in _KINDS if touched else ():
        for side in ("new", "gone"):
            con.execute(f"DROP TABLE IF EXISTS {_side_table(entity, kind, side)}")
    con.execute("DROP TABLE IF EXISTS match_found")
    con.execute("DROP TABLE IF EXISTS match_decided")


# --- the roster, re-identified ----------------------------------------------------------------


def roster_side(entity: Entity, *, rewritten: bool = False, where: str = "") -> str:
    """The roster side of roster/sql.classify with the run's applied pairs (`$run`): a person's
    row carries `_previous_id` and `_match` (rekeyed or linked), and, before the merge has
    rewritten the ids (`rewritten` False: the diff), it and the rows referring to it are shown
    under the new id. After `rewrite` (the merge) the ids are already the new ones.

    `where`: a condition on the current rows (alias `r`, ids as the roster holds them) that
    limits them before the pairs are joined (an events run's few: review/delta.py)."""
    pairs = applied_pairs()
    change = (
        f"CASE p.kind WHEN '{MatchKind.REKEY}' THEN '{ChangeKind.REKEYED}' "
        f"WHEN '{MatchKind.LINK}' THEN '{ChangeKind.LINKED}' END"
    )
    current = sql.current(entity, where=where)
    if entity.name in REFERENCES:
        on = "p.new_id" if rewritten else "p.old_id"
        ids = "" if rewritten else " REPLACE (coalesce(p.new_id, r.id) AS id)"
        return f"""(SELECT r.*{ids}, p.old_id AS _previous_id, {change} AS _match
            FROM {current} r LEFT JOIN {pairs} p ON p.entity = '{entity.name}' AND {on} = r.id)"""
    columns = sorted({c for refs in REFERENCES.values() for e, c in refs if e is entity})
    if rewritten or not columns:
        return sql.plain_roster(entity)  # the caller's condition reaches its rows as they are
    replaced = ", ".join(
        f"coalesce(p{i}.new_id, r.{sql.q(c)}) AS {sql.q(c)}" for i, c in enumerate(columns)
    )
    joins = " ".join(
        f"LEFT JOIN {pairs} p{i} ON p{i}.old_id = r.{sql.q(c)}" for i, c in enumerate(columns)
    )
    return f"""(SELECT r.* REPLACE ({replaced}), NULL::VARCHAR AS _previous_id,
            NULL::VARCHAR AS _match FROM {current} r {joins})"""


def rewrite(
    con: duckdb.DuckDBPyConnection, district_id: str, run_id: int, *, back: bool = False
) -> int:
    """Give every version of each applied pair's old id, and every row referring to it, the
    new id (`back`: the reverse, for Undo). Inside the caller's transaction; returns the pairs."""
    old, new = ("new_id", "old_id") if back else ("old_id", "new_id")
    args = {"run": run_id, "district": district_id}
    for person, refs in REFERENCES.items():
        for entity, column in refs:
            c = sql.q(column)
            execute(
                con,
                f"""UPDATE {sql.roster_table(entity)} AS t SET {c} = p.{new}
                    FROM {applied_pairs()} p
                    WHERE t.district_id = $district AND p.entity = '{person}' AND t.{c} = p.{old}""",
                args,
            )
    row = execute(con, f"SELECT count(*) FROM {applied_pairs()}", args).fetchone()
    return int(row[0]) if row else 0


def annotate(con: duckdb.DuckDBPyConnection, run_id: int) -> None:
    """A rekeyed or linked record's change row says its ids: before = old id, after = new id."""
    execute(
        con,
        f"""UPDATE changes AS c SET field = 'id', before = p.old_id, after = p.new_id
            FROM {applied_pairs()} p
            WHERE c.run_id = $run AND c.field IS NULL AND c.entity = p.entity
              AND c.record_id = p.new_id
              AND c.change IN ('{ChangeKind.REKEYED}', '{ChangeKind.LINKED}')""",
        {"run": run_id},
    )


def undecided(con: duckdb.DuckDBPyConnection, run_id: int) -> list[str]:
    """Why the run cannot be approved yet: pairs a person must decide on, as sentences."""
    rows = con.execute(
        "SELECT kind, count(*) FROM person_matches WHERE run_id = ? AND status = ? GROUP BY kind ORDER BY kind",
        [run_id, MatchStatus.PROPOSED],
    ).fetchall()
    reasons = []
    for kind, n in rows:
        if kind == MatchKind.LINK:
            reasons.append(
                f"Run {run_id} has {n} synced student{'s' if n != 1 else ''} matching a student "
                "added by hand: for each, choose link (the same student) or keep both (Changes "
                "page, or `students link`)."
            )
        else:
            reasons.append(
                f"Run {run_id} has {n} possible re-key{'s' if n != 1 else ''} with more than one "
                "candidate: choose the pair that is the same person, or keep them apart (Changes "
                "page, or `students rekey`)."
            )
    return reasons
