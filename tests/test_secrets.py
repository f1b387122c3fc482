"""Secrets stay secret: the client secret and district tokens never reach the database file,
logs, exception messages or command output."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import responses

from mgi_roster.cli import main
from mgi_roster.errors import ConfigError
from mgi_roster.settings import CleverSettings
from tests.builders import DISTRICT_ID, serve, small_district
from tests.conftest import API, OAUTH

CLIENT_SECRET = "cs_9f8e7d6c5b4a39281706f5e4d3c2b1a0"
TOKEN = "dt_1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d"


def test_settings_from_a_secrets_file_and_the_environment_wins(tmp_path, monkeypatch):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        f'CLEVER_CLIENT_ID = "file-id"\nCLEVER_CLIENT_SECRET = "{CLIENT_SECRET}"\nunrelated = 1\n'
    )
    monkeypatch.setattr("mgi_roster.settings.SECRETS_FILE", secrets)
    from_file = CleverSettings.from_env()
    assert from_file.client_id == "file-id"
    assert from_file.client_secret is not None
    assert from_file.client_secret.get_secret_value() == CLIENT_SECRET
    monkeypatch.setenv("CLEVER_CLIENT_ID", "env-id")
    assert CleverSettings.from_env().client_id == "env-id"
    for shown in (repr(from_file), str(from_file), from_file.model_dump_json()):
        assert CLIENT_SECRET not in shown


def test_a_broken_secrets_file_is_named_not_shown(tmp_path, monkeypatch):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(f'CLEVER_CLIENT_SECRET = "{CLIENT_SECRET}\n')  # unterminated string
    monkeypatch.setattr("mgi_roster.settings.SECRETS_FILE", secrets)
    with pytest.raises(ConfigError) as err:
        CleverSettings.from_env()
    assert str(secrets) in str(err.value) and CLIENT_SECRET not in str(err.value)


def test_a_bad_setting_beside_a_secret_never_shows_the_secret(monkeypatch):
    monkeypatch.setenv("CLEVER_CLIENT_SECRET", CLIENT_SECRET)  # and no client id: half a pair
    with pytest.raises(ConfigError) as err:
        CleverSettings.from_env()
    assert "CLEVER_CLIENT_ID is not set" in str(err.value)
    assert CLIENT_SECRET not in str(err.value) + str(err.value.__context__)
    monkeypatch.setenv("CLEVER_CLIENT_ID", "app-id")
    monkeypatch.setenv("CLEVER_API_BASE", f"ftp://{CLIENT_SECRET}")  # a secret pasted in a URL
    with pytest.raises(ConfigError, match="CLEVER_API_BASE must be an http") as err:
        CleverSettings.from_env()
    assert CLIENT_SECRET not in str(err.value) + str(err.value.__context__)


def register_clever(rsps: responses.RequestsMock, *, data_status: int = 200) -> None:
    rsps.get(
        f"{OAUTH}/oauth/tokens",
        json={
            "data": [
                {
                    "owner": {"type": "district", "id": DISTRICT_ID},
                    "access_token": TOKEN,
                    "scopes": [],
                }
            ]
        },
    )
    if data_status == 200:
        serve(small_district(5), rsps)
    else:
        rsps.get(f"{API}/v3.0/schools", status=data_status, json={"error": f"bad token {TOKEN}"})


def files_text(folder: Path) -> str:
    return "".join(p.read_bytes().decode("latin-1") for p in folder.iterdir() if p.is_file())


@pytest.mark.parametrize("data_status", [200, 401, 503])
def test_secrets_never_reach_the_database_logs_errors_or_output(
    tmp_path, monkeypatch, capsys, caplog, data_status
):
    monkeypatch.setenv("CLEVER_CLIENT_ID", "app-id")
    monkeypatch.setenv("CLEVER_CLIENT_SECRET", CLIENT_SECRET)
    caplog.set_level(logging.DEBUG)
    db = tmp_path / "db" / "mgi.duckdb"
    params = tmp_path / "params.json"
    params.write_text("{}")
    assert (
        main(
            ["--db", str(db), "parameters", "set", "--district", DISTRICT_ID, "--file", str(params)]
        )
        == 0
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        register_clever(rsps, data_status=data_status)
        monkeypatch.setattr("mgi_roster.sources.clever.DEFAULT_BACKOFF", 0.0)
        capsys.readouterr()
        code = main(["--db", str(db), "-v", "sync", "--district", DISTRICT_ID, "--json"])
        sent = [c.request.headers.get("Authorization", "") for c in rsps.calls]
    out = capsys.readouterr()
    result = json.loads(out.out)
    assert code == (0 if data_status == 200 else 1)
    if data_status == 200:
        assert (
            main(["--db", str(db), "approve", "--run", str(result["run_id"]), "--by", "Ana"]) == 0
        )
        assert any(TOKEN in h for h in sent)  # the token was really used
    everything = out.out + out.err + capsys.readouterr().out + caplog.text + files_text(db.parent)
    for secret in (CLIENT_SECRET, TOKEN):
        assert secret not in everything
    # Clever's own error text is not echoed either (it could carry anything).
    assert "bad token" not in everything
