"""Providers: where a district's roster comes from, behind one interface.

The MGI has three upload methods (mgi.md): Clever Secure Sync, the OneRoster API and OneRoster
CSV. Each is a provider: given the run's own DuckDB file, it stages the district's records into
the stg_<entity> tables and returns the staged count per entity, reporting progress and timing
its phases like every sync. Everything after staging (validation, diff, merge, schedule,
readiness, pages) reads those tables and never asks which provider ran.

    CleverProvider          today's Clever pull (sync.fetch), unchanged
    OneRosterCsvProvider    a ZIP: oneroster.csv.load_package lands it in raw or_* tables,
                            oneroster.mapping stages them
    OneRosterApiProvider    oneroster.rest.land pulls the API into the same raw tables, then
                            the same mapping

A district's provider and its non-secret settings (endpoint, token URL, version, auth kind,
drop folder) are stored on its row (`districts.provider`, `districts.provider_settings`);
secrets come only from the environment or the secrets file (settings.OneRosterSettings).

District ids: Clever's are 24 hex characters (clever.check_district_id, with the guide's advice);
a OneRoster district's id is a sourcedId (its district org's, else its only school's, else one
the specialist types), which must still be a safe GUID: 1-255 characters of 0-9 A-Z a-z . - _ / @.
"""

from __future__ import annotations

import importlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from mgi_roster.entities import ENTITIES, Entity
from mgi_roster.errors import DistrictIdError, InputError
from mgi_roster.kinds import ProviderKind
from mgi_roster.problems import sentence, setting
from mgi_roster.sources import clever

if TYPE_CHECKING:
    import duckdb

    from mgi_roster.sources.clever import CleverClient
    from mgi_roster.sync import ProgressCallback, Timings

SAFE_ID = re.compile(r"[0-9A-Za-z.\-_/@]{1,255}")


def check_district_id(value: str, kind: ProviderKind | str = ProviderKind.CLEVER) -> str:
    """The district id normalised for its provider, or DistrictIdError saying what is wrong."""
    if ProviderKind(kind) is ProviderKind.CLEVER:
        return clever.check_district_id(value)
    candidate = (value or "").strip()
    if SAFE_ID.fullmatch(candidate):
        return candidate
    if not candidate:
        raise DistrictIdError(
            "Enter the district's id: the sourcedId of its district org in the OneRoster files "
            "(orgs.csv, type district), or of its school when there is no district org."
        )
    raise DistrictIdError(
        f"A OneRoster district id is the sourcedId of the district org: 1 to 255 characters, "
        f"letters, digits and . - _ / @ only (this one has {len(candidate)} characters"
        f"{_odd(candidate)}). Copy it from orgs.csv."
    )


def _odd(candidate: str) -> str:
    odd = sorted({c for c in candidate if not SAFE_ID.fullmatch(c)})
    return ", including " + " ".join(repr(c) for c in odd[:5]) if odd else ""


# --- a district's non-secret provider settings -------------------------------------------------

AuthKind = Literal["oauth2", "oauth1-hmac-sha1", "oauth1-hmac-sha256"]


class ProviderSettings(BaseModel):
    """What the Connection page stores for a OneRoster district: never a secret (extra keys are
    refused, so a client secret cannot be saved here by mistake)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    endpoint: str | None = None  # the OneRoster API's base URL
    token_url: str | None = None  # OAuth 2.0 token URL (1.2)
    version: Literal["1.1", "1.2"] | None = None
    auth: AuthKind | None = None
    drop_folder: str | None = None  # where the district's SFTP drops its ZIPs

    @field_validator("endpoint", "token_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        value = (value or "").strip() or None
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("not an http(s) URL")
        return value.rstrip("/") if value else None

    @field_validator("drop_folder")
    @classmethod
    def _folder(cls, value: str | None) -> str | None:
        return (value or "").strip() or None

    @classmethod
    def parse(cls, data: Any) -> ProviderSettings:
        """From stored or typed values; a bad value is an InputError naming the setting."""
        try:
            return cls.model_validate(data or {})
        except ValidationError as exc:
            raise InputError(
                sentence(
                    exc, lambda e: f"The provider setting {setting(e)} is not valid ({e['msg']})."
                )
            ) from None

    def to_json(self) -> str:
        return self.model_dump_json(exclude_none=True)


# --- the providers ------------------------------------------------------------------------------


class Provider(Protocol):
    """Stages a district's records into the run's stg_<entity> tables; returns counts."""

    kind: ProviderKind

    def stage(
        self,
        con: duckdb.DuckDBPyConnection,
        run_id: int,
        district_id: str,
        *,
        progress: ProgressCallback | None,
        timings: Timings,
    ) -> dict[str, int]: ...


@dataclass
class CleverProvider:
    """Clever API v3.0: the events since the latest merge applied to its roster, or every
    fetched entity streamed page by page (sync.fetch), as `plan` says (sources/clever_events.py);
    after `stage`, `plan` is what the run did (a refusal midway falls back to a full pull)."""

    client: CleverClient
    page_size: int
    plan: Any  # clever_events.Plan
    kind: ProviderKind = ProviderKind.CLEVER

    def stage(
        self,
        con: duckdb.DuckDBPyConnection,
        run_id: int,
        district_id: str,
        *,
        progress: ProgressCallback | None,
        timings: Timings,
    ) -> dict[str, int]:
        from mgi_roster import sync

        counts, self.plan = sync.stage_clever(
            con, self.client, self.plan, run_id, district_id, self.page_size, progress, timings
        )
        return counts


def _stage_raw(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    district_id: str,
    version: Any,
    modes: Any,
    progress: ProgressCallback | None,
    timings: Timings,
) -> dict[str, int]:
    """The raw tables of the run's file → staging (the mapping), one progress line per entity."""
    from mgi_roster.sources.oneroster import mapping
    from mgi_roster.store import temporarily
    from mgi_roster.sync import Progress

    def report(entity: Entity, step: int, count: int) -> None:
        if progress is not None:
            progress(Progress(entity.name, entity.label, step, len(ENTITIES), 1, count, done=True))

    row = con.execute("SELECT current_setting('memory_limit')").fetchone()
    # The mapping spills what does not fit (only the few users with several schools go through
    # a list aggregation, which DuckDB cannot spill), so a run's own bound
    # (MGI_DUCKDB_RUN_MEMORY, 128 MB) is enough at a million users; a run bounded lower gets
    # MAPPING_MEMORY_MB for the mapping (measured in benchmarks/RESULTS.md), then its bound back.
    bound = f"{max(MAPPING_MEMORY_MB, _megabytes(row))}MB"
    with timings.phase("stage"), temporarily(con, memory_limit=bound):
        return mapping.stage(
            con, run_id, district_id, "1.2" if version == "1.2" else "1.1", modes, on_entity=report
        )


MAPPING_MEMORY_MB = 128


def _megabytes(row: tuple[Any, ...] | None) -> int:
    """A DuckDB memory setting ("122.0 MiB", "1.2 GiB") in MB, rounded down; 0 when unknown."""
    from mgi_roster.store import setting_bytes

    found = setting_bytes(str(row[0])) if row else float("inf")
    return 0 if found == float("inf") else int(found / 1024**2)


def check_package_district(con: duckdb.DuckDBPyConnection, district_id: str) -> None:
    """A package that names its district (district org, else its only school) is synced under
    that id, so two districts' rosters never mix."""
    from mgi_roster.sources.oneroster import mapping

    named = mapping.package_district(con)
    if named is not None and named != district_id:
        raise InputError(
            f"This OneRoster package belongs to district {named} (the sourcedId of its district "
            f"org, or of its only school), not {district_id}. Sync it under district {named}, or "
            "upload the package of this district."
        )


@dataclass
class OneRosterCsvProvider:
    """A OneRoster CSV ZIP (1.1 or 1.2). A malformed package raises the reader's PackageError,
    listing every problem, before anything is staged."""

    path: Path
    kind: ProviderKind = ProviderKind.ONEROSTER_CSV

    def stage(
        self,
        con: duckdb.DuckDBPyConnection,
        run_id: int,
        district_id: str,
        *,
        progress: ProgressCallback | None,
        timings: Timings,
    ) -> dict[str, int]:
        reader = _module("csv")  # orcsv's reader: load_package(con, path) -> Package

        # A package is on disk, not behind a network: its reading and mapping may use every
        # core (a run keeps to one, so the other can fetch Clever's next page), then one again.
        from mgi_roster.store import temporarily

        with temporarily(con, threads=os.cpu_count() or 1):
            with timings.phase("fetch"):
                package = reader.load_package(con, self.path)
            check_package_district(con, district_id)
            return _stage_raw(
                con, run_id, district_id, package.version, package.modes, progress, timings
            )


@dataclass
class OneRosterApiProvider:
    """A OneRoster REST API (1.1 OAuth 1.0a, 1.2 OAuth 2.0): every collection pulled into the
    raw tables by oneroster.rest.land, then the same mapping as CSV (every file bulk)."""

    client: Any  # oneroster.rest.OneRosterClient
    kind: ProviderKind = ProviderKind.ONEROSTER_API

    def stage(
        self,
        con: duckdb.DuckDBPyConnection,
        run_id: int,
        district_id: str,
        *,
        progress: ProgressCallback | None,
        timings: Timings,
    ) -> dict[str, int]:
        rest = _module("rest")  # orapi's client: land(con, client, progress) -> version

        def landed(p: Any) -> None:  # rest.LandProgress, said as a sync's progress
            if progress is not None:
                from mgi_roster.sync import Progress

                progress(
                    Progress(
                        p.collection, p.collection, p.step, p.steps, p.pages, p.records, p.done
                    )
                )

        with timings.phase("fetch"):
            version = rest.land(con, self.client, landed)
        return _stage_raw(con, run_id, district_id, version, None, progress, timings)


def _module(name: str) -> Any:
    """A OneRoster reader module, imported when a run needs it (by name: the CSV and REST
    readers live beside the mapping, in sources/oneroster/)."""
    return importlib.import_module(f"mgi_roster.sources.oneroster.{name}")


def oneroster_api(config: Any, session: Any) -> OneRosterApiProvider:
    """The API provider for a district: oneroster.rest's client for `config` (an ApiConfig:
    credentials from the environment, endpoint and token URL from the district's settings
    first) over `session` (districts.oneroster_connection decides it, mounting the demo's API
    for the demo's endpoint)."""
    rest = _module("rest")
    return OneRosterApiProvider(rest.OneRosterClient(config, session))


def keep_upload(db: Path, district_id: str, data: bytes) -> Path:
    """Save an uploaded OneRoster ZIP under the store's folder (<store>.uploads/), named by the
    district and the time, for the same run_sync as any package."""
    from datetime import UTC, datetime

    folder = db.with_name(db.stem + ".uploads")
    folder.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^0-9A-Za-z._-]", "_", district_id)[:80]
    path = folder / f"{safe}-{datetime.now(UTC):%Y%m%dT%H%M%S%f}.zip"
    path.write_bytes(data)
    return path


def oneroster_csv(path: Path | str | None) -> OneRosterCsvProvider:
    if path is None:
        raise InputError(
            "A OneRoster CSV sync needs the package: upload the ZIP on the Test Sync page, give "
            "it with --file, or drop it in the district's drop folder."
        )
    path = Path(path)
    if not path.is_file():
        raise InputError(f"The OneRoster package {path} does not exist or is not a file.")
    return OneRosterCsvProvider(path)
