"""Presentation mode: a roster's personal values masked, for sharing a screen with a district.

Every table the dashboard shows goes through `Masker.frame` when presentation mode is on. What is
masked is declared on the entities' fields (entities.Mask), and how:

    students' and teachers' names     "Student ·3f2a9c"   the record's name, wherever it is shown
                                                          (a record column, an issue message)
    first, middle, last names         "Last ·8c01d2"      roster columns, before/after values
    emails, usernames                 "user·5e7b10@masked.invalid", "user·5e7b10"
    dates of birth, gender, race,     "•••"               nothing of the value is kept
    hispanic ethnicity, ELL status

Tokens are an HMAC of the value (of the record's Clever id, for a record's name) under a key the
session chooses, so the same person gets the same token on every table of the session (rows stay
distinguishable, a record is recognisable across pages) while the token cannot be looked up in a
list of names or dates. Missing values stay missing: completeness is not personal.

Issue messages are rendered from the issue's fields (review/validation/messages.py), so a masked
message is rendered from masked fields: the record's name becomes its token, the value of a
personal field its mask, the other records a check names their tokens. No sentence is ever
searched for what to hide. An issue written before issues were data has only its sentence: it is
shown as "details hidden in presentation mode".

Email addresses are also masked in every other text cell of every table (a reviewer's email in
History, a run's message): those are free text a person typed or an error wrote, with no field
to say what they hold, so the one pattern an address has is the only way to find it there.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import pandas as pd

from mgi_roster.entities import ENTITIES, Mask
from mgi_roster.review.validation import messages
from mgi_roster.review.validation.messages import Finding


def _masks() -> dict[str, Mask]:
    """Each personal field's mask, by field name (a field masks the same in every entity)."""
    found: dict[str, Mask] = {}
    for entity in ENTITIES:
        for column in entity.columns:
            mask = column.mask
            if mask is not None and found.setdefault(column.name, mask) is not mask:
                raise ValueError(f"{column.name} is masked two ways in entities.py")
    return found


MASKS = _masks()
PEOPLE = {e.name: e.word for e in ENTITIES if e.person}  # entities whose records are people
# A name part's token word: "First ·…", "Last ·…", "Principal ·…".
NAME_FIELDS = {
    c.name: c.title.split()[0] for e in ENTITIES for c in e.columns if c.mask is Mask.NAME
}
EMAIL_FIELDS = tuple(f for f, m in MASKS.items() if m is Mask.EMAIL)
USERNAME_FIELDS = tuple(f for f, m in MASKS.items() if m is Mask.USERNAME)
HIDDEN_FIELDS = tuple(f for f, m in MASKS.items() if m is Mask.HIDDEN)
SENSITIVE_FIELDS = frozenset(MASKS)
HIDDEN = "•••"
RECORD_COLUMNS = ("record", "record_name")  # a record's display name, in issue and change tables
VALUE_COLUMNS = ("value", "before", "after")  # values of the row's `field`
# Anything around an "@" up to spaces and punctuation that cannot be in an address (a sentence's
# full stop is not part of it): over-masks odd text rather than leaving half an address.
EMAIL = re.compile(r"[^\s@<>\"'(),;:]+@[^\s@<>\"'(),;:]*[^\s@<>\"'(),;:.]")


@dataclass(frozen=True)
class Masker:
    """Masks personal values under one key (the session's)."""

    key: bytes

    def token(self, kind: str, value: Any) -> str:
        digest = hmac.new(self.key, f"{kind}\x00{value}".encode(), hashlib.sha256)
        return digest.hexdigest()[:6]

    def record(self, entity: str, record_id: Any, name: Any = None) -> str:
        """A person record's name: the same token for the same record everywhere."""
        word = PEOPLE.get(entity, "Record")
        basis = record_id if _present(record_id) else name
        return f"{word} ·{self.token('record:' + entity, basis)}"

    def value(self, field: str, value: Any) -> Any:
        """One value of a field (a roster column, or a before/after/value of that field)."""
        if not _present(value) or field not in SENSITIVE_FIELDS:
            return value
        mask = MASKS[field]
        if mask is Mask.HIDDEN:
            return HIDDEN
        if mask is Mask.NAME:
            return f"{NAME_FIELDS[field]} ·{self.token('name', value)}"
        tag = self.token("login", value)  # an email and the same text as username match
        return f"user·{tag}@masked.invalid" if mask is Mask.EMAIL else f"user·{tag}"

    def text(self, value: Any) -> Any:
        """Free text: the email addresses in it masked."""
        if not isinstance(value, str) or "@" not in value:
            return value
        return EMAIL.sub(lambda m: self.value("email", m.group(0)), value)

    def finding(self, f: Finding) -> Finding:
        """An issue's fields as presentation mode shows them, for messages.render: a person's
        name is their record's token, a personal value its mask, other text has its emails
        masked."""
        person = f.entity in PEOPLE
        name = f.record_name
        if person and name:
            name = self.record(f.entity, f.record_id, name).split(" ", 1)[1]  # "Student ·…"
        field = f.field or ""
        value = self.value(field, f.value) if field in SENSITIVE_FIELDS else self.text(f.value)
        return replace(
            f,
            record_name=self.text(name),
            value=value,
            sis_id=self.text(f.sis_id),
            params=self.params(f.entity, f.params) if f.params is not None else None,
        )

    def params(self, entity: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """A check's params masked: records it names ({"id", "name"}) by their tokens, text
        with its emails masked."""
        return {key: self._param(entity, value) for key, value in params.items()}

    def _param(self, entity: str, value: Any) -> Any:
        if isinstance(value, list):
            return [self._param(entity, v) for v in value]
        if isinstance(value, Mapping):
            if "id" in value and "name" in value and entity in PEOPLE:
                named = _present(value["name"])
                return {**value, "name": self.record(entity, value["id"]) if named else None}
            return {k: self._param(entity, v) for k, v in value.items()}
        return self.text(value)

    def message(self, f: Finding) -> str:
        """An issue's sentence rendered from its masked fields."""
        return self._message(f, None if f.legacy else self.finding(f))

    def _message(self, f: Finding, masked: Finding | None) -> str:
        if masked is None:  # only a finished sentence: nothing says which words are personal
            who = self.record(f.entity, f.record_id) if f.entity in PEOPLE else "This record"
            return f"{who}: details hidden in presentation mode."
        return messages.render(masked)

    def frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A table with its personal values masked; the columns and rows stay as they were.
        A table of issues (`check` and `message` columns) gets its messages rendered again from
        its masked fields, and its `params` masked."""
        if frame.empty:
            return frame
        out = frame.copy()
        entities = out["entity"] if "entity" in out.columns else None
        ids = _ids(out)
        fields = out["field"] if "field" in out.columns else None
        done: set[str] = set()
        if {"check", "message"} <= set(out.columns):
            found = messages.frame_findings(frame)
            masked = [None if f.legacy else self.finding(f) for f in found]
            out["message"] = pd.Series(
                [self._message(f, m) for f, m in zip(found, masked, strict=True)],
                index=out.index,
                dtype=object,
            )
            done.add("message")
            if "params" in out.columns:
                out["params"] = pd.Series(
                    [_json(m.params) if m is not None else None for m in masked],
                    index=out.index,
                    dtype=object,
                )
                done.add("params")
        for column in out.columns:
            name = str(column)
            if name in SENSITIVE_FIELDS:
                out[column] = _cells(out[column], partial(self.value, name))
                done.add(name)
        for column in RECORD_COLUMNS:
            if column in out.columns and entities is not None:
                out[column] = [
                    self.record(_entity(e), i, v)
                    if _entity(e) in PEOPLE and _present(v)
                    else self.text(v)
                    for e, i, v in zip(entities, ids, out[column], strict=True)
                ]
                done.add(column)
        if fields is not None:
            for column in VALUE_COLUMNS:
                if column in out.columns:
                    out[column] = [
                        self.value(f, v) if f in SENSITIVE_FIELDS else self.text(v)
                        for f, v in zip(fields, out[column], strict=True)
                    ]
                    done.add(column)
        for column in out.columns:
            if str(column) not in done and _textual(out[column]):
                out[column] = _cells(out[column], self.text)
        return out


def _json(params: Mapping[str, Any] | None) -> str:
    return json.dumps(params, ensure_ascii=False) if params else "{}"


def _present(value: Any) -> bool:
    if value is None:
        return False
    try:
        return not bool(pd.isna(value))
    except (TypeError, ValueError):  # lists and arrays are present
        return True


def _entity(value: Any) -> str:
    """An entity name from a cell holding it ("students") or its label ("Students")."""
    return str(value).lower() if _present(value) else ""


def _ids(frame: pd.DataFrame) -> list[Any]:
    for column in ("record_id", "id"):
        if column in frame.columns:
            return list(frame[column])
    return [None] * len(frame)


def _textual(column: pd.Series) -> bool:
    return pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)


def _cells(column: pd.Series, mask: Callable[[Any], Any]) -> pd.Series:
    return pd.Series([mask(v) for v in column], index=column.index, dtype=object)
