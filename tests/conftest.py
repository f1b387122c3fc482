"""Fixtures, built from tests/support.py (where everything else tests share lives).

Stores, after sqlite-utils' `fresh_db`:
    fresh_db      an in-memory store with the schema
    seeded_db     an in-memory store holding the test district synced and approved (version 1)
    file_db       (path, connection) of a store in a file, as the command line and dashboard use
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
import requests
from hypothesis import settings

from mgi_roster import store

# API, OAUTH and FakeClock live in tests/support.py; they stay importable from here for the test
# modules that still import them from conftest (test_app_security, test_cli, test_secrets).
from tests.support import API, OAUTH, FakeClock, seed

__all__ = ["API", "OAUTH", "FakeClock"]

# CI machines are small and shared: judge properties, not speed. Derandomized, so the gate
# gives the same verdict on every run; HYPOTHESIS_PROFILE=explore searches new examples.
settings.register_profile("mgi", deadline=None, max_examples=200, derandomize=True)
settings.register_profile("explore", deadline=None, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "mgi"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def session() -> requests.Session:
    return requests.Session()


@pytest.fixture(autouse=True)
def _no_real_configuration(monkeypatch, tmp_path_factory):
    """Tests never see the developer's Clever credentials, secrets file or database."""
    no_real_configuration(monkeypatch, tmp_path_factory)


def no_real_configuration(monkeypatch, tmp_path_factory):
    """What `_no_real_configuration` does, for a fixture of a wider scope (built before it)."""
    no_file = tmp_path_factory.getbasetemp() / "no-secrets.toml"
    monkeypatch.setattr("mgi_roster.settings.SECRETS_FILE", no_file)
    for name in (
        "CLEVER_CLIENT_ID",
        "CLEVER_CLIENT_SECRET",
        "CLEVER_DISTRICT_TOKEN",
        "CLEVER_API_BASE",
        "CLEVER_OAUTH_BASE",
        "MGI_DB",
        "MGI_DUCKDB_MEMORY",
        "MGI_DUCKDB_RUN_MEMORY",
    ):
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith(("NOTIFY_", "ONEROSTER_")):  # a developer's settings stay out
            monkeypatch.delenv(name)
    # Two test workers already use both cores: each test's DuckDB keeps to one thread.
    monkeypatch.setenv("MGI_DUCKDB_THREADS", "1")


@pytest.fixture
def fresh_db():
    """An in-memory store with the schema: the fastest store a test can have."""
    con = store.connect(":memory:")
    yield con
    con.close()


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory) -> Path:
    """A store file holding what `seeded_db` holds, built once per test worker."""
    path = tmp_path_factory.mktemp("seeded") / "seeded.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        no_real_configuration(mp, tmp_path_factory)
        con = store.connect(path)
        seed(con)
        con.close()
    return path


@pytest.fixture
def seeded_db(seeded_template):
    """An in-memory store holding the test district (support.DISTRICT_ID, default parameters)
    with `small_district(10)` synced and approved: roster version 1, no issues, nothing pending.
    A copy of `seeded_template` (its sequences included), a tenth of a second where syncing and
    approving again took two."""
    con = duckdb.connect(":memory:")
    con.execute(f"ATTACH '{seeded_template}' AS seeded (READ_ONLY)")
    con.execute("COPY FROM DATABASE seeded TO memory")
    con.execute("DETACH seeded")
    store.configure(con)
    store.migrate(con)
    yield con
    con.close()


@pytest.fixture
def file_db(tmp_path):
    """(path, connection) of a store in a file, as the command line and the dashboard use."""
    path = tmp_path / "mgi.duckdb"
    con = store.connect(path)
    yield path, con
    con.close()


# The longest test files, heaviest first (`pytest --durations=0`, summed per file). The gate
# gives each of its two workers whole files (`--dist loadfile`) in collection order: a long
# file collected last (test_validation.py) would run alone at the end while the other worker
# idles. Started first, the short files fill in around them.
HEAVY_FIRST = (
    "test_validation.py",
    "test_events.py",
    "test_events_generated.py",
    "test_people.py",
    "test_app.py",
    "test_merge.py",
    "test_app_security.py",
    "test_schedule.py",
    "test_e2e.py",
    "test_impact.py",
    "test_faults.py",
    "test_base.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(HEAVY_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: order kept within
