from __future__ import annotations

import os

import pytest
import requests
from hypothesis import settings

# CI machines are small and shared: judge properties, not speed. Derandomized, so the gate
# gives the same verdict on every run; HYPOTHESIS_PROFILE=explore searches new examples.
settings.register_profile("mgi", deadline=None, max_examples=200, derandomize=True)
settings.register_profile("explore", deadline=None, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "mgi"))

API = "https://api.clever.com"
OAUTH = "https://clever.com"


class FakeClock:
    """A clock that only moves when the code under test sleeps: no real waiting in tests."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def session() -> requests.Session:
    return requests.Session()


@pytest.fixture(autouse=True)
def _no_real_configuration(monkeypatch, tmp_path_factory):
    """Tests never see the developer's Clever credentials, secrets file or database."""
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
    ):
        monkeypatch.delenv(name, raising=False)
