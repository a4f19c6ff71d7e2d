"""The one place drivetrain reads its configuration.

Values come from, in order of precedence: keyword overrides, ``DRIVETRAIN_*``
environment variables, the TOML file, then the defaults below. The TOML file is
``$DRIVETRAIN_CONFIG`` if set, else ``./drivetrain.toml`` if it exists.

Example ``drivetrain.toml``::

    data_dir = "/var/lib/drivetrain"
    state_url = "postgresql+psycopg://drivetrain@db/drivetrain"
    lake_engine = "embedded"
"""

from __future__ import annotations

import os
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from drivetrain.errors import ConfigError, StorageError

CONFIG_ENV = "DRIVETRAIN_CONFIG"
DEFAULT_CONFIG_FILE = Path("drivetrain.toml")

_file_values: ContextVar[dict[str, Any] | None] = ContextVar("_file_values", default=None)


class Settings(BaseSettings):
    """drivetrain configuration; build it with :func:`load_settings`."""

    model_config = SettingsConfigDict(env_prefix="DRIVETRAIN_", extra="forbid", frozen=True)

    data_dir: Path = Field(
        default=Path(".drivetrain"),
        description="Directory holding the lake, the embedded state database and keys.",
    )
    state_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the control-plane database; default is SQLite in data_dir.",
    )
    lake_engine: Literal["embedded"] = Field(
        default="embedded",
        description="Query/batch engine of the lake ('embedded' = DuckDB/Polars over Arrow).",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    principals_file: Path | None = Field(
        default=None,
        description="Principals (users, services) with roles and attributes; default "
        "<data_dir>/principals.toml.",
    )
    models_dir: Path | None = Field(
        default=None,
        description="Where trained models are cached (default DATA_DIR/models); data "
        "directories that share one train each model once. Keep it writable by you only: "
        "the files are checked against their SHA-256 but unpickled.",
    )
    mqtt_host: str = Field(default="127.0.0.1", description="MQTT broker of the vehicle gateway.")
    mqtt_port: int = Field(default=1883, ge=1, le=65535, description="Its port.")
    category_overrides: dict[str, str] = Field(
        default_factory=dict,
        description="Data category per VSS path prefix, overriding the default rules.",
    )
    llm_base_url: str | None = Field(
        default=None,
        description="OpenAI-compatible endpoint the copilot writes answers with "
        "(e.g. http://127.0.0.1:8080/v1); none: extractive answers.",
    )
    llm_model: str | None = Field(default=None, description="Model name at that endpoint.")
    llm_api_key: SecretStr | None = Field(
        default=None, description="Key for the endpoint, if it wants one (never logged)."
    )

    warranty_currency: str = Field(
        default="EUR",
        pattern=r"^[A-Z]{3}$",
        description="ISO 4217 currency of warranty claim costs; claims in another are "
        "quarantined (costs are summed, so they must be in one).",
    )
    warranty_months: int = Field(
        default=36, ge=1, le=120, description="Warranty period in months (from the sale)."
    )

    # -- the HTTP API and web console (docs/api.md) -------------------------------------
    api_host: str = Field(default="127.0.0.1", description="Address 'drivetrain serve' binds.")
    api_port: int = Field(default=8000, ge=1, le=65535, description="Its port.")
    public_url: str | None = Field(
        default=None,
        description="The URL people open (behind a proxy); default http://api_host:api_port.",
    )
    session_hours: float = Field(
        default=8.0, gt=0, le=24 * 30, description="How long a console sign-in lasts."
    )
    cookie_secure: bool | None = Field(
        default=None,
        description="Mark cookies Secure (HTTPS only); default: when public_url is https.",
    )
    max_body_bytes: int = Field(
        default=1 << 20, ge=1024, description="Largest request body the API accepts."
    )
    login_rate: str = Field(
        default="5/minute",
        description="Sign-in attempts allowed per client address and per user "
        "(the 'limits' notation, e.g. 10/hour).",
    )
    rate_limit_storage: str = Field(
        default="memory://",
        description="Where rate-limit counters live: memory:// for one process, "
        "redis://host:6379 for several workers.",
    )
    oidc_issuer: str | None = Field(
        default=None,
        description="OIDC issuer whose bearer tokens the API accepts (iss claim); "
        "none: no OIDC.",
    )
    oidc_audience: str | None = Field(
        default=None, description="The aud claim a token must carry for drivetrain."
    )
    oidc_jwks_url: str | None = Field(
        default=None, description="The issuer's JWKS URL (its signing keys)."
    )
    oidc_principal_claim: str = Field(
        default="sub",
        description="The token claim naming the principal (as in the principals file).",
    )

    @field_validator("state_url")
    @classmethod
    def _known_dialect(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("state_url must be a sqlite:/// or postgresql+psycopg:// URL")
        return value

    @property
    def lake_dir(self) -> Path:
        return self.data_dir / "lake"

    @property
    def resolved_principals_file(self) -> Path:
        return self.principals_file or self.data_dir / "principals.toml"

    @property
    def resolved_models_dir(self) -> Path:
        """Where trained models are cached (``models_dir``, else ``DATA_DIR/models``)."""
        return self.models_dir or self.data_dir / "models"

    @property
    def copilot_dir(self) -> Path:
        """The copilot's document index (chunks, vectors, BM25)."""
        return self.data_dir / "copilot"

    @property
    def imported_catalog(self) -> Path:
        """Where 'drivetrain catalog import-vss' writes the imported VSS catalog."""
        return self.data_dir / "catalog" / "vss_signals.json"

    @property
    def resolved_state_url(self) -> str:
        if self.state_url:
            return self.state_url
        return f"sqlite:///{(self.data_dir / 'state.db').resolve()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        file_source = InitSettingsSource(settings_cls, init_kwargs=_file_values.get() or {})
        return (init_settings, env_settings, file_source)

    def ensure_data_dir(self) -> Path:
        """Create the data directory if needed and check that it is writable."""
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            probe = self.data_dir / ".write-probe"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise StorageError(
                f"data directory {self.data_dir} is not writable ({exc.strerror})",
                hint="set DRIVETRAIN_DATA_DIR or data_dir in drivetrain.toml to a writable path",
            ) from exc
        return self.data_dir


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(
            f"config file {path} does not exist",
            hint=f"create it or unset {CONFIG_ENV}",
        ) from exc
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read ({exc.strerror})") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Read settings from ``config_file`` (or the default places), the environment and overrides."""
    if config_file is None and (env_path := os.environ.get(CONFIG_ENV)):
        config_file = Path(env_path)
    if config_file is None and DEFAULT_CONFIG_FILE.is_file():
        config_file = DEFAULT_CONFIG_FILE
    values = _read_config_file(config_file) if config_file is not None else {}
    token = _file_values.set(values)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
            for err in exc.errors()
        )
        where = f" in {config_file}" if config_file else ""
        raise ConfigError(
            f"invalid configuration{where}: {problems}",
            hint="see 'drivetrain --help' or docs/configuration.md for the accepted keys",
        ) from exc
    finally:
        _file_values.reset(token)
