"""Settings of the identity provider: one pydantic-settings model, environment prefix ``IDP_``.

Every field carries a description; ``idp settings`` (and the configuration reference in the
README) are generated from them. The embedded default needs no variable at all: SQLite and keys
under ``./var/``, short-lived state in the process.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(Exception):
    """A setting has a wrong value; the message names the setting and never echoes its value."""


class Settings(BaseSettings):
    """Configuration of one provider process (every replica of a deployment shares it)."""

    model_config = SettingsConfigDict(env_prefix="IDP_", extra="ignore", frozen=True)

    issuer: str = Field(
        default="http://127.0.0.1:8000",
        description="The issuer identifier: an absolute https URL (http only for loopback), "
        "no query or fragment. Every endpoint is served under it.",
    )
    data_dir: Path = Field(
        default=Path("./var"),
        description="Folder for the embedded default's files: SQLite database, key-encryption key.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the durable store: postgresql://user@host/db (psycopg 3) "
        "or sqlite:///path. Unset: an SQLite file under the data folder.",
    )
    redis_url: str | None = Field(
        default=None,
        description="redis://host:port/db for short-lived state (sessions, codes, replay caches). "
        "Unset: in-process state, fit for one process only.",
    )
    redis_prefix: str = Field(default="idp:", description="Prefix of every Redis key this provider writes.")
    key_encryption_key: SecretStr | None = Field(
        default=None,
        description="Key that encrypts software signing keys at rest (urlsafe base64 of 32 bytes). "
        "Unset: read from (or, on first start, generated into) <data_dir>/kek with mode 0600.",
    )
    demo: bool = Field(default=False, description="Seed a demo relying party and a demo account.")
    auto_migrate: bool | None = Field(
        default=None,
        description="Upgrade the database schema at start-up. Unset: yes for SQLite, no otherwise "
        "(run `idp db upgrade`).",
    )
    session_idle_seconds: int = Field(default=1800, ge=60, description="SSO session idle timeout.")
    session_absolute_seconds: int = Field(
        default=8 * 3600, ge=300, description="SSO session absolute lifetime."
    )
    code_ttl_seconds: int = Field(default=60, ge=10, le=600, description="Authorization code lifetime.")
    access_token_ttl_seconds: int = Field(default=300, ge=30, le=3600, description="Access token lifetime.")
    id_token_ttl_seconds: int = Field(default=300, ge=30, le=3600, description="ID token lifetime.")
    refresh_token_ttl_seconds: int = Field(
        default=30 * 24 * 3600, ge=300, description="Refresh token (and grant) absolute lifetime."
    )
    pairwise_salt: SecretStr | None = Field(
        default=None,
        description="Secret salt of pairwise subject identifiers. Unset: derived from the "
        "key-encryption key.",
    )
    trust_forwarded_for: bool = Field(
        default=False,
        description="Read the client address from X-Forwarded-For (only behind a trusted proxy).",
    )

    @field_validator("issuer")
    @classmethod
    def _issuer_is_absolute(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("must be an absolute http(s) URL")
        if parts.query or parts.fragment:
            raise ValueError("must not have a query or fragment")
        if parts.scheme == "http" and not is_loopback_host(parts.hostname):
            raise ValueError("must use https unless the host is loopback")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _database_url_scheme(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme = value.split(":", 1)[0]
        if scheme.split("+", 1)[0] not in ("postgresql", "postgres", "sqlite"):
            raise ValueError("must be a postgresql:// or sqlite:// URL")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url_scheme(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("redis", "rediss", "unix"):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value or None

    @cached_property
    def effective_database_url(self) -> str:
        """The database URL in use, with the embedded SQLite default filled in."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'idp.sqlite3').as_posix()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def should_auto_migrate(self) -> bool:
        return self.is_sqlite if self.auto_migrate is None else self.auto_migrate

    @property
    def secure_cookies(self) -> bool:
        return self.issuer.startswith("https://")


def is_loopback_host(host: str) -> bool:
    """True for localhost and the loopback addresses (127.0.0.0/8, ::1)."""
    import ipaddress

    if host.lower() in ("localhost",) or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; raise SettingsError naming the first bad setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        name = "IDP_" + str(error["loc"][0]).upper() if error["loc"] else "IDP_*"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"invalid setting {name}: {message}") from None
