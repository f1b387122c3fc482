"""Providers (sources/provider.py): one interface, the district's choice, its id rules."""

from __future__ import annotations

import json

import pytest

from mgi_roster import districts, parameters
from mgi_roster.errors import DistrictIdError, InputError
from mgi_roster.kinds import ProviderKind, RunStatus
from mgi_roster.sources import provider
from mgi_roster.sources.provider import ProviderSettings
from mgi_roster.sync import run_sync
from tests.oneroster_support import DISTRICT, package_11, package_12, write_zip


@pytest.mark.parametrize("value", ["dist-1", "ABC.def_1/2@x", "a" * 255])
def test_a_oneroster_id_is_a_safe_guid(value):
    assert provider.check_district_id(f" {value} ", ProviderKind.ONEROSTER_CSV) == value


@pytest.mark.parametrize("value", ["", "has space", "a" * 256, "semi;colon", "é"])
def test_an_unsafe_oneroster_id_is_refused(value):
    with pytest.raises(DistrictIdError):
        provider.check_district_id(value, ProviderKind.ONEROSTER_API)


def test_the_24_hex_check_is_clever_only(fresh_db):
    with pytest.raises(DistrictIdError):
        districts.add(fresh_db, DISTRICT)
    d = districts.add(fresh_db, DISTRICT, provider=ProviderKind.ONEROSTER_CSV)
    assert d.provider is ProviderKind.ONEROSTER_CSV
    # Known now: its stored provider decides, wherever it is added again.
    assert districts.add(fresh_db, DISTRICT).district_id == DISTRICT


def test_provider_settings_are_stored_without_secrets(fresh_db):
    options = ProviderSettings(
        endpoint="https://sis.example.org/ims/oneroster/v1p2/", version="1.2", auth="oauth2"
    )
    d = districts.set_provider(fresh_db, DISTRICT, ProviderKind.ONEROSTER_API, options)
    assert d.provider_settings.endpoint == "https://sis.example.org/ims/oneroster/v1p2"
    stored = fresh_db.execute(
        "SELECT provider_settings FROM districts WHERE district_id = ?", [DISTRICT]
    ).fetchone()
    assert json.loads(stored[0]) == {
        "endpoint": "https://sis.example.org/ims/oneroster/v1p2",
        "version": "1.2",
        "auth": "oauth2",
    }
    with pytest.raises(InputError):
        ProviderSettings.parse({"client_secret": "s3cret"})


def _params(con, district_id=DISTRICT):
    parameters.save(con, district_id, parameters.Parameters())


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_a_csv_package_syncs_like_any_source(fresh_db, tmp_path, monkeypatch, version):
    _params(fresh_db)
    rows = package_11() if version == "1.1" else package_12()
    zipped = write_zip(tmp_path / "p.zip", rows, version)
    seen = []
    result = run_sync(
        fresh_db, DISTRICT, provider="oneroster-csv", file=zipped, progress=seen.append
    )
    assert result.status in (RunStatus.STAGED, RunStatus.HELD), result.message
    assert result.counts["students"] == 2 and result.counts["sections"] == 1
    assert [p.entity for p in seen][-1] == "enrollments" and all(p.done for p in seen)
    assert districts.get(fresh_db, DISTRICT).provider is ProviderKind.ONEROSTER_CSV
    run = fresh_db.execute("SELECT provider FROM runs WHERE run_id = ?", [result.run_id]).fetchone()
    assert run[0] == "oneroster-csv"


def test_a_package_of_another_district_fails_the_run(fresh_db, tmp_path, monkeypatch):
    _params(fresh_db, "other-district")
    zipped = write_zip(tmp_path / "p.zip", package_11())
    result = run_sync(fresh_db, "other-district", provider="oneroster-csv", file=zipped)
    assert result.status == RunStatus.FAILED
    assert "belongs to district dist-1" in (result.message or "")


def test_a_csv_sync_without_its_file_fails_with_advice(fresh_db):
    _params(fresh_db)
    result = run_sync(fresh_db, DISTRICT, provider="oneroster-csv")
    assert result.status == RunStatus.FAILED
    assert "needs the package" in (result.message or "")


def test_an_unconfigured_api_fails_with_advice(fresh_db):
    _params(fresh_db)
    result = run_sync(fresh_db, DISTRICT, provider="oneroster-api")
    assert result.status == RunStatus.FAILED
    assert "ONEROSTER_CLIENT_ID" in (result.message or "")


def test_a_screening_rule_may_name_oneroster_class_types(fresh_db, tmp_path, monkeypatch):
    from mgi_roster.review import readiness

    _params(fresh_db)
    zipped = write_zip(tmp_path / "p.zip", package_11())
    assert run_sync(fresh_db, DISTRICT, provider="oneroster-csv", file=zipped).ok
    by_class = {"distribute_by_class": True, "screening_class_rule": {"class_types": ["homeroom"]}}
    seen = readiness.preview(fresh_db, DISTRICT, parameters.Parameters.model_validate(by_class))
    assert seen.matched == 1 and seen.covered == 1
    other = {"distribute_by_class": True, "screening_class_rule": {"class_types": ["scheduled"]}}
    seen = readiness.preview(fresh_db, DISTRICT, parameters.Parameters.model_validate(other))
    assert seen.matched == 0


def test_oneroster_secrets_come_from_the_environment_only(monkeypatch):
    from mgi_roster.settings import OneRosterSettings

    monkeypatch.setenv("ONEROSTER_CLIENT_ID", "app")
    monkeypatch.setenv("ONEROSTER_CLIENT_SECRET", "s3cret")
    monkeypatch.setenv("ONEROSTER_ENDPOINT", "https://sis.example.org/ims/oneroster/v1p2/")
    found = OneRosterSettings.from_env()
    assert found.configured and found.endpoint == "https://sis.example.org/ims/oneroster/v1p2"
    assert "s3cret" not in repr(found)


def test_the_mapping_may_use_more_than_a_run_then_puts_its_bound_back(fresh_db, monkeypatch):
    # A user's schools are one aggregation DuckDB cannot spill: the mapping raises a run's
    # bound to MAPPING_MEMORY_MB for its length (a million users need it), then restores it.
    from mgi_roster.sources import provider
    from mgi_roster.sync import Timings

    assert provider._megabytes(("122.0 MiB",)) == 122
    assert provider._megabytes(("1.5 GiB",)) == 1536
    assert provider._megabytes(None) == 0
    fresh_db.execute("SET memory_limit = '128MB'")
    seen = []
    from mgi_roster.sources.oneroster import mapping

    original = mapping.stage

    def watching(con, *args, **kwargs):
        seen.append(con.execute("SELECT current_setting('memory_limit')").fetchone()[0])
        return original(con, *args, **kwargs)

    monkeypatch.setattr(mapping, "stage", watching)
    provider._stage_raw(fresh_db, 1, "d", "1.1", None, None, Timings())
    assert provider._megabytes((seen[0],)) >= provider.MAPPING_MEMORY_MB - 12
    assert fresh_db.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "122.0 MiB"
