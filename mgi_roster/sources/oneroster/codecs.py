"""How one OneRoster cell becomes one entity value, and back, as SQL (the mapping's codecs).

A `Codec` reads a OneRoster cell's SQL into the entity's vocabulary (`read`) and writes an
entity value's SQL back as a OneRoster cell (`write`); mapping.COUNTERPARTS names the codec of
each entity column, and both the import (mapping.py) and the export
(roster/oneroster_export.py) use them. Race is read from several demographics flags at once
(`race_read`) and written back flag by flag (`race_write`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from mgi_roster.grades import CEDS
from mgi_roster.roster.sql import q

Sql = Callable[[str], str]


@dataclass(frozen=True)
class Codec:
    """How a value crosses between OneRoster and the entities: `read` makes SQL for the staged
    value from a OneRoster cell's SQL, `write` the OneRoster cell from an entity value's SQL."""

    name: str
    read: Sql
    write: Sql


def _text(x: str) -> str:
    return f"NULLIF(trim({x}), '')"


def _first(x: str) -> str:
    """The first item of a comma-joined OneRoster list cell."""
    return f"NULLIF(trim(split_part({x}, ',', 1)), '')"


def _lookup(pairs: Mapping[str, str | None], x: str) -> str:
    """SQL mapping `x` through `pairs` (a NULL result for a None value); anything else as sent."""
    whens = " ".join(
        f"WHEN {lit(k)} THEN {lit(v) if v is not None else 'NULL'}" for k, v in pairs.items()
    )
    return f"(CASE {x} {whens} ELSE {x} END)"


def lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


TEXT = Codec("as sent", _text, lambda x: x)
FIRST = Codec("the first item of a list", _first, lambda x: x)
GRADE = Codec(
    "the first grade, CEDS code ↔ Clever's spelling",
    lambda x: _lookup(CEDS, _first(x)),
    lambda x: _lookup({v: k for k, v in CEDS.items()}, x),
)
DATE = Codec(
    "a date (YYYY-MM-DD; a timestamp's date part)",
    lambda x: (
        f"CASE WHEN regexp_matches({_text(x)}, '^\\d{{4}}-\\d{{2}}-\\d{{2}}([T ].*)?$') "
        f"THEN left({_text(x)}, 10) ELSE {_text(x)} END"
    ),
    lambda x: x,
)
DOB = Codec(
    "birthDate YYYY-MM-DD ↔ Clever's M/D/YYYY",
    lambda x: f"coalesce(strftime(try_strptime({_text(x)}, '%Y-%m-%d'), '%-m/%-d/%Y'), {_text(x)})",
    lambda x: f"coalesce(strftime(try_strptime({x}, '%m/%d/%Y'), '%Y-%m-%d'), {x})",
)
SEX = Codec(
    "sex male/female/other ↔ M/F/X (unspecified: none)",
    lambda x: _lookup({"male": "M", "female": "F", "other": "X", "unspecified": None}, _text(x)),
    lambda x: _lookup({"M": "male", "F": "female", "X": "other"}, x),
)
YES_NO = Codec(
    "true/false ↔ Y/N",
    lambda x: _lookup({"true": "Y", "false": "N"}, f"lower({_text(x)})"),
    lambda x: _lookup({"Y": "true", "N": "false"}, x),
)

# The `userIds` types read as each id (case does not matter); the first is the one written.
# These names are this product's convention: OneRoster leaves userIds' types to the deployment.
USER_ID_TYPES: dict[str, tuple[str, ...]] = {
    "state_id": ("state_id", "stateId", "SSID", "StateID"),
    "student_number": ("student_number", "studentNumber"),
    "teacher_number": ("teacher_number", "teacherNumber"),
}


def user_id(column: str) -> Codec:
    """One `{type:value}` item of users.userIds."""
    types = USER_ID_TYPES[column]
    pattern = "(?i)\\{\\s*(?:" + "|".join(types) + ")\\s*:([^}]*)\\}"
    return Codec(
        f"userIds item {{{types[0]}:…}}",
        lambda x: f"NULLIF(trim(regexp_extract({x}, {lit(pattern)}, 1)), '')",
        lambda x: f"CASE WHEN {x} IS NOT NULL THEN '{{{types[0]}:' || {x} || '}}' END",
    )


# Clever's race <-> OneRoster's demographics flag (demographicRaceTwoOrMoreRaces is its own).
RACE_FLAGS: dict[str, str] = {
    "americanIndianOrAlaskaNative": "American Indian",
    "asian": "Asian",
    "blackOrAfricanAmerican": "Black or African American",
    "nativeHawaiianOrOtherPacificIslander": "Hawaiian or Other Pacific Islander",
    "white": "Caucasian",
}
TWO_OR_MORE = "demographicRaceTwoOrMoreRaces"


def race_read(alias: str) -> str:
    flags = [f"lower({alias}.{q(f)}) = 'true'" for f in RACE_FLAGS]
    trues = " + ".join(f"CAST(coalesce({f}, false) AS INTEGER)" for f in flags)
    one = " ".join(
        f"WHEN lower({alias}.{q(f)}) = 'true' THEN {lit(race)}" for f, race in RACE_FLAGS.items()
    )
    given = " OR ".join(f"{alias}.{q(f)} IS NOT NULL" for f in (*RACE_FLAGS, TWO_OR_MORE))
    return (
        f"CASE WHEN lower({alias}.{q(TWO_OR_MORE)}) = 'true' OR ({trues}) > 1 "
        f"THEN 'Two or More Races' {one} WHEN {given} THEN 'Unknown' END"
    )


def race_write(flag: str, x: str) -> str:
    """A demographics race flag ('true'/'false', NULL when the race is missing) from a race."""
    race = "Two or More Races" if flag == TWO_OR_MORE else RACE_FLAGS[flag]
    return f"CASE WHEN {x} IS NULL THEN NULL WHEN {x} = {lit(race)} THEN 'true' ELSE 'false' END"
