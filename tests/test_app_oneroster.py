"""The dashboard's OneRoster parts in AppTest: the provider dropdown and its settings, the
upload on Test Sync, the roster's OneRoster download on History."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mgi_roster import demo, districts, parameters, store, sync
from mgi_roster.kinds import ProviderKind
from mgi_roster.parameters import Parameters
from mgi_roster.roster import merge
from mgi_roster.settings import CleverSettings

ROOT = Path(__file__).resolve().parent.parent
DEMO = demo.DEMO_DISTRICT_ID


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "mgi.duckdb"
    monkeypatch.setenv("MGI_DB", str(path))
    with store.opened(path) as con:
        districts.ensure_demo(con)
        parameters.save(con, DEMO, Parameters())
    return path


def page(name: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    return at.switch_page(name).run()


def test_the_provider_dropdown_stores_non_secret_settings(db):
    at = page("app_pages/connection.py")
    assert not at.exception
    at.selectbox(key="conn_provider").set_value(ProviderKind.ONEROSTER_API).run()
    at.text_input(key="conn_endpoint").set_value("https://sis.example.org/ims/oneroster/v1p2").run()
    at.button(key="conn_save").click().run()
    assert not at.exception
    with store.opened(db) as con:
        found = districts.get(con, DEMO)
    assert found.provider is ProviderKind.ONEROSTER_API
    assert found.provider_settings.endpoint == "https://sis.example.org/ims/oneroster/v1p2"
    assert found.provider_settings.auth == "oauth2"


def test_a_csv_district_asks_for_its_package(db):
    with store.opened(db) as con:
        districts.set_provider(con, DEMO, ProviderKind.ONEROSTER_CSV)
    at = page("app_pages/sync.py")
    assert not at.exception
    assert at.button(key="sync_run").disabled  # nothing uploaded yet


def test_history_offers_the_roster_as_oneroster(db, monkeypatch):
    from streamlit.runtime.media_file_manager import MediaFileManager

    made = {}
    original = MediaFileManager.add_deferred

    def add_deferred(self, data, mimetype, coordinates, file_name=None, **kwargs):
        made[str(file_name)] = data
        return original(self, data, mimetype, coordinates, file_name=file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    with store.opened(db) as con:
        merge.approve(con, sync.run_sync(con, DEMO, settings=CleverSettings()).run_id, by="dana")
    at = page("app_pages/history.py")
    assert not at.exception
    labels = [str(getattr(b, "label", "")) for b in at.get("download_button")]
    assert any("OneRoster 1.1" in label for label in labels), labels
    data = made[f"roster-{DEMO}-oneroster-1.1.zip"]()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert {"manifest.csv", "users.csv", "orgs.csv"} <= set(z.namelist())
