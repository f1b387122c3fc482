"""The connection checklist: the guide's steps 1-5 for a Clever district, each one measured.

    SIS compatibility        the district's Clever record and its SIS type
    Request accepted         the app has a token for the district (Clever's token lookup)
    Setup finished in Clever Set Sharing, Data Validation, Finalize: inferred from what the
                             token can see (no schools or no students shared: not finished)
    Test Connection          name, SIS type, Clever's sync state and last sync; a paused or
                             failing Clever sync, or a last sync older than 7 days, is a warning

Each step is a `Step` (name, state, detail, advice). A step that cannot be judged because an
earlier one failed is `unknown`, with the reason. Nothing here raises a RosterError for a
district's state: a failed step is an answer, not an exception. The advice is the guide's own
(two paths for an unaccepted request: the district requested the MGI, or the specialist
invited the district).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from mgi_roster.errors import CleverError, DistrictIdError, RosteringNotAccepted
from mgi_roster.kinds import StepState
from mgi_roster.settings import CleverSettings
from mgi_roster.sources import clever
from mgi_roster.sources.clever import CleverClient, ConnectedDistrict, Http

STALE_SYNC = timedelta(days=7)  # a Clever sync older than this is a warning before any sync
PAUSED_STATES = frozenset({"pause", "paused", "error", "failed", "failure"})
LISTED_DISTRICTS = 20  # connected districts named when an ID is not among them

SIS = "SIS compatibility"
ACCEPTED = "Request accepted"
SETUP = "Setup finished in Clever"
TEST = "Test Connection"


@dataclass(frozen=True)
class Step:
    name: str
    state: StepState
    detail: str
    advice: str = ""

    def to_dict(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Step:
        return cls(data["name"], StepState(data["state"]), data["detail"], data.get("advice", ""))


@dataclass(frozen=True)
class Checklist:
    district_id: str
    steps: tuple[Step, ...]
    # When the ID is not among the app's connected districts: the ones the credentials see.
    connected: tuple[ConnectedDistrict, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return all(s.state in (StepState.OK, StepState.WARNING) for s in self.steps)

    @property
    def problem(self) -> Step | None:
        """The first step that failed (None when the district is ready for a sync)."""
        return next((s for s in self.steps if s.state == StepState.FAILED), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "district_id": self.district_id,
            "ok": self.ok,
            "steps": [s.to_dict() for s in self.steps],
            "connected_districts": [{"id": d.id, "name": d.name} for d in self.connected],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Checklist:
        """A checklist as `to_dict` wrote it (the last one is kept per District ID)."""
        return cls(
            data["district_id"],
            tuple(Step.from_dict(s) for s in data["steps"]),
            tuple(ConnectedDistrict(d["id"], d.get("name")) for d in data["connected_districts"]),
        )

    def lines(self) -> list[str]:
        """The checklist as text, one step a line (the command line without --json)."""
        out = []
        for s in self.steps:
            out.append(f"[{s.state:^7}] {s.name}: {s.detail}")
            if s.advice and s.state != StepState.OK:
                out.append(f"          What to do: {s.advice}")
        if self.connected:
            out.append("Connected districts these credentials can see:")
            out.extend(f"  {d.id}  {d.name or '(no name)'}" for d in self.connected)
        return out


def _unknown(name: str, because: str) -> Step:
    return Step(name, StepState.UNKNOWN, f"Not checked: {because}.")


NOT_ACCEPTED_ADVICE = (
    "If the district requested the MGI in Clever, the MGI's Lead Implementation Specialist "
    "accepts the request. If you invited the district, the district accepts the invitation in "
    "its Clever portal (Applications). Then Test Connection again."
)


def run(
    district_id: str,
    settings: CleverSettings,
    session: requests.Session,
    *,
    now: datetime | None = None,
    **http_options: Any,
) -> Checklist:
    """Measure every step for one district. `session` reaches Clever (or the demo)."""
    now = now or datetime.now(UTC)
    try:
        district_id = clever.check_district_id(district_id)
    except DistrictIdError as exc:
        step = Step(
            "District ID",
            StepState.FAILED,
            exc.message,
            "Copy the District ID from "
            "the district's page in the Clever dashboard (24 characters, 0-9 and a-f).",
        )
        return Checklist(district_id, (step,))
    http = Http(session, **http_options)
    try:
        token = clever.find_district_token(http, settings, district_id)
    except RosteringNotAccepted as exc:
        connected = _connected(http, settings, district_id)
        detail = exc.message
        if connected:
            names = "; ".join(f"{d.name or '(no name)'} ({d.id})" for d in connected)
            detail = (
                f"District {district_id} is not among the districts connected to the MGI app. "
                f"Connected districts these credentials can see: {names}."
            )
        return Checklist(
            district_id,
            (
                _unknown(SIS, "the district's Clever record needs an accepted request"),
                Step(ACCEPTED, StepState.FAILED, detail, NOT_ACCEPTED_ADVICE),
                _unknown(SETUP, "the request is not accepted"),
                _unknown(TEST, "the request is not accepted"),
            ),
            connected,
        )
    except CleverError as exc:
        failed = Step(
            ACCEPTED, StepState.FAILED, exc.message, "Check the app's credentials, then retry."
        )
        return Checklist(
            district_id,
            (
                _unknown(SIS, "Clever could not be asked"),
                failed,
                _unknown(SETUP, "Clever could not be asked"),
                _unknown(TEST, "Clever could not be asked"),
            ),
        )
    accepted = Step(
        ACCEPTED, StepState.OK, f"Clever has a token for this district ({token.source})."
    )
    client = CleverClient(http, token.token, api_base=settings.api_base)
    try:
        found = client.district()
    except CleverError as exc:
        return Checklist(
            district_id,
            (
                _unknown(SIS, "the district's record could not be read"),
                accepted,
                _unknown(SETUP, "the district's record could not be read"),
                Step(
                    TEST,
                    StepState.FAILED,
                    exc.message,
                    "Retry; if it persists, check Clever's status page.",
                ),
            ),
        )
    return Checklist(district_id, (_sis(found), accepted, _setup(client), _test(found, now)))


def _connected(
    http: Http, settings: CleverSettings, district_id: str
) -> tuple[ConnectedDistrict, ...]:
    """The districts the app's credentials are connected to, when it has any (a wrong ID)."""
    if settings.district_token or not (settings.client_id and settings.client_secret):
        return ()
    try:
        found = clever.connected_districts(http, settings, limit=LISTED_DISTRICTS)
    except CleverError:
        return ()
    return tuple(d for d in found if d.id != district_id)


def _sis(found: clever.District) -> Step:
    if found.sis_type:
        return Step(
            SIS, StepState.OK, f"Clever syncs this district from its SIS ({found.sis_type})."
        )
    return Step(
        SIS,
        StepState.WARNING,
        "Clever's record of the district names no SIS type.",
        "Ask the district which SIS Clever syncs from, and confirm it is supported.",
    )


def _setup(client: CleverClient) -> Step:
    """Set Sharing, Data Validation, Finalize: judged by what the token can see."""
    missing = [
        what
        for what, path, params in (
            ("schools", "/schools", {}),
            ("students", "/users", {"role": "student"}),
        )
        if not client.has_records(path, params)
    ]
    if missing:
        return Step(
            SETUP,
            StepState.FAILED,
            f"The district shares no {' and no '.join(missing)} with the MGI: its setup in "
            "Clever is not finished.",
            "Ask the district to finish Clever's setup guide for the MGI: Set Sharing (share "
            "the schools and students to be tested), Data Validation, then Finalize.",
        )
    return Step(SETUP, StepState.OK, "The district shares schools and students with the MGI.")


def _test(found: clever.District, now: datetime) -> Step:
    facts = [
        f"{found.name or '(no name)'}",
        f"SIS {found.sis_type or 'unknown'}",
        f"Clever sync {found.state or 'unknown'}",
        f"last sync {found.last_sync or 'never'}",
    ]
    detail = "Connected: " + "; ".join(facts) + "."
    problems: list[str] = []
    if (found.state or "").lower() in PAUSED_STATES:
        problems.append(f"Clever's sync of the district is {found.state}")
    last = _parse_time(found.last_sync)
    if last is None:
        problems.append("Clever has no record of a completed sync")
    elif now - last > STALE_SYNC:
        problems.append(f"Clever last synced the district {(now - last).days} days ago")
    if problems:
        return Step(
            TEST,
            StepState.WARNING,
            detail + " " + "; ".join(problems).capitalize() + ".",
            "The roster may be out of date: ask the district to check its Clever sync before "
            "you run a test sync.",
        )
    return Step(TEST, StepState.OK, detail)


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def steps_table(steps: Sequence[Step]) -> list[dict[str, str]]:
    """Rows for a page's table."""
    return [
        {"step": s.name, "state": str(s.state), "detail": s.detail, "advice": s.advice}
        for s in steps
    ]


def connected_table(found: Sequence[ConnectedDistrict]) -> list[dict[str, str]]:
    """Rows for the table of connected districts to pick from (a wrong ID)."""
    return [{"name": d.name or "(no name)", "district_id": d.id} for d in found]
