"""Settings: the environment, else Streamlit's secrets file; defaults; clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from mgi_roster import store
from mgi_roster.errors import ConfigError
from mgi_roster.settings import CleverSettings, StoreSettings


@pytest.fixture
def secrets_file(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "secrets.toml"
    monkeypatch.setattr("mgi_roster.settings.SECRETS_FILE", path)
    return path


def test_nothing_configured_is_the_demo_with_clever_defaults():
    settings = CleverSettings.from_env()
    assert settings == CleverSettings()
    assert (settings.api_base, settings.oauth_base) == (
        "https://api.clever.com",
        "https://clever.com",
    )
    assert settings.is_demo


def test_built_directly_settings_are_only_what_is_given(monkeypatch):
    # The demo district's settings are built this way: a configured environment must not leak in.
    monkeypatch.setenv("CLEVER_CLIENT_ID", "app-id")
    monkeypatch.setenv("CLEVER_CLIENT_SECRET", "secret")
    assert CleverSettings().is_demo
    assert not CleverSettings.from_env().is_demo


def test_the_file_fills_what_the_environment_leaves_out(secrets_file, monkeypatch):
    secrets_file.write_text(
        'CLEVER_API_BASE = "http://127.0.0.1:8765/"\n'
        'CLEVER_DISTRICT_TOKEN = "from-file"\n'
        "[auth]\n"
        'client_id = "oidc-client"\n'  # the dashboard's sign-in, not a Clever setting
    )
    monkeypatch.setenv("CLEVER_DISTRICT_TOKEN", "from-env")
    monkeypatch.setenv("CLEVER_API_BASE", "")  # empty: not set, the file's value stands
    settings = CleverSettings.from_env()
    assert settings.api_base == "http://127.0.0.1:8765"
    assert settings.district_token is not None
    assert settings.district_token.get_secret_value() == "from-env"
    assert settings.client_id is None


def test_unrelated_clever_variables_are_ignored(monkeypatch):
    monkeypatch.setenv("CLEVER_SOMETHING_ELSE", "1")
    assert CleverSettings.from_env() == CleverSettings()


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("CLEVER_API_BASE", "api.clever.com", "CLEVER_API_BASE must be an http(s) URL"),
        ("CLEVER_OAUTH_BASE", "clever.com", "CLEVER_OAUTH_BASE must be an http(s) URL"),
        ("CLEVER_CLIENT_ID", "app-id", "CLEVER_CLIENT_SECRET is not set"),
        ("CLEVER_CLIENT_SECRET", "secret", "CLEVER_CLIENT_ID is not set"),
    ],
)
def test_bad_settings_name_the_variable(monkeypatch, name, value, said):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        CleverSettings.from_env()
    assert said in err.value.message and err.value.message.endswith(".")


def test_only_plain_values_of_the_file_are_settings(secrets_file):
    secrets_file.write_text("CLEVER_CLIENT_ID = [1, 2]\nCLEVER_DISTRICT_TOKEN = 5\n")
    settings = CleverSettings.from_env()  # a table or list is not a setting; a number is text
    assert settings.client_id is None and settings.district_token is not None


def test_settings_are_frozen():
    with pytest.raises(ValueError, match="frozen"):
        CleverSettings().api_base = "http://elsewhere"  # type: ignore[misc]


def test_store_settings_from_the_environment(monkeypatch, tmp_path):
    assert StoreSettings() == StoreSettings(db=Path("data/mgi.duckdb"), duckdb_memory=1024)
    monkeypatch.setenv("MGI_DB", str(tmp_path / "x.duckdb"))
    monkeypatch.setenv("MGI_DUCKDB_MEMORY", "2048mb")
    assert StoreSettings() == StoreSettings(db=tmp_path / "x.duckdb", duckdb_memory=2048)
    assert store.db_path() == tmp_path / "x.duckdb"
    assert store.db_path(tmp_path / "cli.duckdb") == tmp_path / "cli.duckdb"  # --db wins


@pytest.mark.parametrize("memory", ["lots", "0", "-5MB", "1.5GB"])
def test_a_bad_memory_bound_is_a_clear_error(monkeypatch, memory):
    monkeypatch.setenv("MGI_DUCKDB_MEMORY", memory)
    with pytest.raises(ConfigError, match="MGI_DUCKDB_MEMORY must be a size in megabytes"):
        store.connect(":memory:")


def test_a_broken_secrets_file_does_not_close_the_database(secrets_file):
    secrets_file.write_text('CLEVER_CLIENT_ID = "unterminated\n')
    store.connect(":memory:").close()
