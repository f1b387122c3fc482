"""Where a district's roster comes from: the caller mounts the demo on the session, or not."""

from __future__ import annotations

import ast
from pathlib import Path

import duckdb
import pytest
import requests
from requests.adapters import HTTPAdapter

from mgi_roster import demo, districts
from mgi_roster.errors import ConfigError, InputError
from mgi_roster.settings import CleverSettings
from mgi_roster.sources import clever

DEMO = demo.DEMO_DISTRICT_ID
OTHER = "a" * 24
APP = CleverSettings(client_id="app-id", client_secret="app-secret")


@pytest.fixture
def with_demo(fresh_db: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A fresh store listing the demo district, as every store does once the dashboard opened it."""
    districts.ensure_demo(fresh_db)
    return fresh_db


def imported_modules(path: str) -> set[str]:
    """Every module a source file imports, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(Path(path).read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_clever_client_does_not_import_the_demo() -> None:
    imported = imported_modules(clever.__file__)
    assert "requests" in imported  # the walk does see the imports
    assert not {n for n in imported if n == "mgi_roster.demo" or n.startswith("mgi_roster.demo.")}


def test_the_client_alone_never_falls_back_to_the_demo() -> None:
    with pytest.raises(ConfigError, match="No Clever credentials"):
        clever.check_connection(DEMO, CleverSettings(), session=requests.Session())


def test_the_demo_district_gets_the_demo_mounted_with_its_app_credentials(with_demo) -> None:
    session, effective = districts.clever_session(with_demo, DEMO, CleverSettings())
    for url in (f"{effective.api_base}/v3.0/users", f"{effective.oauth_base}/oauth/tokens"):
        assert isinstance(session.get_adapter(url), demo.DemoAdapter)
    assert (effective.client_id, effective.client_secret.get_secret_value()) == (
        demo.DEMO_CLIENT_ID,
        demo.DEMO_CLIENT_SECRET,
    )
    # The same client code as for a real district: the tokens endpoint, then the district.
    connection = clever.check_connection(DEMO, effective, session=session)
    assert connection.district.id == DEMO and connection.district.name
    assert connection.token_source == "app credentials"


def test_the_demo_session_serves_the_stored_sis_day(with_demo) -> None:
    districts.advance_demo_day(with_demo)
    session, effective = districts.clever_session(with_demo, DEMO, CleverSettings())
    adapter = session.get_adapter(f"{effective.api_base}/v3.0/users")
    assert isinstance(adapter, demo.DemoAdapter) and adapter.district.day == 2


def test_a_configured_district_gets_a_plain_session(with_demo) -> None:
    session, effective = districts.clever_session(with_demo, OTHER, APP)
    assert effective == APP
    assert type(session.get_adapter(f"{APP.api_base}/v3.0/users")) is HTTPAdapter
    assert type(session.get_adapter(f"{APP.oauth_base}/oauth/tokens")) is HTTPAdapter


def test_with_no_configuration_only_the_demo_district_is_reachable(with_demo) -> None:
    with pytest.raises(InputError, match="only the demo district"):
        districts.clever_session(with_demo, OTHER, CleverSettings())


def test_which_districts_use_the_demo() -> None:
    loopback = CleverSettings(
        api_base="http://127.0.0.1:8765", client_id="app-id", client_secret="app-secret"
    )
    assert districts.uses_demo(OTHER, CleverSettings())  # no configuration at all
    assert districts.uses_demo(DEMO, APP)  # the demo's id, while the API base is Clever's
    assert not districts.uses_demo(DEMO, loopback)  # e.g. `demo serve` on a loopback port
    assert not districts.uses_demo(OTHER, APP)
