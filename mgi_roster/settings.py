"""Settings: where Clever is, how to authenticate, and where the database lives.

Each setting is an environment variable; the Clever ones may also be top-level keys of
Streamlit's secrets file, `.streamlit/secrets.toml` (never committed), under the same names.
The environment wins, so a deployment can override the file:

    CLEVER_API_BASE, CLEVER_OAUTH_BASE    where Clever is (a loopback `demo serve` in tests)
    CLEVER_CLIENT_ID, CLEVER_CLIENT_SECRET the MGI app's credentials
    CLEVER_DISTRICT_TOKEN                  or a district token directly
    MGI_DB                                 the DuckDB file (the command line's --db wins)
    MGI_DUCKDB_MEMORY                      DuckDB's memory bound, in megabytes
    MGI_DUCKDB_RUN_MEMORY                  a sync run's DuckDB bound, in megabytes (128)
    NOTIFY_SMTP_HOST, NOTIFY_SMTP_PORT     the SMTP server that mails the districts' contacts
    NOTIFY_SMTP_STARTTLS                   true (default): upgrade the connection with STARTTLS
    NOTIFY_SMTP_USER, NOTIFY_SMTP_PASSWORD log in with these (optional)
    NOTIFY_MAIL_FROM                       the sender's address
    NOTIFY_DASHBOARD_URL                   the dashboard's address, for links to a run
    NOTIFY_WEBHOOK_URL                     optional: also POST a JSON summary here
    ONEROSTER_CLIENT_ID, ONEROSTER_CLIENT_SECRET   a OneRoster API's credentials (the MGI's
                                           Client ID and Client Secret)
    ONEROSTER_ENDPOINT, ONEROSTER_TOKEN_URL        its base URL and OAuth 2.0 token URL (a
                                           district's own, on its Connection page, wins)

Secrets are `SecretStr`: a repr, a message or a log line shows `**********`; only the code that
sends one to Clever asks for its value. A bad setting is a ConfigError that names the variable
and never quotes a secret.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticUseDefault
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from mgi_roster.errors import ConfigError
from mgi_roster.problems import problem, sentence, setting, shown

SECRETS_FILE = Path(".streamlit") / "secrets.toml"
DEFAULT_API_BASE = "https://api.clever.com"
DEFAULT_OAUTH_BASE = "https://clever.com"
DEFAULT_DB = Path("data") / "mgi.duckdb"
DEFAULT_DUCKDB_MEMORY_MB = 1024
DEFAULT_DUCKDB_RUN_MEMORY_MB = 128


def _blank_is_unset(value: Any) -> Any:
    """A variable set to spaces is not set (an empty one is ignored before it gets here)."""
    if isinstance(value, str):
        value = value.strip()
        if not value:
            raise PydanticUseDefault()
    return value


def _url(value: Any) -> Any:
    value = _blank_is_unset(value)
    if isinstance(value, str):
        if not value.startswith(("https://", "http://")):
            raise ValueError("not an http(s) URL")
        return value.rstrip("/")
    return value


Text = Annotated[str | None, BeforeValidator(_blank_is_unset)]
Secret = Annotated[SecretStr | None, BeforeValidator(_blank_is_unset)]
Url = Annotated[str, BeforeValidator(_url)]


class CleverSettings(BaseModel):
    """Where Clever is and how to authenticate: the values given, nothing else.

    `CleverSettings()` is "nothing configured", which means the demo district; the demo's own
    settings and the tests' are built the same way. `from_env()` reads this process's settings.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)

    api_base: Url = DEFAULT_API_BASE
    oauth_base: Url = DEFAULT_OAUTH_BASE
    client_id: Text = None
    client_secret: Secret = None
    district_token: Secret = None

    @model_validator(mode="after")
    def _credentials_come_in_pairs(self) -> CleverSettings:
        if bool(self.client_id) != bool(self.client_secret):
            missing = "CLEVER_CLIENT_SECRET" if self.client_id else "CLEVER_CLIENT_ID"
            raise problem(
                f"{missing} is not set: the app credentials need both CLEVER_CLIENT_ID and "
                "CLEVER_CLIENT_SECRET (from the Clever developer dashboard)."
            )
        return self

    # Defined last: pydantic applies model validators in the order they are written, each one
    # around those before it, so this one also catches the rule above.
    @model_validator(mode="wrap")
    @classmethod
    def _said_as_a_sentence(
        cls, data: Any, handler: ModelWrapValidatorHandler[CleverSettings]
    ) -> CleverSettings:
        try:
            return handler(data)
        except ValidationError as exc:
            raise ConfigError(sentence(exc, _say)) from None

    @classmethod
    def from_env(cls) -> CleverSettings:
        """This process's Clever settings: the environment, else the secrets file."""
        return Settings.read().clever

    @property
    def is_demo(self) -> bool:
        """No Clever configuration at all means the built-in demo district."""
        return not (self.client_id or self.district_token)


def _say(error: ErrorDetails) -> str:
    if not setting(error):  # a variable named CLEVER alone, read as the whole group
        names = ", ".join("CLEVER_" + name.upper() for name in CleverSettings.model_fields)
        return f"CLEVER is not a setting; unset it. The Clever settings are {names}."
    variable = "CLEVER_" + setting(error).upper()
    if setting(error) in ("api_base", "oauth_base"):
        return f"{variable} must be an http(s) URL, such as {DEFAULT_API_BASE}."
    return f"{variable} must be text (in quotes in {SECRETS_FILE})."


class NotifySettings(BaseModel):
    """How contacts hear about scheduled syncs (notify.py): an SMTP server, and optionally a
    webhook. `NotifySettings()` is "nothing configured": no mail is sent."""

    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)

    smtp_host: Text = None
    smtp_port: Annotated[int, Field(gt=0, lt=65536)] = 587
    smtp_starttls: bool = True
    smtp_user: Text = None
    smtp_password: Secret = None
    mail_from: Text = None
    dashboard_url: Url = "http://localhost:8501"
    webhook_url: Annotated[str | None, BeforeValidator(_url)] = None
    timeout: Annotated[float, Field(gt=0)] = 10.0  # seconds, for SMTP and the webhook

    @model_validator(mode="wrap")
    @classmethod
    def _said_as_a_sentence(
        cls, data: Any, handler: ModelWrapValidatorHandler[NotifySettings]
    ) -> NotifySettings:
        try:
            return handler(data)
        except ValidationError as exc:
            raise ConfigError(sentence(exc, _say_notify)) from None

    @classmethod
    def from_env(cls) -> NotifySettings:
        """This process's notification settings: the environment, else the secrets file."""
        return Settings.read().notify

    @property
    def mail_configured(self) -> bool:
        return bool(self.smtp_host)


def _say_notify(error: ErrorDetails) -> str:
    variable = "NOTIFY_" + (setting(error) or "").upper()
    hints = {
        "smtp_port": "a port number, such as 587",
        "smtp_starttls": "true or false",
        "timeout": "a number of seconds, such as 10",
        "dashboard_url": "an http(s) URL, such as https://mgi-roster.example.org",
        "webhook_url": "an http(s) URL",
    }
    return f"{variable} must be {hints.get(setting(error), 'text')}."


class OneRosterSettings(BaseModel):
    """A OneRoster API's credentials and where it is: ONEROSTER_CLIENT_ID,
    ONEROSTER_CLIENT_SECRET, ONEROSTER_ENDPOINT, ONEROSTER_TOKEN_URL. The endpoint and token URL
    may instead be a district's own non-secret provider settings (sources/provider.py); the
    secret is only ever here. `OneRosterSettings()` is "nothing configured"."""

    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)

    client_id: Text = None
    client_secret: Secret = None
    endpoint: Annotated[str | None, BeforeValidator(_url)] = None
    token_url: Annotated[str | None, BeforeValidator(_url)] = None

    @model_validator(mode="after")
    def _credentials_come_in_pairs(self) -> OneRosterSettings:
        if bool(self.client_id) != bool(self.client_secret):
            missing = "ONEROSTER_CLIENT_SECRET" if self.client_id else "ONEROSTER_CLIENT_ID"
            raise problem(
                f"{missing} is not set: a OneRoster API needs both ONEROSTER_CLIENT_ID and "
                "ONEROSTER_CLIENT_SECRET (from the district's SIS or rostering vendor)."
            )
        return self

    @model_validator(mode="wrap")
    @classmethod
    def _said_as_a_sentence(
        cls, data: Any, handler: ModelWrapValidatorHandler[OneRosterSettings]
    ) -> OneRosterSettings:
        try:
            return handler(data)
        except ValidationError as exc:
            raise ConfigError(sentence(exc, _say_oneroster)) from None

    @classmethod
    def from_env(cls) -> OneRosterSettings:
        """This process's OneRoster settings: the environment, else the secrets file."""
        return Settings.read().oneroster

    @property
    def configured(self) -> bool:
        return bool(self.client_id and self.client_secret)


def _say_oneroster(error: ErrorDetails) -> str:
    variable = "ONEROSTER_" + (setting(error) or "").upper()
    if setting(error) in ("endpoint", "token_url"):
        return f"{variable} must be an http(s) URL."
    return f"{variable} must be text (in quotes in {SECRETS_FILE})."


def _megabytes(value: Any) -> Any:
    """1024MB, 1024mb or 1024: DuckDB's memory bound in megabytes."""
    if isinstance(value, str):
        number = value.strip().upper().removesuffix("MB").strip()
        if number.isascii() and number.isdigit():
            return int(number)
    return value


class StoreSettings(BaseSettings):
    """Where the database is and what DuckDB may use: MGI_DB, MGI_DUCKDB_MEMORY, MGI_DUCKDB_THREADS.

    From the environment only (a broken secrets file must not keep the database closed); read
    again on every construction."""

    model_config = SettingsConfigDict(
        env_prefix="MGI_", env_ignore_empty=True, frozen=True, extra="ignore"
    )

    db: Path = DEFAULT_DB
    duckdb_memory: Annotated[int, BeforeValidator(_megabytes), Field(gt=0, strict=True)] = (
        DEFAULT_DUCKDB_MEMORY_MB
    )
    # A sync run's own DuckDB (staging/runfile.py): small, so a sync fits a small machine.
    duckdb_run_memory: Annotated[int, BeforeValidator(_megabytes), Field(gt=0, strict=True)] = (
        DEFAULT_DUCKDB_RUN_MEMORY_MB
    )
    # The main store's worker threads (MGI_DUCKDB_THREADS); None: DuckDB's own, every core. A
    # run's file keeps to one (staging/runfile.py). The tests set 1: two test workers already
    # use both cores, and small queries only lose time sharing them.
    duckdb_threads: Annotated[int | None, Field(gt=0)] = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings)

    @model_validator(mode="wrap")
    @classmethod
    def _said_as_a_sentence(
        cls, data: Any, handler: ModelWrapValidatorHandler[StoreSettings]
    ) -> StoreSettings:
        try:
            return handler(data)
        except ValidationError as exc:
            raise ConfigError(sentence(exc, _say_store)) from None


def _say_store(error: ErrorDetails) -> str:
    if setting(error) == "duckdb_memory":
        return (
            "MGI_DUCKDB_MEMORY must be a size in megabytes, e.g. 1024MB "
            f"(not {shown(error.get('input'))})."
        )
    return f"MGI_DB must be the path of a file, such as {DEFAULT_DB} (not {shown(error.get('input'))})."


class _SecretsFile(EnvSettingsSource):
    """The top-level keys of Streamlit's secrets file, read like environment variables (the
    same names, the same nesting); its tables ([auth], [mgi]) are for the dashboard's sign-in.
    No file, no settings. A file that does not parse is a ConfigError that names the file,
    never its content."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        self.path = path
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:  # as pydantic-settings' .env source
        if not self.path.is_file():
            return {}
        try:
            data = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(
                f"The secrets file {self.path} could not be read ({type(exc).__name__}); fix or "
                "remove it."
            ) from None
        return {
            key.lower(): str(value)
            for key, value in data.items()
            if isinstance(value, str | int | float | bool)
            and key.upper().startswith(("CLEVER_", "NOTIFY_", "ONEROSTER_"))
        }


class Settings(BaseSettings):
    """The Clever and notification settings of this process, from the environment, else the
    secrets file.

    A variable's first word names its group, the rest the field: CLEVER_CLIENT_ID is
    clever.client_id (pydantic-settings' nesting, split once at the first underscore)."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="ignore",
        env_ignore_empty=True,
        env_nested_delimiter="_",
        env_nested_max_split=1,
        hide_input_in_errors=True,
    )

    clever: CleverSettings = CleverSettings()
    notify: NotifySettings = NotifySettings()
    oneroster: OneRosterSettings = OneRosterSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The module's SECRETS_FILE when settings are read, so a test can point it elsewhere.
        return (init_settings, env_settings, _SecretsFile(settings_cls, SECRETS_FILE))

    @classmethod
    def read(cls) -> Settings:
        """The settings as they are now: read again on every call, nothing is cached."""
        try:
            return cls()
        except SettingsError as exc:  # a variable pydantic-settings could not even parse
            raise ConfigError(
                f"A setting could not be read ({exc.__class__.__name__}): check the CLEVER_ "
                f"environment variables and {SECRETS_FILE}."
            ) from None
