from __future__ import annotations

import pytest
import requests

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
