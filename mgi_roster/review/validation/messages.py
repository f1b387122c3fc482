"""Issue sentences, rendered from an issue's fields when it is shown.

An issue row keeps facts (findings.py); its sentence is made here, by one renderer, from the
template its check declares (checks.py, requirements.py): the record's label, then what is wrong
and what to do in the SIS:

    Student Zoë García-López (SIS id 100234): grade "Grade 3" is not one of Clever's grades. ...
    ^ label(): the record's name, SIS id or Clever id   ^ the check's sentence over its words

Presentation mode renders the same way from masked fields (masking.Masker.finding): the name is
a token, a personal value is masked, so the sentence is masked without ever being parsed. A value
is never pasted into a sentence without its control characters made visible and being cut to
SHOWN_CHARS. Rows written before issues were data have no params and keep the sentence they were
written with (`stored`).

Rendering is per shown row: a page of the Validation page, or an export.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import pandas as pd

from mgi_roster.entities import BY_NAME, Entity, Vocabulary
from mgi_roster.review.validation import checks, requirements
from mgi_roster.review.validation.checks import SHOWN_CHARS, SHOWN_CONTROL, CheckSpec

ID_CHARS = 40  # an SIS id or a Clever id inside a label
CONTROL = r"[\x00-\x1f\x7f-\x9f]"  # Unicode category Cc
_CONTROL = re.compile(CONTROL)

_NONE: Mapping[str, Any] = MappingProxyType({})
SPECS: dict[tuple[str, str], CheckSpec] = {
    (c.name, c.entity): c for c in (*checks.CHECKS, *requirements.CHECKS)
}
_COLUMNS = {e.name: {c.name: c for c in e.columns} for e in BY_NAME.values()}
# The columns a finding is read from (in Finding's order), by the names the tables that show
# issues give them: an issue row, an export, a page of views.issues_page.
COLUMNS = {
    "check": ("check",),
    "entity": ("entity",),
    "field": ("field",),
    "value": ("value",),
    "record_id": ("record_id",),
    "record_name": ("record_name", "record"),
    "sis_id": ("sis_id", "SIS id"),
    "params": ("params",),
    "stored": ("message",),
}


@dataclass(frozen=True)
class Finding:
    """An issue's facts: what its sentence is rendered from."""

    check: str
    entity: str
    field: str | None = None
    value: str | None = None
    record_id: str | None = None
    record_name: str | None = None
    sis_id: str | None = None
    params: Mapping[str, Any] | None = None  # None: written before issues were data
    stored: str | None = None  # the sentence such a row was written with

    @property
    def legacy(self) -> bool:
        return self.params is None

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Finding:
        """A finding from an issue row, a table row or a frame's record (missing cells: None)."""
        return _reader(tuple(row))(tuple(row.values()))


def _reader(columns: Sequence[str]) -> Callable[[Sequence[Any]], Finding]:
    """Reads findings from rows of these columns (resolved once for a whole table)."""
    missing = len(columns)  # a cell the table does not have reads as the None appended below
    at = [
        next((columns.index(c) for c in aliases if c in columns), missing)
        for aliases in COLUMNS.values()
    ]
    cells = operator.itemgetter(*at)

    def read(row: Sequence[Any]) -> Finding:
        check, entity, field, value, record_id, name, sis_id, params, stored = cells((*row, None))
        return Finding(
            check=_text(check) or "",
            entity=_text(entity) or "",
            field=_text(field),
            value=_text(value),
            record_id=_text(record_id),
            record_name=_text(name),
            sis_id=_text(sis_id),
            params=_params(params),
            stored=_text(stored),
        )

    return read


def _text(value: Any) -> str | None:
    if type(value) is str:
        return value
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None  # a frame's missing cells are NaN or NA
    return str(value)


def _params(value: Any) -> Mapping[str, Any] | None:
    if isinstance(value, Mapping):
        return value
    text = _text(value)
    if text is None:
        return None
    if text == "{}":  # most checks need none
        return _NONE
    try:
        found = json.loads(text)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


# --- words ------------------------------------------------------------------------------------


def visible(text: str) -> str:
    return _CONTROL.sub(SHOWN_CONTROL, text)


def clip(text: str, n: int = SHOWN_CHARS) -> str:
    return text if len(text) <= n else text[:n] + "…"


def plain(value: Any, n: int = SHOWN_CHARS) -> str:
    """A value as a message may show it: control characters visible, cut to n characters."""
    return "" if value is None else clip(visible(str(value)), n)


def shown(value: Any) -> str:
    """A value as a message quotes it: plain, in quotes."""
    return f'"{plain(value)}"'


def field_title(entity: Entity | None, field: str | None) -> str:
    """A field as a sentence names it: "last name", "SIS id", "ELL status"."""
    column = _COLUMNS[entity.name].get(field or "") if entity else None
    if column is None:
        return field or ""
    title = column.title
    if title.startswith("Clever "):  # a name: "Clever id"
        return title
    return title[0].lower() + title[1:] if title[1:2].islower() else title


# The words a sentence uses for where the records came from, by source: a OneRoster run's
# issues carry {"source": "oneroster"} in their params (validation tags them), every other
# issue is Clever's. A template names them as {id}, {share_school}, ...
SOURCE_WORDS: dict[str, dict[str, str]] = {
    "clever": {
        "id": "Clever id",
        "id_always": "Clever sends one with every record: re-run the sync, and contact Clever "
        "support if it stays.",
        "send_again": "re-run the sync; contact Clever support if it stays",
        "share_school": "share that school with the MGI in Clever's sharing settings",
        "share_teacher": "share the teacher with the MGI in Clever's sharing settings",
        "unshared": "Clever does not share that student with the MGI. Check the district's "
        "sharing settings in Clever (share the student's school or section)",
    },
    "oneroster": {
        "id": "sourcedId",
        "id_always": "OneRoster gives every row one: fix the row in the SIS's export and send "
        "the package again.",
        "send_again": "send the package again",
        "share_school": "add that school to the package (orgs)",
        "share_teacher": "add the teacher to the package (users)",
        "unshared": "the package does not include that student. Add the student to the "
        "package (users)",
    },
}


def source_words(f: Finding) -> dict[str, str]:
    source = (f.params or _NONE).get("source")
    return SOURCE_WORDS.get(source if isinstance(source, str) else "", SOURCE_WORDS["clever"])


def label(f: Finding) -> str:
    """How a sentence names its record: 'Student Zoë García-López (SIS id 100234)', 'Student
    with SIS id 1042', 'Course without a Clever id' (a sourcedId for a OneRoster run), ..."""
    entity = BY_NAME.get(f.entity)
    word = entity.word if entity else (f.entity or "Record")
    id_word = source_words(f)["id"]
    name = f.record_name.strip(" ") if f.record_name else None  # as DuckDB's trim()
    name = plain(name) if name else None
    sis = plain(f.sis_id, ID_CHARS) if f.sis_id else None
    own = plain(f.record_id, ID_CHARS) if f.record_id else None
    if name:
        if sis:
            return f"{word} {name} (SIS id {sis})"
        return f"{word} {name} ({id_word} {own})" if own else f"{word} {name} (no {id_word})"
    if sis:
        return f"{word} with SIS id {sis}"
    return f"{word} with {id_word} {own}" if own else f"{word} without a {id_word}"


def _others(others: Any, id_word: str) -> str:
    """Other records (duplicate_sis_id): 'Ana Ruiz (Clever id 57b); (Clever id 57c)'."""
    named = []
    for other in others if isinstance(others, list) else []:
        name = plain(other.get("name")) if isinstance(other, Mapping) else ""
        own = plain(other.get("id"), ID_CHARS) if isinstance(other, Mapping) else ""
        named.append(f"{name + ' ' if name else ''}({id_word} {own})")
    return "; ".join(named)


def _vocabulary(f: Finding) -> Vocabulary | None:
    column = _COLUMNS.get(f.entity, {}).get(f.field or "")
    return column.vocabulary if column else None


def _record(f: Finding) -> str:
    entity = BY_NAME.get(f.entity)
    return (entity.word if entity else f.entity).lower()


# The words a template may use beyond its issue's params (which it names as they are).
WORDS: dict[str, Callable[[Finding, Mapping[str, Any]], str]] = {
    "field": lambda f, p: field_title(BY_NAME.get(f.entity), f.field),
    "value": lambda f, p: shown(f.value),
    "text": lambda f, p: plain(f.value),
    "record": lambda f, p: _record(f),
    "noun": lambda f, p: v.noun if (v := _vocabulary(f)) else "values",
    "allowed": lambda f, p: v.allowed if (v := _vocabulary(f)) else "",
    "others": lambda f, p: _others(p.get("others"), source_words(f)["id"]),
    "more": lambda f, p: f" and {p['more']} more" if p.get("more") else "",
    "school": lambda f, p: plain(p.get("school")),
    "low": lambda f, p: str(p.get("low") or "…"),
    "high": lambda f, p: str(p.get("high") or "…"),
}


class _Words(dict[str, str]):
    """The words of one issue, made when its template asks for them."""

    def __init__(self, f: Finding) -> None:
        super().__init__()
        self.f, self.params = f, f.params or _NONE

    def __missing__(self, key: str) -> str:
        make = WORDS.get(key)
        value = self.params.get(key)
        if make:
            word = make(self.f, self.params)
        elif key in SOURCE_WORDS["clever"]:
            word = source_words(self.f)[key]
        else:
            word = "" if value is None else str(value)
        self[key] = word
        return word


# --- rendering --------------------------------------------------------------------------------


def render(f: Finding) -> str:
    """The issue's sentence: its label, then its check's sentence (a stored one for old rows)."""
    if f.legacy:
        return f.stored or ""
    spec = SPECS.get((f.check, f.entity))
    if spec is None:  # written by a newer program, with a check this one does not know
        return f"{label(f)}: check {f.check} failed."
    params = f.params or {}
    template = spec.template(str(params.get("case") or ""))
    return f"{label(f)}: " + template.format_map(_Words(f))


def findings(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[Finding]:
    """The findings of a table's rows (tuples in the order of `columns`)."""
    read = _reader(columns)
    return [read(row) for row in rows]


def frame_findings(frame: pd.DataFrame) -> list[Finding]:
    """The findings of a table of issues (a page of views.issues_page, an export)."""
    # Column by column: iterating rows of Arrow-backed text columns is many times slower.
    columns = [str(c) for c in frame.columns]
    wanted = {c for aliases in COLUMNS.values() for c in aliases}
    kept = [c for c in columns if c in wanted]
    return findings(kept, zip(*(frame[c].tolist() for c in kept), strict=True))


def rendered(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    """The sentences of a table's rows, in order."""
    return [render(f) for f in findings(columns, rows)]
