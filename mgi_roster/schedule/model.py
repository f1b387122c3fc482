"""A district's schedule: the model, its parsing, and schedules saved by earlier versions."""

from __future__ import annotations

import json
import logging
import re
from datetime import date, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    ModelWrapValidatorHandler,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from mgi_roster.errors import InputError
from mgi_roster.problems import problem, sentence, setting

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

Day = Literal["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
Policy = Literal["auto", "review"]
DAYS: tuple[Day, ...] = get_args(Day)
ALLOWED_DAYS: tuple[Day, ...] = DAYS[:6]  # the MGI: Sunday through Friday
POLICIES: tuple[Policy, ...] = get_args(Policy)
DAY_NAMES = dict(
    zip(
        DAYS,
        ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"),
        strict=True,
    )
)
WINDOW = ("20:00", "05:00")  # the MGI: start between 8:00 PM and 5:00 AM UTC
MAX_VALID_DAYS = 60  # the MGI: a schedule expires at most 60 days after the first sync
EXPIRY_NOTICE = timedelta(days=7)  # contacts hear when a schedule expires within this
SCHEDULER = "scheduler"  # the name merges by the scheduler are audited under
PAUSE_EXAMPLE = "2027-06-15..2027-08-20"
SOURCE = "help.mhs.com/?p=6098"
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CLOCK = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
# Python's date.weekday(): Monday is 0.
_WEEKDAY: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _clock_time(at: str) -> str:
    if not _CLOCK.fullmatch(at):
        raise ValueError("not HH:MM")
    return at


def _window(pause: tuple[str, str]) -> tuple[str, str]:
    start, end = pause
    try:
        if not (_DATE.fullmatch(start) and _DATE.fullmatch(end)):
            raise ValueError
        ends_first = date.fromisoformat(start) > date.fromisoformat(end)
    except ValueError:
        raise problem(f"The pause window {start}..{end} needs dates as YYYY-MM-DD.") from None
    if ends_first:
        raise problem(f"The pause window {start}..{end} ends before it starts.")
    return pause


# An inclusive (start, end) pair of dates, YYYY-MM-DD: they compare as text.
Pause = Annotated[tuple[StrictStr, StrictStr], AfterValidator(_window)]
Clock = Annotated[StrictStr, AfterValidator(_clock_time)]

_LEGACY_DAYS: dict[str, tuple[Day, ...]] = {
    "off": (),
    "daily": DAYS,
    "weekdays": ("mon", "tue", "wed", "thu", "fri"),
    "hourly": DAYS,
}


def _from_legacy(data: dict[str, Any]) -> dict[str, Any]:
    """A schedule stored before the MGI's model (kind, at, every_hours, tz): the same days and
    time; what the model cannot say is kept as the reason it is invalid."""
    data = dict(data)
    kind = data.pop("kind")
    every = data.pop("every_hours", 24)
    tz = data.pop("tz", "UTC")
    if kind not in _LEGACY_DAYS:
        raise InputError(f"Unknown schedule {kind!r}: choose one of {', '.join(_LEGACY_DAYS)}.")
    data["days"] = _LEGACY_DAYS[kind]
    reasons = []
    if kind == "hourly":
        reasons.append(f"it runs every {every} hours, and the MGI allows one start time a day")
    if kind != "off" and tz != "UTC":
        reasons.append(f"its time is in {tz}, and the MGI's start time is in UTC")
    if reasons:
        data["legacy"] = "This schedule was set before the MGI's rules: " + "; ".join(reasons) + "."
    return data


class Schedule(BaseModel):
    """A district's schedule. Constructing one with a bad value raises an InputError that says
    what to enter instead; the MGI's rules, which depend on the district, are `check`ed apart."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    days: tuple[Day, ...] = ()  # none: automatic sync is off
    at: Clock = "22:00"  # UTC
    until: date | None = None  # valid until, inclusive
    pauses: tuple[Pause, ...] = ()
    policy: Policy = "auto"
    legacy: str | None = None  # why an old schedule cannot run as it is (see _from_legacy)

    @model_validator(mode="wrap")
    @classmethod
    def _said_as_a_sentence(
        cls, data: Any, handler: ModelWrapValidatorHandler[Schedule]
    ) -> Schedule:
        if isinstance(data, dict) and "kind" in data:
            data = _from_legacy(data)
        try:
            return handler(data)
        except ValidationError as exc:
            raise InputError(sentence(exc, _say)) from None

    @field_validator("days")
    @classmethod
    def _in_week_order(cls, days: tuple[Day, ...]) -> tuple[Day, ...]:
        return tuple(d for d in DAYS if d in days)

    @property
    def enabled(self) -> bool:
        return bool(self.days)

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json", exclude_none=True))

    @classmethod
    def from_dict(cls, data: Any) -> Schedule:
        return cls.model_validate(data)

    def describe(self) -> str:
        if not self.enabled:
            return "Automatic sync is off."
        days = ", ".join(DAY_NAMES[d] for d in self.days)
        until = f", valid until {self.until}" if self.until else ", with no expiry date"
        merge_rule = (
            "merging on its own when clean"
            if self.policy == "auto"
            else "always waiting for review"
        )
        return f"Sync on {days} at {self.at} UTC{until}, {merge_rule}."


def _say(error: ErrorDetails) -> str:
    name, value = setting(error).partition(".")[0], error.get("input")
    if error["type"] == "extra_forbidden":
        known = ", ".join(sorted(Schedule.model_fields))
        return f"Unknown schedule setting {error['loc'][-1]!r}; the known ones are {known}."
    sentences = {
        "days": f"Days are {', '.join(DAYS)} (e.g. sun,mon,tue,wed,thu,fri), not {value!r}.",
        "policy": f"Unknown policy {value!r}: choose one of {', '.join(POLICIES)}.",
        "at": f"The time {value!r} must be HH:MM on a 24-hour clock in UTC, e.g. 22:30.",
        "until": f"Valid until {value!r} must be a date as YYYY-MM-DD.",
        "pauses": f"Pause windows must be pairs of dates: [start, end], e.g. {PAUSE_EXAMPLE}.",
    }
    return sentences.get(
        name, "A schedule must be an object with days, at, until, pauses and policy."
    )


def parse_days(text: str) -> tuple[Day, ...]:
    """Days as typed on the command line: sun,mon,tue (names or their first three letters)."""
    found: list[Day] = []
    for word in (w.strip().lower()[:3] for w in text.split(",")):
        if word not in DAYS:
            raise InputError(
                f"Days are {', '.join(DAYS)}, separated by commas, e.g. "
                f"sun,mon,tue,wed,thu,fri (not {text.strip()!r})."
            )
        found.append(word)
    return tuple(found)


def parse_pause(text: str) -> tuple[str, str]:
    """A pause window as it is typed, on the command line and on the Schedule page:
    START..END, or one date for a single day."""
    start, dots, end = text.strip().partition("..")
    start, end = start.strip(), (end if dots else start).strip()
    if not (_DATE.fullmatch(start) and _DATE.fullmatch(end)):
        raise InputError(
            f"A pause window is START..END with dates as YYYY-MM-DD, e.g. {PAUSE_EXAMPLE} "
            f"(not {text.strip()!r})."
        )
    return start, end


def format_pause(pause: tuple[str, str]) -> str:
    return "..".join(pause)
