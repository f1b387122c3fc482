"""Presentation mode: a roster's personal values masked, for sharing a screen with a district.

Every table the dashboard shows goes through `Masker.frame` when presentation mode is on. What is
masked, and how:

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

Issue messages name their record the way validation writes them ("Student Zoë García (SIS id
100234): date of birth "13/45/2010" is not…"). The name in that label, the quoted value of a
masked field and the names a duplicate-SIS-id message lists are replaced; a message that does not
have the expected shape is replaced whole ("details hidden in presentation mode"), so a value
never shows because it was written in a way this module did not foresee. Email addresses are
masked in every text cell of every table (reviewers' emails in History, a run's message).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from mgi_roster.review.validation import CONTROL, SHOWN_CHARS, SHOWN_CONTROL

PEOPLE = {"students": "Student", "teachers": "Teacher"}  # entities whose records are people
NAME_FIELDS = {
    "first_name": "First",
    "middle_name": "Middle",
    "last_name": "Last",
    "principal_name": "Name",
}
EMAIL_FIELDS = ("email", "principal_email")
USERNAME_FIELDS = ("district_username",)
HIDDEN_FIELDS = ("dob", "gender", "race", "hispanic_ethnicity", "ell_status")
SENSITIVE_FIELDS = frozenset((*NAME_FIELDS, *EMAIL_FIELDS, *USERNAME_FIELDS, *HIDDEN_FIELDS))
HIDDEN = "•••"
RECORD_COLUMNS = ("record", "record_name")  # a record's display name, in issue and change tables
VALUE_COLUMNS = ("value", "before", "after")  # values of the row's `field`
# Anything around an "@" up to spaces and punctuation that cannot be in an address (a sentence's
# full stop is not part of it): over-masks odd text rather than leaving half an address.
EMAIL = re.compile(r"[^\s@<>\"'(),;:]+@[^\s@<>\"'(),;:]*[^\s@<>\"'(),;:.]")
# How validation labels a record with a name: "Student <name> (SIS id …): " and its variants.
# Greedy, so a name holding the same words is masked whole (and some of the tail with it).
LABEL = re.compile(r"^(Student|Teacher) (.+) \((?:SIS id .*?|Clever id .*?|no Clever id)\): ", re.S)
ALSO_USED = re.compile(
    r" is also used by (.*?)((?: and \d+ more)?\. Each \w+ needs its own SIS id)"
)
# Labels without a name: "Student with SIS id 1042: ", "Student without a Clever id: ", "Student: ".
NAMELESS = re.compile(
    r"^(Student|Teacher)(: | with SIS id | with Clever id | without a Clever id: )"
)
CLEVER_ID = re.compile(r"\(Clever id ([^)]*)\)")


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
        if field in HIDDEN_FIELDS:
            return HIDDEN
        if field in NAME_FIELDS:
            return f"{NAME_FIELDS[field]} ·{self.token('name', value)}"
        tag = self.token("login", value)  # an email and the same text as username match
        return f"user·{tag}@masked.invalid" if field in EMAIL_FIELDS else f"user·{tag}"

    def text(self, value: Any) -> Any:
        """Any other text: the email addresses in it masked."""
        if not isinstance(value, str) or "@" not in value:
            return value
        return EMAIL.sub(lambda m: self.value("email", m.group(0)), value)

    def message(self, message: Any, *, entity: str, record_id: Any, field: Any, value: Any) -> Any:
        """An issue message with the names and masked values it quotes replaced."""
        if not isinstance(message, str):
            return message
        out = message
        if entity in PEOPLE:
            label = LABEL.match(out)
            if label is not None:
                start, end = label.span(2)
                out = out[:start] + self.record(entity, record_id).split(" ", 1)[1] + out[end:]
            elif not NAMELESS.match(out):
                return self._hidden(entity, record_id)  # not a label validation writes
            if " is also used by " in out:
                out = self._also_used(out, entity)
                if out is None:
                    return self._hidden(entity, record_id)
        if isinstance(field, str) and field in SENSITIVE_FIELDS and _present(value):
            shown = f'"{_shown(value)}"'
            out = out.replace(shown, f'"{self.value(field, value)}"')
            if shown in out:
                return self._hidden(entity, record_id)
        return self.text(out)

    def frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A table with its personal values masked; the columns and rows stay as they were."""
        if frame.empty:
            return frame
        out = frame.copy()
        entities = out["entity"] if "entity" in out.columns else None
        ids = _ids(out)
        fields = out["field"] if "field" in out.columns else None
        done: set[str] = set()
        for column in out.columns:
            name = str(column)
            if name in SENSITIVE_FIELDS:
                out[column] = _cells(out[column], lambda v, f=name: self.value(f, v))
                done.add(name)
        for column in RECORD_COLUMNS:
            if column in out.columns and entities is not None:
                out[column] = [
                    self.record(_entity(e), i, v) if _entity(e) in PEOPLE and _present(v) else v
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
        if "message" in out.columns:
            raw_values = frame["value"] if "value" in frame.columns else [None] * len(out)
            out["message"] = [
                self.message(
                    m,
                    entity=_entity(e) if entities is not None else "",
                    record_id=i,
                    field=f,
                    value=v,
                )
                for m, e, i, f, v in zip(
                    out["message"],
                    entities if entities is not None else [None] * len(out),
                    ids,
                    fields if fields is not None else [None] * len(out),
                    raw_values,
                    strict=True,
                )
            ]
            done.add("message")
        for column in out.columns:
            if str(column) not in done and _textual(out[column]):
                out[column] = _cells(out[column], self.text)
        return out

    def _hidden(self, entity: str, record_id: Any) -> str:
        who = self.record(entity, record_id) if entity in PEOPLE else "This record"
        return f"{who}: details hidden in presentation mode."

    def _also_used(self, message: str, entity: str) -> str | None:
        """The other records a duplicate-SIS-id message lists, by Clever id (None: not the
        shape validation writes)."""
        found = ALSO_USED.search(message)
        if found is None:
            return None
        others = [
            f"{self.record(entity, clever_id)} (Clever id {clever_id})"
            for clever_id in CLEVER_ID.findall(found.group(1))
        ]
        if not others:
            return None
        start, end = found.span(1)
        return message[:start] + "; ".join(others) + message[end:]


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


def _shown(value: Any) -> str:
    """A value as validation quotes it inside a message: control characters made visible, then
    cut to SHOWN_CHARS (validation._shown)."""
    text = re.sub(CONTROL, SHOWN_CONTROL, str(value))
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"
