"""Field checks: a pandera schema per entity, generated from the entity declarations (required
values, Clever's vocabularies exactly as its spec lists them, formats, lengths, control
characters), run lazily over the run's staged rows a window at a time so every failure is
collected. pandera reports a bad cell once per failing check; those rows are grouped so one bad
cell is one issue, under its most severe check.

Bad data never raises: staging has already turned every value into text (JSON objects become
their JSON text), and every odd value becomes an issue row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as arrow
import pyarrow.compute as pc

from mgi_roster.entities import Column, Entity, Format
from mgi_roster.kinds import Severity
from mgi_roster.review.validation import checks
from mgi_roster.review.validation.findings import INSERT, ISSUE_COLUMNS, VALUE_CHARS, with_meta
from mgi_roster.review.validation.messages import CONTROL
from mgi_roster.roster.sql import q
from mgi_roster.roster.sql import staging_table as stg

log = logging.getLogger(__name__)

# Staged rows validated at a time (by rowid window). A window is held in Arrow and pandas with
# pandera's masks beside it: at 131,072 rows that was 200 MB, the peak of a million-student
# sync; at 32,768 it is a quarter, for a few more calls (issue 17: a sync under 400 MB).
CHUNK_ROWS = 32_768
# pandera names some of its built-in checks itself.
PANDERA_NAMES = {"not_nullable": "required", "isin": "enum"}

# The checks compute on whole columns in Arrow (RE2 regexes, integer arithmetic), whatever string
# dtype pandas gives the frame: pandas' own str.extract and str methods on object columns loop
# in Python, which a district of 1,000,000 students cannot afford.


def _arrow(s: pd.Series) -> arrow.Array:
    values = arrow.array(s, from_pandas=True)
    return values if arrow.types.is_large_string(values.type) else values.cast(arrow.large_string())


def _series(result: arrow.Array, s: pd.Series) -> pd.Series:
    """A boolean Arrow result as the Series pandera expects (NULL passes: missing is not wrong)."""
    return pd.Series(result.fill_null(True).to_numpy(zero_copy_only=False), index=s.index)


def _matches(s: pd.Series, pattern: str) -> pd.Series:
    return _series(pc.match_substring_regex(_arrow(s), pattern), s)


_DOB = r"^(?P<m>[0-9]{1,2})/(?P<d>[0-9]{1,2})/(?P<y>[0-9]{4})$"  # Clever's pattern (§4.6)
_ISO_DATE = r"^(?P<y>[0-9]{4})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})$"
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _dates(s: pd.Series, pattern: str) -> tuple[np.ndarray, np.ndarray]:
    """(matches the pattern, yyyymmdd as an integer or -1 when not a real calendar date).

    Any year from 1 on counts: pandas timestamps would stop at 2262 and call 1/1/1600 unreal."""
    found = pc.extract_regex(_arrow(s), pattern)
    y, m, d = (
        pc.cast(pc.struct_field(found, name), arrow.int64()).fill_null(-1).to_numpy()
        for name in ("y", "m", "d")
    )
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    month_ok = (m >= 1) & (m <= 12)
    days = _DAYS_IN_MONTH[np.where(month_ok, m, 0)] + ((m == 2) & leap)
    real = (y >= 1) & month_ok & (d >= 1) & (d <= days)
    return y >= 0, np.where(real, y * 10_000 + m * 100 + d, -1)


def _dob_date(s: pd.Series) -> pd.Series:
    matched, born = _dates(s, _DOB)
    return pd.Series(~matched | (born > 0), index=s.index)  # the format is dob_format's


def _dob_plausible(s: pd.Series) -> pd.Series:
    _, born = _dates(s, _DOB)
    today = date.today()
    now = today.year * 10_000 + today.month * 100 + today.day
    plausible = (born >= now - 100 * 10_000) & (born <= now)
    return pd.Series((born < 0) | plausible, index=s.index)  # unreal dates: dob_date's


def _real_iso_date(s: pd.Series) -> pd.Series:
    # Staging already cut full timestamps down to the date (entities.py).
    _, day = _dates(s, _ISO_DATE)
    return pd.Series(day > 0, index=s.index)


# Each format of entities.Format, as the checks of the check table that test it.
FORMATS: dict[Format, tuple[tuple[str, Callable[[pd.Series], pd.Series]], ...]] = {
    Format.DOB: (
        ("dob_format", lambda s: _matches(s, _DOB)),
        ("dob_date", _dob_date),
        ("dob_plausible", _dob_plausible),
    ),
    Format.YEAR: (("graduation_year", lambda s: _matches(s, r"^[0-9]{4}$")),),
    Format.EMAIL: (("email_format", lambda s: _matches(s, r"^[^@]+@[^@]+$")),),
    Format.ISO_DATE: (("term_dates", _real_iso_date),),
}


def _checks(column: Column) -> list[pa.Check]:
    found = []
    if column.vocabulary is not None:
        found.append(pa.Check.isin(list(column.vocabulary.values)))
    if column.format is not None:
        found += [pa.Check(test, name=name) for name, test in FORMATS[column.format]]
    if column.plain:
        found.append(pa.Check(lambda s: ~_matches(s, CONTROL), name="control_characters"))
    if column.max_length is not None:
        limit = column.max_length
        found.append(
            pa.Check(
                lambda s: _series(pc.less_equal(pc.utf8_length(_arrow(s)), limit), s),
                name="long_value",
            )
        )
    return found


def schema(entity: Entity) -> pa.DataFrameSchema:
    """The entity's text columns, exactly (`strict`: a change to the entity reaches the schema),
    with the checks its declarations ask for."""
    return pa.DataFrameSchema(
        {
            c.name: pa.Column(str, checks=_checks(c), nullable=c.required is None)
            for c in entity.columns
            if c.kind != "list"
        },
        strict=True,
        coerce=True,  # all-NULL columns arrive as object dtype
        name=entity.label,
    )


SCHEMAS: dict[str, pa.DataFrameSchema] = {e.name: schema(e) for e in checks.VALIDATED}
REQUIRED: dict[tuple[str, str], Severity] = {
    (e.name, c.name): c.required for e in checks.VALIDATED for c in e.columns if c.required
}


# --- run the schemas and turn failures into issues --------------------------------------------


def _chunk_failures(entity: Entity, chunk: pd.DataFrame, covered: set[str]) -> pd.DataFrame:
    """One row per bad cell of one chunk of staged rows: _rowid, field, check, severity, value."""
    schema = SCHEMAS[entity.name]
    try:
        schema.validate(chunk[list(schema.columns)], lazy=True, inplace=True)
        return pd.DataFrame()
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    cell = cases["index"].notna()
    if not cell.all():  # a schema-level failure: the schema and the staged table disagree
        log.error("pandera schema failure for %s: %s", entity.name, cases[~cell].to_dict("records"))
    cases = cases[cell]
    # "isin(['InfantToddler', ...])" -> "isin" -> "enum"; few distinct names, so map once each
    names = {c: PANDERA_NAMES.get(c.split("(")[0], c) for c in cases["check"].unique()}
    found = pd.DataFrame(
        {
            "_rowid": chunk["_rowid"].to_numpy()[cases["index"].astype("int64").to_numpy()],
            "field": cases["column"].astype("str").to_numpy(),
            "check": cases["check"].map(names).to_numpy(),
            "value": cases["failure_case"].to_numpy(),
        }
    )
    required = found["check"] == "required"
    # A requirement of the District Parameters on the same field reports the missing value.
    found = found[~(required & found["field"].isin(covered))]
    if found.empty:  # every failure was a requirement's (an empty frame has no string dtype)
        return pd.DataFrame()
    required = found["check"] == "required"
    by_check = {c.name: c.severity for c in checks.CHECKS if c.entity == entity.name}
    by_field = {field: sev for (name, field), sev in REQUIRED.items() if name == entity.name}
    severity = found["check"].map(by_check).where(~required, found["field"].map(by_field))
    rank = (severity == Severity.WARNING) * 1000 + found["check"].map(checks.PRIORITY)
    # One bad cell, one issue: the most severe of the checks it fails.
    found = found.assign(severity=severity.astype("str"), _rank=rank)
    found = found.sort_values(["_rowid", "field", "_rank"]).drop_duplicates(["_rowid", "field"])
    return found.drop(columns="_rank")


def _text_of(values: pd.Series) -> pd.Series:
    return values.astype("str")


def _clip_series(values: pd.Series, n: int) -> pd.Series:
    text = _text_of(values)
    text = text.where(text.str.len() <= n, text.str.slice(0, n) + "…")
    return text.astype(object).where(values.notna(), None)  # None: NULL whatever the dtype


def _params(found: pd.DataFrame) -> pd.Series:
    """Each failure's params as JSON: the length of a long value (the stored value is cut), and
    which sentence a missing Clever id gets; nothing else needs any."""
    params = pd.Series("{}", index=found.index, dtype=object)
    long = found["check"] == "long_value"
    length = _text_of(found.loc[long, "value"]).str.len().astype("int64").astype("str")
    params[long] = '{"length": ' + length + "}"
    params[(found["check"] == "required") & (found["field"] == "id")] = '{"case": "id"}'
    return params


_STR = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' own `str` dtype, backed by Arrow


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, object]) -> pd.DataFrame:
    """A query's rows as a DataFrame whose text columns stay in Arrow: the same `str` dtype
    `.df()` gives, without turning a million strings into Python objects and back (the checks
    compute in Arrow)."""
    table = con.sql(sql, params=params).to_arrow_table()

    def text(kind: arrow.DataType) -> pd.StringDtype[Any] | None:
        return _STR if arrow.types.is_string(kind) or arrow.types.is_large_string(kind) else None

    frame: pd.DataFrame = table.to_pandas(types_mapper=text)
    return frame


def _windows(
    con: duckdb.DuckDBPyConnection, run_id: int, entity: Entity, only: str
) -> list[tuple[int, int]]:
    """[lo, hi) rowid windows of at most CHUNK_ROWS rows to validate. All of them: windows of
    the rowids. `only` some (an events run's touched records, spread over a million rows):
    windows cut around those rows, not thirty windows with next to nothing in each."""
    # fetchall: DuckDB 2 wants a result finished before con.sql
    if not only:
        [(first, last)] = con.execute(
            f"SELECT min(rowid), max(rowid) FROM {stg(entity)} WHERE run_id = $run", {"run": run_id}
        ).fetchall()
        if first is None:
            return []
        return [(lo, lo + CHUNK_ROWS) for lo in range(first, last + 1, CHUNK_ROWS)]
    rows = con.execute(
        f"""SELECT min(rowid), max(rowid) + 1 FROM (
                SELECT rowid, (row_number() OVER (ORDER BY rowid) - 1) // {CHUNK_ROWS} AS w
                FROM {stg(entity)} WHERE run_id = $run AND {only})
            GROUP BY w ORDER BY 1""",
        {"run": run_id},
    ).fetchall()
    return [(int(lo), int(hi)) for lo, hi in rows]


def field_issues(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    district_id: str,
    entity: Entity,
    covered: set[str],
    only: str = "",
) -> None:
    """Validate the entity's staged rows a window of rows at a time (memory stays bounded
    however many rows or failures there are) and write each window's issues in one INSERT; the
    names, schools and SIS ids issues carry are read for the failing rows only. `only`: a
    condition on the rows to validate (an events run's touched records)."""
    columns = ", ".join(q(c) for c in SCHEMAS[entity.name].columns)
    window = "run_id = $run AND rowid >= $lo AND rowid < $hi" + (f" AND {only}" if only else "")
    for lo, hi in _windows(con, run_id, entity, only):
        bounds = {"run": run_id, "lo": lo, "hi": hi}
        chunk = _frame(
            con, f"SELECT rowid AS _rowid, {columns} FROM {stg(entity)} WHERE {window}", bounds
        )
        if chunk.empty:  # a window without a row to check (`only` left none)
            continue
        found = _chunk_failures(entity, chunk, covered)
        if found.empty:
            continue
        meta = con.execute(
            "SELECT _rowid, id AS _record_id, _name, _school, _sis FROM "
            + with_meta(
                entity, "AND rowid >= $lo AND rowid < $hi AND rowid IN (SELECT unnest($rowids))"
            ),
            bounds | {"rowids": found["_rowid"].unique().tolist()},
        ).df()
        found = found.merge(meta, on="_rowid", how="left")
        issues = pd.DataFrame(
            {
                "run_id": run_id,
                "district_id": district_id,
                "entity": entity.name,
                "record_id": found["_record_id"],
                "field": found["field"],
                "check": found["check"],
                "severity": found["severity"],
                "value": _clip_series(found["value"], VALUE_CHARS),
                "school": found["_school"],
                "record_name": found["_name"],
                "sis_id": found["_sis"],
                "params": _params(found),
            }
        )
        con.register("field_issues", issues)
        try:
            con.execute(
                f"{INSERT} SELECT {', '.join(q(c) for c in ISSUE_COLUMNS)} FROM field_issues"
            )
        finally:
            con.unregister("field_issues")
